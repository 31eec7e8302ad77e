'use strict'
// Per-call timeouts of one breaker on a single Node timer. opossum arms (and clears) one
// setTimeout per call, which is the largest cost of its success path. Calls of a breaker
// share one timeout, so deadlines arrive in call order: in-flight calls sit in a doubly
// linked list sorted by deadline (O(1) insert at the tail, O(1) removal on settle) and one
// timer is armed for the head. The timer is ref'd only while calls are in flight, so an
// idle breaker never keeps the process alive, like opossum's cleared per-call timers.

class Deadlines {
  constructor() {
    this.head = null
    this.tail = null
    this.timer = undefined
    this.due = Infinity // when `timer` fires
    this.closed = false
  }

  /** Tracks `entry` ({ deadline, expire() }) until `remove(entry)` or its deadline. */
  add(entry, now) {
    const wasIdle = this.head === null
    entry.prev = null
    entry.next = null
    let after = this.tail
    // Deadlines only go backwards if options.timeout was lowered at run time.
    while (after !== null && after.deadline > entry.deadline) after = after.prev
    if (after === null) {
      entry.next = this.head
      if (this.head !== null) this.head.prev = entry
      else this.tail = entry
      this.head = entry
    } else {
      entry.prev = after
      entry.next = after.next
      if (after.next !== null) after.next.prev = entry
      else this.tail = entry
      after.next = entry
    }
    if (this.timer === undefined || this.due > this.head.deadline) this.#arm(now)
    else if (wasIdle) ref(this.timer)
  }

  /** Stops tracking a settled call. */
  remove(entry) {
    if (entry.prev === null && this.head !== entry) return // not tracked any more
    if (entry.prev !== null) entry.prev.next = entry.next
    else this.head = entry.next
    if (entry.next !== null) entry.next.prev = entry.prev
    else this.tail = entry.prev
    entry.prev = null
    entry.next = null
    if (this.head === null && this.timer !== undefined) {
      if (this.closed) {
        clearTimeout(this.timer)
        this.timer = undefined
      } else {
        unref(this.timer)
      }
    }
  }

  /** No more calls will be added: drop the timer once nothing is in flight. */
  close() {
    this.closed = true
    if (this.head === null && this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  #arm(now) {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.due = this.head.deadline
    this.timer = setTimeout(() => this.#fire(), Math.max(0, this.due - now))
  }

  #fire() {
    this.timer = undefined
    const now = Date.now()
    let error
    let failed = false
    while (this.head !== null && this.head.deadline <= now) {
      const entry = this.head
      this.remove(entry)
      try {
        entry.expire()
      } catch (err) {
        // A throwing listener must not stop the other expiries; rethrow it afterwards
        // as the uncaught exception a per-call timer would have raised.
        if (!failed) error = err
        failed = true
      }
    }
    if (this.head !== null) this.#arm(now)
    else this.due = Infinity
    if (failed) throw error
  }
}

// Fake timers (node:test mock.timers, sinon) may return objects without ref/unref.
function ref(timer) {
  if (typeof timer.ref === 'function') timer.ref()
}

function unref(timer) {
  if (typeof timer.unref === 'function') timer.unref()
}

module.exports = Deadlines
