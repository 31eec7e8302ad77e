// Public types of bulwark's CircuitBreaker (drop-in for opossum 8–10). A superset of
// @types/opossum 8.1 with its errors fixed: coalesce options and events, getSignal /
// getAbortController, options / action / semaphore, errorFilter and timeout listener
// arguments, rollingPercentilesEnabled defaulting to true, lastTimerAt as a number.
import { EventEmitter } from 'node:events'
import Status = require('./breaker/status')
import MemoryCache = require('./breaker/cache')
import semaphore = require('./breaker/semaphore')
import RedisBreakerStateStore = require('./breaker/redis-state-store')

declare class CircuitBreaker<TI extends unknown[] = unknown[], TR = unknown> extends EventEmitter {
  /** True for errors created by the breaker (EOPENBREAKER, ETIMEDOUT, ESEMLOCKED, ESHUTDOWN). Throws on null/undefined, like opossum. */
  static isOurError(error: unknown): boolean
  /** A standalone Status to pass as `options.status`. */
  static newStatus(options?: CircuitBreaker.StatusOptions): CircuitBreaker.Status
  /** The Redis-backed `stateStore` (also exported by `bulwark`). */
  static RedisBreakerStateStore: typeof RedisBreakerStateStore

  /**
   * @param action the function to protect (its `this` is the action itself when called
   *   through `fire`); a non-function value becomes an action resolving to that value.
   * @throws TypeError without an action, or for option values of the wrong type;
   *   RangeError for out-of-range values (the message names the option).
   */
  constructor(action: ((...args: TI) => TR | PromiseLike<TR>) | TR, options?: CircuitBreaker.Options<TI>)

  /** The caller's options object, with defaults written into it. */
  readonly options: CircuitBreaker.ResolvedOptions<TI>
  /** The protected function. */
  action: (...args: TI) => TR | PromiseLike<TR>
  /** Non-blocking semaphore limiting concurrent calls (`count` = free permits). */
  readonly semaphore: CircuitBreaker.Semaphore

  readonly name: string
  readonly group: string
  readonly enabled: boolean
  /** Half-open with a trial slot still free. */
  readonly pendingClose: boolean
  readonly closed: boolean
  readonly opened: boolean
  readonly halfOpen: boolean
  readonly isShutdown: boolean
  readonly warmUp: boolean
  readonly volumeThreshold: number
  /** Rolling statistics (a persistent EventEmitter; emits 'snapshot'). */
  readonly status: CircuitBreaker.Status
  /** Totals over the rolling window, recomputed on every read. */
  readonly stats: CircuitBreaker.Stats

  /** Calls the action through the breaker. */
  fire(...args: TI): Promise<TR>
  /** Calls the action with `this` bound to `context`. */
  call(context: unknown, ...args: TI): Promise<TR>
  /** Sets the fallback: called with the call's arguments and the error, or another breaker. */
  fallback(func: ((...args: [...TI, unknown]) => unknown) | CircuitBreaker<any[], any>): this
  open(): void
  close(): void
  disable(): void
  enable(): void
  /** Stops every timer, removes all listeners, flushes caches; later calls reject with ESHUTDOWN. */
  shutdown(): void
  /** Runs `func` now and every `interval` ms (default 5000) until shutdown; a rejection opens the circuit. */
  healthCheck(func: (this: this) => PromiseLike<unknown>, interval?: number): void
  clearCache(): void
  toJSON(): { state: CircuitBreaker.State; status: CircuitBreaker.Stats }
  getSignal(): AbortSignal | undefined
  getAbortController(): AbortController | undefined

  on<K extends keyof CircuitBreaker.Events<TI, TR>>(event: K, listener: CircuitBreaker.Events<TI, TR>[K]): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<K extends keyof CircuitBreaker.Events<TI, TR>>(event: K, listener: CircuitBreaker.Events<TI, TR>[K]): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
  addListener<K extends keyof CircuitBreaker.Events<TI, TR>>(event: K, listener: CircuitBreaker.Events<TI, TR>[K]): this
  addListener(event: string | symbol, listener: (...args: any[]) => void): this
  prependListener<K extends keyof CircuitBreaker.Events<TI, TR>>(event: K, listener: CircuitBreaker.Events<TI, TR>[K]): this
  prependListener(event: string | symbol, listener: (...args: any[]) => void): this
  off<K extends keyof CircuitBreaker.Events<TI, TR>>(event: K, listener: CircuitBreaker.Events<TI, TR>[K]): this
  off(event: string | symbol, listener: (...args: any[]) => void): this
  removeListener<K extends keyof CircuitBreaker.Events<TI, TR>>(event: K, listener: CircuitBreaker.Events<TI, TR>[K]): this
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this
}

