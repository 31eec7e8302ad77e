/** The kinds of components the reports know, with the labels of their counts. */
export type ComponentKind = 'client' | 'breaker' | 'limiter' | 'cache' | 'session'

/** A registered component: count its outcomes here (fixed label values only, never keys or IPs). */
export interface RegistryEntry {
  readonly kind: ComponentKind
  /** Its unique name (the label value in metrics). */
  readonly name: string
  /**
   * Adds one to a count: limiter `(decision, backend)`, cache `(result, tier)` with
   * result `hit | stale | miss` and tier `l1 | l2`, session `(operation)` with
   * `read | written | destroyed | touched`.
   */
  count(first: string, second?: string): void
  value(first: string, second?: string): number
}

/** Registers a component; a taken name gets `-2`, `-3`… */
export function add(kind: ComponentKind, component: object, name: string): RegistryEntry
/** Takes a component out of the reports (when it is closed). */
export function remove(entry: RegistryEntry): void
