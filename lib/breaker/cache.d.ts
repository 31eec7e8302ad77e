/** opossum's MemoryCache: `{ value, expiresAt }` entries in a Map, oldest-inserted eviction. */
declare class MemoryCache {
  constructor(maxEntries?: number)
  cache: Map<string, { expiresAt: number; value: unknown }>
  maxEntries: number
  get(key: string): unknown
  /** `ttl` is an absolute expiry time in ms since the epoch, or 0 for never. */
  set(key: string, value: unknown, ttl: number): void
  delete(key: string): void
  flush(): void
}
export = MemoryCache
