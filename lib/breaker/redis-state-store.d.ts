// Public types of RedisBreakerStateStore (lib/breaker/redis-state-store.js).
import type CircuitBreaker = require('../circuit-breaker')
import type { Redis } from '../redis'

declare namespace RedisBreakerStateStore {
  interface Options {
    /** Prefix of keys and channels. @default 'bulwark:breaker:' */
    prefix?: string
    /** Receives every store error (Redis down, malformed messages). @default one console line per 10 s */
    onError?: (err: unknown) => void
  }
}

/**
 * A `stateStore` for CircuitBreaker on a Redis client: `SET <prefix><name> <json> PX
 * resetTimeout*2` + `INCR <prefix><name>:seq` + `PUBLISH <prefix><name>` (one Lua script),
 * `GET` on load, and one `duplicate()` of the client for all subscriptions.
 * @throws TypeError when `redis` is not a client or an option has the wrong type.
 */
declare class RedisBreakerStateStore implements CircuitBreaker.BreakerStateStore {
  constructor(redis: Redis, options?: RedisBreakerStateStore.Options)
  static readonly DEFAULT_PREFIX: 'bulwark:breaker:'
  /** The client given to the constructor (never closed by the store). */
  readonly redis: Redis
  readonly prefix: string
  load(name: string): Promise<CircuitBreaker.StoredTransition | null>
  publish(name: string, t: Omit<CircuitBreaker.StoredTransition, 'seq'>, resetTimeout: number): Promise<number>
  subscribe(name: string, onTransition: (t: CircuitBreaker.StoredTransition) => void): () => void
  onError(err: unknown): void
}

export = RedisBreakerStateStore
