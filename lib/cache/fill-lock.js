'use strict'
// The opt-in distributed fill lock: one instance computes a missing key while the others
// wait. Acquire = SET <lock key> <token> NX PX <ttl>; release = a script that deletes the
// key only if it still holds our token, then an "unlock" message on the bus. Waiters are
// woken by the bus ("set"/"del"/"unlock" of the key) and re-check Redis every `pollMs` only
// as a safety net, since pub/sub may lose a message. When the client answers from memory
// (Redis down) the lock is per process, which degrades to local single-flight.

const { randomBytes } = require('node:crypto')

const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

class FillLock {
  /** @param client the bulwark Redis client; @param keyOf maps a cache key to its lock key. */
  constructor(client, keyOf) {
    this.client = client
    this.keyOf = keyOf
    // cache key -> Set of wake-up functions of local waiters
    this.waiters = new Map()
  }

  /** A token when the lock is ours, else null. */
  async acquire(key, ttlMs) {
    const token = randomBytes(12).toString('base64')
    const ok = await this.client.set(this.keyOf(key), token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')
    return ok === 'OK' ? token : null
  }

  release(key, token) {
    return this.client.eval(RELEASE_SCRIPT, 1, this.keyOf(key), token)
  }

  /** Resolves when the bus says `key` changed or was unlocked, or after `ms`. */
  wait(key, ms) {
    return new Promise((resolve) => {
      let set = this.waiters.get(key)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(key, set)
      }
      const wake = () => {
        clearTimeout(timer)
        set.delete(wake)
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      set.add(wake)
    })
  }

  /** Wakes the local waiters for `key` (called for bus messages naming it). */
  wake(key) {
    const set = this.waiters.get(key)
    if (set !== undefined) for (const wake of [...set]) wake()
  }

  wakeAll() {
    for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake()
  }
}

module.exports = { FillLock }
