import { EventEmitter } from 'node:events'
import type { Redis } from './redis'

/** Milliseconds, or a duration string such as '250ms', '5s', '5m', '1h', '1d'. */
export type Duration = number | string

export interface CacheTimeouts {
  /** With a stale value in grace: answer with it after this long, the refresh continuing in the background (0 = at once). */
  soft?: Duration | null
  /** Give up after this long (default 10 s; null or 0 = never): stale value if any, else ERR_BULWARK_CACHE_TIMEOUT. */
  hard?: Duration | null
}

export interface CacheLockOptions {
  /** Lock lifetime (default 10 s); keep it longer than the factory takes. */
  ttl?: Duration
  /** How long a waiter waits for the holder before computing itself (default 10 s). */
  wait?: Duration
  /** Safety-net re-check of Redis while waiting (default 500 ms); waiters are woken by the bus. */
  poll?: Duration
}

export interface CacheSerializer {
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

export interface CacheOptions {
  /** The bulwark Redis client holding L2 (and carrying the invalidation bus); it stays yours. */
  client: Redis
  /** Key prefix in Redis (default 'cache:'); clear() deletes only under it. */
  prefix?: string
  /** Its name in bulwark.metrics, health() and the status page (default: the prefix). */
  name?: string
  /** Freshness of a value (default 5 minutes). */
  ttl?: Duration
  /** The in-process tier; false turns it off (default { maxEntries: 10000, maxBytes: '64mb' }). */
  l1?: boolean | { maxEntries?: number; maxBytes?: number | string }
  /** How long after expiry a value may still answer when its refresh fails or is slow (default 0). */
  grace?: Duration | false
  /** After a failed refresh, serve the stale value this long before retrying (default 10 s). */
  graceBackoff?: Duration
  timeouts?: CacheTimeouts
  /** Distributed fill lock: one instance computes a missing key (default false). */
  lock?: boolean | CacheLockOptions
  /** XFetch probabilistic early refresh: true (beta 1) or beta > 0 (default false). */
  earlyRefresh?: boolean | number
  /** Default JSON. */
  serializer?: CacheSerializer
}

export interface CacheSetOptions {
  ttl?: Duration
  grace?: Duration | false
  tags?: string[]
}

export interface CacheWrapOptions extends CacheSetOptions {
  timeouts?: CacheTimeouts
  lock?: boolean | CacheLockOptions
}

export interface CacheFactoryContext<T> {
  key: string
  /** The value in grace this fill would replace, if any. */
  stale: T | undefined
}

export interface CacheStats {
  hits: number
  l1Hits: number
  l2Hits: number
  misses: number
  stale: number
  sets: number
  deletes: number
  coalesced: number
  factoryRuns: number
  factoryErrors: number
  timeouts: number
  errors: number
  inFlight: number
  l1: { entries: number; bytes: number; evictions: number; maxEntries: number; maxBytes: number } | null
  bus: { sent: number; received: number }
}

export interface CacheMiddlewareOptions {
  ttl?: Duration
  grace?: Duration | false
  /** Cache key for a request; undefined = not cached (default: GET/HEAD by URL). */
  key?: (req: any) => string | undefined
}

export declare class Cache extends EventEmitter {
  constructor(options: CacheOptions)
  readonly client: Redis
  readonly prefix: string
  get<T = unknown>(key: string): Promise<T | undefined>
  has(key: string): Promise<boolean>
  set<T>(key: string, value: T, options?: CacheSetOptions | Duration): Promise<void>
  del(key: string): Promise<void>
  deleteByTag(tag: string): Promise<void>
  clear(): Promise<void>
  wrap<T>(key: string, factory: (ctx: CacheFactoryContext<T>) => T | Promise<T>, options?: CacheWrapOptions | Duration): Promise<T>
  getOrSet<T>(key: string, factory: (ctx: CacheFactoryContext<T>) => T | Promise<T>, options?: CacheWrapOptions | Duration): Promise<T>
  middleware(options?: CacheMiddlewareOptions): (req: any, res: any, next: (err?: unknown) => void) => void
  stats(): CacheStats
  /** Resolves once the invalidation bus is subscribed (or at close()). */
  ready(): Promise<void>
  close(): void
  on(event: 'hit', listener: (key: string, tier: 'l1' | 'l2') => void): this
  on(event: 'miss', listener: (key: string) => void): this
  on(event: 'stale', listener: (key: string, err: Error | undefined) => void): this
  on(event: 'error', listener: (err: Error) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}
