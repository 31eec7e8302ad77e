'use strict'
// Calls in flight by a growing integer id: a client's pending commands, a rate limiter's
// pending decisions.
//
// Not a Map: ids only grow, and under that insert/delete churn a Map rehashes every few
// dozen calls. V8 links each obsolete hash table to its successor (for live iterators),
// so once one table is promoted to the old generation it keeps the next one alive through
// every scavenge, and that table its entries: commands, their promises and replies. In a
// concurrency-64 GET loop ~75 MB/s of such garbage reached the old generation,
// scavenges kept ~60% of the young generation (ioredis: ~1%) and GC took a quarter of
// the JS thread.
//
// Not an object keyed by id either (no GC chain, but integer keys that only grow make it
// a dictionary: its set/delete took 13% of the JS thread in that loop). Calls mostly end
// in the order they start, so the live ids are a short run of consecutive numbers: a ring
// indexed by `id & mask` holds them with no hashing. A call still pending when its slot is
// wanted again (a blocking command, say) moves to a small side table; the ring doubles
// when it is half full.

const FIRST_SIZE = 256
const FREE = -1

class IdTable {
  constructor() {
    this.clear()
  }

  set(id, value) {
    const i = id & this._mask
    const held = this._ids[i]
    if (held === id) {
      this._values[i] = value
      return
    }
    if (this._spilled !== 0 && this._side[id] !== undefined) {
      this._side[id] = value
      return
    }
    if (held !== FREE) {
      if (this._inRing * 2 >= this._ids.length) {
        this._grow()
        this.set(id, value)
        return
      }
      // The older call keeps waiting in the side table; its slot goes to the new one.
      this._side[held] = this._values[i]
      this._spilled++
      this._inRing--
    }
    this._ids[i] = id
    this._values[i] = value
    this._inRing++
    this.size++
  }

  get(id) {
    const i = id & this._mask
    if (this._ids[i] === id) return this._values[i]
    return this._spilled === 0 ? undefined : this._side[id]
  }

  /** True when `id` was present. */
  delete(id) {
    const i = id & this._mask
    if (this._ids[i] === id) {
      this._ids[i] = FREE
      this._values[i] = undefined
      this._inRing--
      this.size--
      return true
    }
    if (this._spilled === 0 || this._side[id] === undefined) return false
    delete this._side[id]
    this._spilled--
    this.size--
    return true
  }

  /** Every value, lowest id first. */
  values() {
    return this._entries().map((entry) => entry[1])
  }

  /** `[id, value]` pairs, lowest id first. */
  [Symbol.iterator]() {
    return this._entries()[Symbol.iterator]()
  }

  clear() {
    this._reset(FIRST_SIZE)
  }

  /** Empties the table with a ring of `size` (a power of two) slots. */
  _reset(size) {
    this._ids = new Float64Array(size).fill(FREE)
    this._values = new Array(size).fill(undefined)
    this._mask = size - 1
    this._inRing = 0
    this._side = Object.create(null)
    this._spilled = 0
    this.size = 0
  }

  _entries() {
    const entries = []
    for (let i = 0; i < this._ids.length; i++) {
      if (this._ids[i] !== FREE) entries.push([this._ids[i], this._values[i]])
    }
    for (const key in this._side) entries.push([Number(key), this._side[key]])
    return entries.sort((a, b) => a[0] - b[0])
  }

  /** Doubles the ring and takes back the side table's calls that now fit. */
  _grow() {
    const entries = this._entries()
    this._reset(this._ids.length * 2)
    for (const [id, value] of entries) this.set(id, value)
  }
}

module.exports = { IdTable }
