'use strict'
// What the rate-limit store and the RateLimiter share: argument checks, the outage policy
// and the way a script reaches Redis (EVALSHA, EVAL once on NOSCRIPT, a deadline).
const { createHash } = require('node:crypto')
const native = require('../native')
const { throttledLog } = require('../throttled-log')

const WHEN_DOWN = ['local', 'allow', 'deny']
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

/** The native in-process limiter (bulwark_core::ratelimit::Limiter), bounded to maxKeys. */
class LocalLimiter {
  constructor(algorithm, limit, windowMs, maxKeys) {
    this.handle = rangeChecked(() => native.ratelimitCreate(algorithm, limit, windowMs, maxKeys))
    this.out = new Float64Array(3)
    registry.register(this, this.handle)
  }

  /** `{ allowed, remaining, resetMs, retryAfterMs }` for a request of `cost` at `now`. */
  consume(key, now, cost) {
    const allowed = native.ratelimitConsume(this.handle, key, now, cost, this.out)
    return { allowed, remaining: this.out[0], resetMs: this.out[1], retryAfterMs: this.out[2] }
  }

  adjust(key, now, delta) {
    native.ratelimitAdjust(this.handle, key, now, delta)
  }

  block(key, now, ms) {
    return native.ratelimitBlock(this.handle, key, now, ms)
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
  constructor({ client, sendCommand, timeoutMs, retryMs }, owner) {
    if (client !== undefined && client !== null) {
      if (typeof client.call !== 'function') throw new TypeError('client must be a bulwark or ioredis Redis client (with call())')
      this.client = client
      this.send = (args) => client.call(...args)
    } else if (typeof sendCommand === 'function') {
      this.client = null
      // rate-limit-redis calls sendCommand with the store as `this`.
      this.send = (args) => sendCommand.apply(owner, args)
    } else {
      throw new TypeError('options must include a client or a sendCommand function')
    }
    this.timeoutMs = timeoutMs === undefined ? 1000 : checkInteger(timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1)
    this.retryMs = retryMs === undefined ? 1000 : checkInteger(retryMs, 'retryMs', 1, 2 ** 31 - 1)
    this.downUntil = 0
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

  /** One command with the deadline. */
  call(args) {
    let timer
    const deadline = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(timeoutError(this.timeoutMs)), this.timeoutMs)
    })
    let sent
    try {
      sent = Promise.resolve(this.send(args))
    } catch (err) {
      sent = Promise.reject(err)
    }
    // A late reply after the deadline is dropped; its rejection must not go unhandled.
    sent.catch(() => {})
    return Promise.race([sent, deadline]).finally(() => clearTimeout(timer))
  }

  /** A script by EVALSHA; on NOSCRIPT (Redis restarted or flushed) once more by EVAL. */
  async evalScript(script, key, args) {
    try {
      return await this.call(['EVALSHA', script.sha, '1', key, ...args])
    } catch (err) {
      if (!isNoScript(err)) throw err
      return this.call(['EVAL', script.lua, '1', key, ...args])
    }
  }
}

function isNoScript(err) {
  return err instanceof Error && /^NOSCRIPT(?:\s|$)/.test(err.message)
}

function script(lua) {
  return { lua, sha: sha1(lua) }
}

module.exports = { LocalLimiter, RedisPath, script, checkKey, checkInteger, checkWhenDown, rangeChecked, MAX_LIMIT }