declare namespace CircuitBreaker {
  export { Status, MemoryCache }

  /** A transition shared between breakers of one name (half-open is never shared). */
  export interface StoredTransition {
    state: 'open' | 'closed'
    /** Date.now() of the transition in the process that made it. */
    at: number
    /** Id of the breaker instance that made it (`<pid>:<uuid>`); a breaker ignores its own. */
    by: string
    /** Per-name counter assigned by the store (Redis INCR); the highest seq wins. */
    seq: number
  }

  /** What `options.stateStore` must provide (see docs/circuit-breaker.md). */
  export interface BreakerStateStore {
    /** Last stored transition for this breaker name, or null. Called once at construction. */
    load(name: string): Promise<StoredTransition | null> | StoredTransition | null
    /** Stores and announces a local transition; resolves with the seq it was given. Never awaited by the breaker. */
    publish(name: string, t: Omit<StoredTransition, 'seq'>, resetTimeout: number): Promise<number | void> | number | void
    /** Delivers peers' transitions; returns the unsubscribe function (called by shutdown()). */
    subscribe(name: string, onTransition: (t: StoredTransition) => void): () => void
    /** Receives every failure of load/publish/subscribe; without it failures are dropped. */
    onError?(err: unknown): void
  }

  /** Error codes the breaker creates. */
  export type ErrorCode = 'EOPENBREAKER' | 'ETIMEDOUT' | 'ESEMLOCKED' | 'ESHUTDOWN'

  export interface CacheTransport {
    get(key: string): unknown
    set(key: string, value: unknown, expiresAt: number): void
    flush(): void
    delete?(key: string): void
  }

  export interface Options<TI extends unknown[] = unknown[]> {
    /** Per-call timeout in ms; `false` or `0` disables it (no timer at all). @default 10000 */
    timeout?: number | false
    /** @deprecated ignored; prints opossum's deprecation message */
    maxFailures?: number
    /** ms from open to half-open. @default 30000 */
    resetTimeout?: number
    /** Trip when the error rate is strictly above this percentage. @default 50 */
    errorThresholdPercentage?: number
    /** Window length in ms (also the warm-up length). @default 10000 */
    rollingCountTimeout?: number
    /** Buckets in the window. @default 10 */
    rollingCountBuckets?: number
    /** Keep latency samples and compute percentiles. @default true */
    rollingPercentilesEnabled?: boolean
    /** Maximum concurrent calls; others fail with ESEMLOCKED. @default Number.MAX_SAFE_INTEGER */
    capacity?: number
    /** Return true for errors that must count as successes. Receives the call's arguments. */
    errorFilter?: (err: any, ...args: TI) => boolean
    /** Minimum fires in the window before the rate is considered. @default 0 */
    volumeThreshold?: number
    /** Never trip during the first rollingCountTimeout ms. @default false */
    allowWarmUp?: boolean
    /** @default true */
    enabled?: boolean
    name?: string
    group?: string
    /** A Status to use, or exported stats to prime a new one with. */
    status?: Status | Partial<Stats>
    /** Imported state (see toJSON). */
    state?: Partial<State>
    /** Memoise results by key. @default false */
    cache?: boolean
    /** ms; 0 = never expires. @default 0 */
    cacheTTL?: number
    /** Entries of the default MemoryCache. @default 2^24 - 1 */
    cacheSize?: number
    /** @default (...args) => JSON.stringify(args) */
    cacheGetKey?: (...args: TI) => string
    cacheTransport?: CacheTransport
    /** Share one in-flight promise per key. @default false */
    coalesce?: boolean
    /** ms; `false`/0 = never expires. @default options.timeout */
    coalesceTTL?: number | false
    /** @default 2^24 - 1 */
    coalesceSize?: number
    /** Outcomes that drop the coalesced entry early. @default [] */
    coalesceResetOn?: Array<'error' | 'success' | 'timeout'>
    /** Aborted when a call times out. */
    abortController?: AbortController
    /** Create an AbortController and replace it when aborted on half-open/close. @default false */
    autoRenewAbortController?: boolean
    /** Emit 'snapshot' on status every bucket interval (while listened to). @default true */
    enableSnapshots?: boolean
    /** Rotate buckets on this emitter's 'rotate' events instead of the clock. */
    rotateBucketController?: EventEmitter
    /** bulwark extension: calls admitted while half-open. @default 1 */
    halfOpenTrials?: number
    /** bulwark extension: half-open successes needed to close (≤ halfOpenTrials). @default 1 */
    halfOpenSuccessThreshold?: number
    /** bulwark extension: trip on the rolling time window (opossum) or on the last windowSize outcomes. @default 'time' */
    windowType?: 'time' | 'count'
    /** bulwark extension: outcomes remembered by the count window. @default 100 */
    windowSize?: number
    /** bulwark extension: share open/close transitions with same-named breakers in other processes (e.g. a RedisBreakerStateStore). */
    stateStore?: BreakerStateStore | null
  }

