'use strict'
// The in-process tier (L1): JS holds the values themselves, so a hit costs one Map lookup
// and no deserialization (docs/cache.md, "Why L1 lives in JS"). Bounded by entries and by
// bytes, with SIEVE eviction (Zhang et al., NSDI '24): a hit only sets `visited`; the hand
// walks from the oldest entry, spares visited ones (clearing the bit) and evicts the first
// unvisited or expired one. A Map's insertion order is the queue and a live Map iterator
// is the hand: deletions behind it and insertions ahead of it are what SIEVE wants.

// Per-entry bookkeeping (Map slot, entry object, key) counted on top of the value's bytes.
const ENTRY_OVERHEAD = 96

/**
 * One cached value. `expiresAt`: fresh until then (unix ms); `staleUntil`: may be served
 * as stale (grace) until then; `graced`: a failed refresh pushed `expiresAt` forward, so
 * hits are stale; `delta`: how long the factory took (XFetch early refresh).
 */
class Entry {
  constructor(value, bytes, expiresAt, staleUntil, delta, tags) {
    this.value = value
    this.bytes = bytes
    this.expiresAt = expiresAt
    this.staleUntil = staleUntil
    this.delta = delta
    this.tags = tags
    this.graced = false
    this.visited = false
  }
}

class L1Store {
  /** @param maxEntries most entries; @param maxBytes most bytes (value bytes + key + overhead). */
  constructor(maxEntries, maxBytes) {
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
    this.map = new Map()
    this.bytes = 0
    this.evictions = 0
    this._hand = null
  }

  get size() {
    return this.map.size
  }

  /** The entry for `key` if it may still be served (fresh or within grace) at `now`. */
  peek(key, now) {
    const e = this.map.get(key)
    if (e === undefined) return undefined
    if (e.staleUntil <= now) {
      this._remove(key, e)
      return undefined
    }
    return e
  }

  /**
   * Stores `entry` (its `bytes` = the serialized value's length); evicts until within
   * bounds. An entry larger than the whole byte budget is not kept (the old one goes too).
   */
  set(key, entry) {
    const old = this.map.get(key)
    if (old !== undefined) this._remove(key, old)
    const cost = entry.bytes + key.length + ENTRY_OVERHEAD
    if (cost > this.maxBytes) return
    this.map.set(key, entry)
    this.bytes += cost
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) this._evictOne()
  }

  delete(key) {
    const e = this.map.get(key)
    if (e !== undefined) this._remove(key, e)
  }

  /** A peer rewrote `key`: ours is no longer fresh but may still serve as stale (grace). */
  expire(key) {
    const e = this.map.get(key)
    if (e === undefined) return
    if (e.staleUntil > e.expiresAt) e.expiresAt = 0
    else this._remove(key, e)
  }

  /** Drops every entry carrying `tag` (a scan: tag deletes are rare, hits are not). */
  deleteTagged(tag) {
    for (const [key, e] of this.map) {
      if (e.tags !== null && e.tags.includes(tag)) this._remove(key, e)
    }
  }

  clear() {
    this.map.clear()
    this.bytes = 0
    this._hand = null
  }

  _remove(key, e) {
    this.map.delete(key)
    this.bytes -= e.bytes + key.length + ENTRY_OVERHEAD
  }

  _evictOne() {
    const now = Date.now()
    for (;;) {
      if (this._hand === null) this._hand = this.map.entries()
      const step = this._hand.next()
      if (step.done) {
        this._hand = null
        continue
      }
      const [key, e] = step.value
      if (e.visited && e.staleUntil > now) {
        e.visited = false
        continue
      }
      this._remove(key, e)
      this.evictions++
      return
    }
  }
}

module.exports = { L1Store, Entry }
