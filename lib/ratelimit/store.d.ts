import type { Redis } from '../redis'

/** A reply as rate-limit-redis's `sendCommand` returns it. */
export type RedisReply = boolean | number | string | null | Array<RedisReply>

/** What to do while Redis does not answer: count in process, let requests through, or refuse them. */
export type WhenDown = 'local' | 'allow' | 'deny'

export interface ClientRateLimitInfo {
  totalHits: number
  resetTime: Date | undefined
}

interface CommonOptions {
  /** Key prefix; default `'rl:'` (keys are `prefix + key`, as rate-limit-redis). */
  prefix?: string
  /** Its name in bulwark.metrics, health() and the status page (default: the prefix). */
  name?: string
  /** Outage policy; default `'local'`. */
  whenDown?: WhenDown
  /** Deadline of one Redis call in ms; default 1000. */
  timeoutMs?: number
  /** After a failed call, how long Redis is not tried again, in ms; default 1000. */
  retryMs?: number
  /** Cap on keys of the in-process fallback; default 100000. */
  maxKeys?: number
}

export type RedisStoreOptions = CommonOptions &
  (
    | { sendCommand: (...args: string[]) => Promise<RedisReply>; client?: undefined; sendCommandCluster?: undefined }
    | {
        sendCommandCluster: (details: { key: string; isReadOnly: boolean; command: string[] }) => Promise<RedisReply>
        client?: undefined
        sendCommand?: undefined
      }
    | { client: Redis | { call(...args: Array<string | number>): Promise<unknown> }; sendCommand?: undefined; sendCommandCluster?: undefined }
  )

/** express-rate-limit v7/v8 store on Redis, data-compatible with rate-limit-redis 6. */
export declare class RedisStore {
  constructor(options: RedisStoreOptions)
  prefix: string
  whenDown: WhenDown
  windowMs: number
  readonly localKeys: false
  init(options: { windowMs: number; limit?: unknown; max?: unknown }): void
  prefixKey(key: string): string
  increment(key: string): Promise<ClientRateLimitInfo>
  decrement(key: string): Promise<void>
  get(key: string): Promise<ClientRateLimitInfo | undefined>
  resetKey(key: string): Promise<void>
  resetAll(): Promise<void>
  shutdown(): Promise<void>
}
