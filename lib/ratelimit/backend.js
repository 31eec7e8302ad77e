'use strict'
// What the rate-limit store and the RateLimiter share: argument checks, the outage policy
// and the way a script reaches Redis (EVALSHA, EVAL once on NOSCRIPT, a deadline).
const { createHash } = require('node:crypto')
const native = require('../native')
const { throttledLog } = require('../throttled-log')
const { slotOf } = require('../cluster/slot')
const { IdTable } = require('../id-table')

const WHEN_DOWN = ['local', 'allow', 'deny']
const INTEGER = /^-?\d+$/
const MAX_LIMIT = native.ratelimitMaxLimit()
const logOutage = throttledLog('bulwark rate limit: Redis unavailable, applying the whenDown policy:')

function sha1(text) {
  return createHash('sha1').update(text).digest('hex')
}

function checkKey(key, name = 'key') {
  if (typeof key !== 'string') throw new TypeError(`${name} must be a string, got ${key === null ? 'null' : typeof key}`)
  return key
}

/** An integer option or argument in [min, max], else a TypeError/RangeError naming it. */
function checkInteger(value, name, min, max) {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${value === null ? 'null' : typeof value}`)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`)
  }
  return value
}

function checkWhenDown(value) {
  if (value === undefined) return 'local'
  if (!WHEN_DOWN.includes(value)) throw new TypeError(`whenDown must be 'local', 'allow' or 'deny', got ${String(value)}`)
  return value
}

/** Runs a native call whose errors are range errors with the argument's name. */
function rangeChecked(fn) {
  try {
    return fn()
  } catch (err) {
    throw new RangeError(err.message)
  }
}

const registry = new FinalizationRegistry((handle) => native.ratelimitDrop(handle))
// `(handle, key, now, cost) => 1 | 0`: a raw N-API function (see src/ratelimit.rs for why).
const consume = native.ratelimitConsumeFunction()
// Every limiter of this thread reads its numbers here right after a synchronous consume.
const OUT = new Float64Array(3)
native.ratelimitSetOutput(OUT)

/** The native in-process limiter (bulwark_core::ratelimit::Limiter), bounded to maxKeys. */
class LocalLimiter {
  constructor(algorithm, limit, windowMs, maxKeys) {
    this.handle = rangeChecked(() => native.ratelimitCreate(algorithm, limit, windowMs, maxKeys))
    this.out = OUT
    registry.register(this, this.handle)
  }

  /** Whether a request of `cost` at `now` (ms; -1 = the system clock) is allowed;
   * remaining, resetMs and retryAfterMs are then in `out[0..3]`. */
  consume(key, now, cost) {
    return consume(this.handle, key, now, cost) === 1
  }

  adjust(key, now, delta) {
    native.ratelimitAdjust(this.handle, key, now, delta)
  }

  block(key, now, ms) {
    native.ratelimitBlock(this.handle, key, now, ms)
  }

  remove(key) {
    native.ratelimitRemove(this.handle, key)
  }

  clear() {
    native.ratelimitClear(this.handle)
  }

  get size() {
    return native.ratelimitSize(this.handle)
  }
}

/** Rejection of a call that Redis did not answer in time. */
function timeoutError(ms) {
  return Object.assign(new Error(`Redis did not answer within ${ms} ms`), { code: 'ETIMEDOUT' })
}

/**
 * One way to Redis: a bulwark/ioredis-style `client` (`client.call`) or a rate-limit-redis
 * `sendCommand(...args)`. Knows whether Redis is down: a rejected or timed-out call marks it
 * down for `retryMs`, during which calls are not attempted; a bulwark client that failed
 * over to its memory engine reports `client.backend === 'memory'`.
 */
