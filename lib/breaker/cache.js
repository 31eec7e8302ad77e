'use strict'
// opossum's MemoryCache: a Map of { value, expiresAt } (0 = never expires) with
// insertion-order eviction once `maxEntries` is reached. Same fields (`cache`,
// `maxEntries`) because consumers read them.

class MemoryCache {
  /** @param {number} [maxEntries] defaults to 2^24 − 1 (the Map size limit) */
  constructor(maxEntries) {
    this.cache = new Map()
    this.maxEntries = maxEntries ?? 2 ** 24 - 1
  }

  get(key) {
    const cached = this.cache.get(key)
    if (cached) {
      if (cached.expiresAt > Date.now() || cached.expiresAt === 0) return cached.value
      this.cache.delete(key)
    }
    return undefined
  }

  set(key, value, ttl) {
    // Evict the oldest inserted entry when full, only for a new key.
    if (this.cache.size >= this.maxEntries && this.get(key) === undefined) {
      this.cache.delete(this.cache.keys().next().value)
    }
    this.cache.set(key, { expiresAt: ttl, value })
  }

  delete(key) {
    this.cache.delete(key)
  }

  flush() {
    this.cache.clear()
  }
}

module.exports = MemoryCache
