'use strict'
// The last serialized value of the sessions this process read or wrote recently, kept so a
// Redis outage does not log their users out: the client's memory engine starts empty when
// Redis goes away, and a session found there missing is put back from here.
//
// Bounded to `max` sessions with CLOCK (second-chance) eviction: a hit only sets a flag
// and an unchanged value keeps the string already held, so the hot path neither reorders
// the Map nor keeps a fresh copy of every reply alive (each one then reached the old
// generation: GC was ~33% of a get's busy time with a plain LRU, ~26% as without copies).
class LocalCopies {
  constructor(max) {
    this.max = max
    this.entries = new Map()
  }

  remember(sid, value) {
    const entry = this.entries.get(sid)
    if (entry !== undefined) {
      if (entry.value !== value) entry.value = value
      entry.used = true
      return
    }
    if (this.entries.size >= this.max) this._evict()
    this.entries.set(sid, { value, used: false })
  }

  /** Drops the oldest entry not used since it was last passed over. */
  _evict() {
    const entries = this.entries
    for (const [sid, entry] of entries) {
      entries.delete(sid)
      if (!entry.used) return
      // Second chance: to the back of the queue, flag cleared.
      entry.used = false
      entries.set(sid, entry)
    }
  }

  /** The copy of `sid`, or undefined. */
  recall(sid) {
    return this.entries.get(sid)?.value
  }

  forget(sid) {
    this.entries.delete(sid)
  }

  clear() {
    this.entries.clear()
  }

  get size() {
    return this.entries.size
  }
}

module.exports = { LocalCopies }
