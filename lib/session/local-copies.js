'use strict'
// The last serialized value of the sessions this process read or wrote recently, kept so a
// Redis outage does not log their users out: the client's memory engine starts empty when
// Redis goes away, and a session found there missing is put back from here. Bounded: the
// least recently used copy goes first beyond `max`.
class LocalCopies {
  constructor(max) {
    this.max = max
    this.values = new Map()
  }

  remember(sid, value) {
    const values = this.values
    // Delete first so the Map's insertion order is the recency order.
    values.delete(sid)
    values.set(sid, value)
    if (values.size > this.max) values.delete(values.keys().next().value)
  }

  /** The copy of `sid`, or undefined. */
  recall(sid) {
    return this.values.get(sid)
  }

  forget(sid) {
    this.values.delete(sid)
  }

  clear() {
    this.values.clear()
  }

  get size() {
    return this.values.size
  }
}

module.exports = { LocalCopies }
