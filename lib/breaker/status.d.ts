import { EventEmitter } from 'node:events'

/** Rolling statistics of a breaker (opossum's `lib/status`). */
declare class Status extends EventEmitter {
  constructor(options?: {
    rollingCountTimeout?: number
    rollingCountBuckets?: number
    rollingPercentilesEnabled?: boolean
    enableSnapshots?: boolean
    rotateBucketController?: EventEmitter
    stats?: Partial<Status.Stats>
  })
  rollingPercentilesEnabled: boolean
  enableSnapshots: boolean
  rotateBucketController: EventEmitter | undefined
  /** Rotates one bucket (the listener attached to rotateBucketController). */
  rotateBucket: () => void
  /** Totals over the window, recomputed on every read. */
  readonly stats: Status.Stats
  /** Copy of the buckets, current first. */
  readonly window: Status.Bucket[]
  /** Counts one event of a bucket field (with a latency sample for outcomes). */
  increment(property: Status.Field, latencyRunTime?: number): void
  open(): void
  close(): void
  shutdown(): void
  removeRotateBucketControllerListener(): void
  startListeneningForRotateEvent(): void
  on(event: 'snapshot', listener: (stats: Status.Stats) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}

declare namespace Status {
  type Field =
    | 'failures'
    | 'fallbacks'
    | 'successes'
    | 'rejects'
    | 'fires'
    | 'timeouts'
    | 'cacheHits'
    | 'cacheMisses'
    | 'coalesceCacheHits'
    | 'coalesceCacheMisses'
    | 'semaphoreRejections'
  type Bucket = { [K in Field]: number } & {
    percentiles: { [percentile: number]: number }
    latencyTimes: number[]
    isCircuitBreakerOpen?: boolean
  }
  type Stats = Bucket & { latencyMean: number }
}

export = Status