class RedisPath {
  constructor({ client, sendCommand, timeoutMs, retryMs, cluster }, owner) {
    if (client !== undefined && client !== null) {
      if (typeof client.call !== 'function') throw new TypeError('client must be a bulwark or ioredis Redis client (with call())')
      this.client = client
      this.send = (args) => client.call(...args)
      // The command's own method where there is one: a bulwark client on its memory
      // engine answers it in one synchronous native call.
      if (typeof client.evalsha === 'function') this.sendEvalsha = (args) => client.evalsha(...args)
    } else if (typeof sendCommand === 'function') {
      this.client = null
      // rate-limit-redis calls sendCommand with the store as `this`.
      this.send = (args) => sendCommand.apply(owner, args)
    } else {
      throw new TypeError('options must include a client or a sendCommand function')
    }
    this.timeoutMs = timeoutMs === undefined ? 1000 : checkInteger(timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1)
    this.retryMs = retryMs === undefined ? 1000 : checkInteger(retryMs, 'retryMs', 1, 2 ** 31 - 1)
    this.sendEvalsha ??= (args) => this.send(['EVALSHA', ...args])
    // A bulwark client hands its commands over at the end of the tick; a full run is
    // worth sending at once, so Redis works on it while JS gathers the next one.
    this.sendNow = this.client !== null && typeof this.client._flushBatch === 'function' ? () => this.client._flushBatch() : () => {}
    // On a cluster a script's keys must share one hash slot: decisions are coalesced per slot.
    this.perSlot = cluster === true || (this.client !== null && this.client.isCluster === true)
    this.downUntil = 0
    this.pending = new IdTable()
    this.nextId = 0
    this.timer = null
    this._sweep = () => this._expire()
  }

  /** Whether the client answers from its in-process memory engine (bulwark failover). */
  get clientInMemory() {
    return this.client !== null && this.client.backend === 'memory'
  }

  /** Whether a recent failure says not to try Redis now. */
  get down() {
    return this.downUntil !== 0 && Date.now() < this.downUntil
  }

  markDown(err) {
    if (this.downUntil === 0) logOutage(err)
    this.downUntil = Date.now() + this.retryMs
  }

  /** Resolves true when this success ended an outage. */
  markUp() {
    if (this.downUntil === 0) return false
    this.downUntil = 0
    return true
  }

  /**
   * One command with the deadline. Every call of this path has the same timeout, so the
   * pending calls (ids only grow; the table lists them lowest first) expire oldest first:
   * one timer serves them all instead of a timer and a race per call, and a settled call
   * is dropped at once.
   */
  call(args) {
    return this._call(this.send, args)
  }

  _call(send, args) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++
      this.pending.set(id, { deadline: Date.now() + this.timeoutMs, reject })
      if (this.timer === null) this._arm(this.timeoutMs)
      let sent
      try {
        sent = send(args)
      } catch (err) {
        this.pending.delete(id)
        reject(err)
        return
      }
      // A reply after the deadline finds its call gone and is dropped.
      Promise.resolve(sent).then(
        (value) => {
          if (this.pending.delete(id)) resolve(value)
        },
        (err) => {
          if (this.pending.delete(id)) reject(err)
        },
      )
    })
  }

  _arm(ms) {
    // Not unref'd: a pending decision must settle even if nothing else keeps the process
    // alive; the timer stops once no call is pending.
    this.timer = setTimeout(this._sweep, ms)
  }

  /** Fails the calls past their deadline; re-arms for the oldest call still pending. */
  _expire() {
    this.timer = null
    const now = Date.now()
    for (const [id, call] of this.pending) {
      if (call.deadline > now) {
        this._arm(call.deadline - now)
        return
      }
      this.pending.delete(id)
      call.reject(timeoutError(this.timeoutMs))
    }
  }

  /** A script by EVALSHA; on NOSCRIPT (Redis restarted or flushed) once more by EVAL. */
  evalScript(script, keys, args) {
    const sent = [script.sha, String(keys.length), ...keys, ...args]
    // The memory engine answers within the call: no deadline to keep.
    const reply = this.clientInMemory ? this.sendEvalsha(sent) : this._call(this.sendEvalsha, sent)
    return reply.catch((err) => {
      if (!isNoScript(err)) throw err
      return this.call(['EVAL', script.lua, String(keys.length), ...keys, ...args])
    })
  }
}