  /** `breaker.options` after construction: defaults filled in. */
  export interface ResolvedOptions<TI extends unknown[] = unknown[]> extends Options<TI> {
    timeout: number | false
    resetTimeout: number
    errorThresholdPercentage: number
    rollingCountTimeout: number
    rollingCountBuckets: number
    rollingPercentilesEnabled: boolean
    capacity: number
    errorFilter: (err: any, ...args: TI) => boolean
    cacheTTL: number
    cacheGetKey: (...args: TI) => string
    enableSnapshots: boolean
    coalesce: boolean
    /** `false` when inherited from `timeout: false` (never expires). */
    coalesceTTL: number | false
    coalesceResetOn: Array<'error' | 'success' | 'timeout'>
    coalesceCache?: MemoryCache
  }

  export interface StatusOptions {
    rollingCountTimeout?: number
    rollingCountBuckets?: number
    rollingPercentilesEnabled?: boolean
    enableSnapshots?: boolean
    rotateBucketController?: EventEmitter
    stats?: Partial<Stats>
  }

  export interface Bucket {
    failures: number
    fallbacks: number
    successes: number
    rejects: number
    fires: number
    timeouts: number
    cacheHits: number
    cacheMisses: number
    coalesceCacheHits: number
    coalesceCacheMisses: number
    semaphoreRejections: number
    percentiles: { [percentile: number]: number }
    latencyTimes: number[]
    isCircuitBreakerOpen?: boolean
  }

  export interface Stats extends Bucket {
    /** Mean latency; −1 when percentiles are disabled. */
    latencyMean: number
  }

  export interface State {
    name: string
    enabled: boolean
    closed: boolean
    open: boolean
    halfOpen: boolean
    warmUp: boolean
    shutdown: boolean
    /** Date.now() when the circuit last opened (or was created). */
    lastTimerAt: number
  }

  export interface Semaphore {
    take(timeout?: number): Promise<() => void>
    release(): void
    test(): boolean
    readonly count: number
  }

  /** Listener signatures per event. */
  export interface Events<TI extends unknown[] = unknown[], TR = unknown> {
    fire: (args: TI) => void
    cacheHit: () => void
    cacheMiss: () => void
    coalesceCacheHit: () => void
    coalesceCacheMiss: () => void
    reject: (err: Error & { code: 'EOPENBREAKER' }) => void
    timeout: (err: Error & { code: 'ETIMEDOUT' }, latencyMs: number, args: TI) => void
    /** `result` is the filtered error when errorFilter accepted a failure. */
    success: (result: TR | any, latencyMs: number) => void
    failure: (err: any, latencyMs: number, args: TI) => void
    fallback: (result: unknown, err: any) => void
    semaphoreLocked: (err: Error & { code: 'ESEMLOCKED' }, latencyMs: number) => void
    open: () => void
    halfOpen: (resetTimeout: number) => void
    close: () => void
    healthCheckFailed: (err: any) => void
    shutdown: () => void
    /** bulwark extension: a peer's transition (from `stateStore`) is about to change this breaker's state. */
    remoteTransition: (t: StoredTransition) => void
  }
}

export = CircuitBreaker
