/** Options of `text()` and `register()`. */
export interface MetricsOptions {
  /** Prefix of every metric name (default `'bulwark_'`). */
  prefix?: string
  /** Also emit opossum-prometheus's `circuit{name,event}` and `circuit_perf{name,event}` (ms) for existing dashboards. */
  opossumCompat?: boolean | { metricPrefix?: string }
}

/** The subset of a prom-client `Registry` that `register()` uses. */
export interface PromRegistryLike {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

/** The Prometheus text exposition (format 0.0.4) of every registered component. */
export function text(options?: MetricsOptions): string
/** Adds every bulwark family to a prom-client Registry as collectors read at scrape time; idempotent. */
export function register<R extends PromRegistryLike>(registry: R, options?: MetricsOptions): R
/** `text/plain; version=0.0.4; charset=utf-8` */
export const contentType: string