/**
 * Decisions queued in the same event-loop turn, sent to Redis as one run of a batch script
 * that decides each key in order and returns each result; a lone decision runs the
 * single-key script (one round trip either way). `single(key, …fixed, arg)` and
 * `batch(keys, …fixed, …args)` are the two scripts, `fixed` their shared arguments;
 * `maxBatch` the most decisions in one run (see the callers for why theirs). The batch
 * replies one flat array of `width` values per decision (no array per decision for Redis
 * to build and the client to convert), a key's error message in its first place; each
 * decision gets its values as the single script's reply would start. On a cluster
 * (`path.perSlot`) a script's keys must share one hash slot: the turn's decisions make one
 * run per slot, which the client sends to the node owning it.
 */
class Coalescer {
  constructor(path, single, batch, maxBatch, width) {
    this.path = path
    this.single = single
    this.batch = batch
    this.maxBatch = maxBatch
    this.width = width
    /** Decisions waiting, by hash slot on a cluster (else all under 0). */
    this.queues = new Map()
    this.fixed = null
    this.scheduled = false
    this._flush = () => this.flush()
    // Callers resumed by one batch's replies queue their next decisions a few promise
    // jobs later; the second hop lets them join the same run.
    this._hop = () => queueMicrotask(this._flush)
  }

  /** A decision for `key` with the shared arguments `fixed` and the key's own `arg`. */
  decide(key, fixed, arg) {
    // The memory engine answers at once: nothing to save.
    if (this.path.clientInMemory) return this._one(key, fixed, arg)
    if (this.fixed !== null && this.fixed !== fixed) this.flush()
    this.fixed = fixed
    const slot = this.path.perSlot ? slotOf(key) : 0
    let queue = this.queues.get(slot)
    if (queue === undefined) this.queues.set(slot, (queue = []))
    else if (queue.length === this.maxBatch) {
      this._run(queue, fixed)
      this.path.sendNow()
      this.queues.set(slot, (queue = []))
    }
    return new Promise((resolve, reject) => {
      queue.push({ key, arg, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        queueMicrotask(this._hop)
      }
    })
  }

  _one(key, fixed, arg) {
    return this.path.evalScript(this.single, [key], arg === undefined ? fixed : [...fixed, arg])
  }

  flush() {
    const queues = this.queues
    const fixed = this.fixed
    this.queues = new Map()
    this.fixed = null
    this.scheduled = false
    for (const queue of queues.values()) this._run(queue, fixed)
  }

  /** One script run for `queue` (one decision: the single-key script). */
  _run(queue, fixed) {
    if (queue.length === 1) {
      const { key, arg, resolve, reject } = queue[0]
      this._one(key, fixed, arg).then(resolve, reject)
      return
    }
    const keys = queue.map((d) => d.key)
    const args = queue[0].arg === undefined ? fixed : [...fixed, ...batchArgs(queue)]
    const width = this.width
    this.path.evalScript(this.batch, keys, args).then(
      (replies) => {
        for (let i = 0, at = 0; i < queue.length; i++, at += width) {
          const first = replies[at]
          // A key's error (a foreign value under it) comes back as its message; numbers
          // may come as strings (a client with `stringNumbers`).
          if (typeof first !== 'string' || INTEGER.test(first)) queue[i].resolve(replies.slice(at, at + width))
          else queue[i].reject(new Error(String(first)))
        }
      },
      (err) => {
        for (const d of queue) d.reject(err)
      },
    )
  }
}

/** The decisions' own arguments for a batch run: one for all when they are the same (the
 * usual cost of 1; the script then converts it once, not once per key), else one each. */
function batchArgs(queue) {
  const first = queue[0].arg
  for (let i = 1; i < queue.length; i++) {
    if (queue[i].arg !== first) return queue.map((d) => d.arg)
  }
  return [first]
}

function isNoScript(err) {
  return err instanceof Error && /^NOSCRIPT(?:\s|$)/.test(err.message)
}

function script(lua) {
  return { lua, sha: sha1(lua) }
}

module.exports = { OUT, LocalLimiter, RedisPath, Coalescer, script, checkKey, checkInteger, checkWhenDown, rangeChecked, MAX_LIMIT }
