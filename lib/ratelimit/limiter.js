'use strict'
// Standalone limiter: fixed window, sliding window or token bucket (GCRA), deciding with
// bulwark_core::ratelimit either atomically on Redis (the core's Lua script, the server's
// clock) or in process (the core's Limiter, through the binding).
const native = require('../native')
const registry = require('../registry')
const { countDecision } = require('../metrics')
const { OUT, LocalLimiter, RedisPath, Coalescer, script, checkKey, checkInteger, checkWhenDown, rangeChecked, MAX_LIMIT } = require('./backend')
const { MemoryPolicy, memorySlot } = require('./memory')

const ALGORITHMS = ['fixed-window', 'sliding-window', 'token-bucket']
const SCRIPTS = Object.fromEntries(
  ALGORITHMS.map((name) => [
    name,
    {
      consume: script(native.ratelimitScript(name)),
      batch: script(native.ratelimitBatchScript(name)),
      adjust: script(native.ratelimitAdjustScript(name)),
    },
  ]),
)

// Most decisions in one script run. A decision costs Redis ~3.5 µs (TIME, HMGET, a
// write): 32 keep a run near 100 µs, so its reply reaches the bulwark client while its
// thread still polls (200 µs after a submission) instead of having to be woken, and at
// high concurrency several runs are in flight at once (docs/rate-limiting.md).
const MAX_BATCH = 32

function checkCost(cost, name) {
  return checkInteger(cost, name, 0, MAX_LIMIT)
}

class RateLimiter {
  /**
   * @param {object} options `{ client | sendCommand | memory, algorithm, limit, windowMs,
   *   prefix, whenDown, timeoutMs, retryMs, maxKeys, clock }`; see docs/rate-limiting.md.
   */
  constructor(options) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const algorithm = options.algorithm === undefined ? 'fixed-window' : options.algorithm
    if (!ALGORITHMS.includes(algorithm)) {
      throw new TypeError(`algorithm must be 'fixed-window', 'sliding-window' or 'token-bucket', got ${String(algorithm)}`)
    }
    if (typeof options.limit !== 'number') throw new TypeError(`limit must be a number, got ${typeof options.limit}`)
    if (typeof options.windowMs !== 'number') throw new TypeError(`windowMs must be a number, got ${typeof options.windowMs}`)
    rangeChecked(() => native.ratelimitCheckPolicy(algorithm, options.limit, options.windowMs))
    this.algorithm = algorithm
    this.algorithmIndex = ALGORITHMS.indexOf(algorithm)
    this.limit = options.limit
    this.windowMs = options.windowMs
    this.prefix = options.prefix === undefined ? `bulwark:${algorithm}:` : checkKey(options.prefix, 'prefix')
    this.whenDown = checkWhenDown(options.whenDown)
    this.maxKeys = options.maxKeys === undefined ? 100_000 : checkInteger(options.maxKeys, 'maxKeys', 1, 2 ** 32 - 1)
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new TypeError('clock must be a function returning ms')
    // Without a clock the native side reads the system clock itself (-1).
    this.clock = options.clock || null
    const remote = options.memory !== true && ((options.client !== undefined && options.client !== null) || options.sendCommand !== undefined)
    this.redis = remote ? new RedisPath(options, this) : null
    // [allowed, remaining, reset_ms, retry_after_ms] per decision.
    this.decisions = remote ? new Coalescer(this.redis, SCRIPTS[algorithm].consume, SCRIPTS[algorithm].batch, MAX_BATCH, 4) : null
    this.local = null
    this.memory = null
    this._args = [String(this.limit), String(this.windowMs)]
    this._observed = registry.add('limiter', this, options.name ?? (this.prefix || 'limiter'))
  }

  _local() {
    if (this.local === null) this.local = new LocalLimiter(this.algorithm, this.limit, this.windowMs, this.maxKeys)
    return this.local
  }

  _now() {
    if (this.clock === null) return -1
    const now = this.clock()
    if (!(now >= 0 && now <= Number.MAX_SAFE_INTEGER)) throw new RangeError(`clock() must return a non-negative number of ms, got ${now}`)
    return Math.floor(now)
  }

  /** Decides in process. Keys are not prefixed: the map belongs to this limiter. */
  _localResult(key, cost) {
    const local = this._local()
    const allowed = local.consume(key, this._now(), cost)
    const out = local.out
    return countDecision(this._observed, cost, { allowed, limit: this.limit, remaining: out[0], resetMs: out[1], retryAfterMs: out[2] }, 'memory')
  }

  /** The answer when Redis cannot give one (`whenDown`). */
  _whenDown(key, cost) {
    if (this.whenDown === 'local') return this._localResult(key, cost)
    if (this.whenDown === 'allow') {
      return countDecision(this._observed, cost, { allowed: true, limit: this.limit, remaining: Math.max(this.limit - cost, 0), resetMs: 0, retryAfterMs: 0 }, 'none')
    }
    return countDecision(this._observed, cost, { allowed: false, limit: this.limit, remaining: 0, resetMs: this.redis.retryMs, retryAfterMs: this.redis.retryMs }, 'none')
  }

  _skipRedis() {
    if (this.redis.clientInMemory) return this.whenDown !== 'local'
    return this.redis.down
  }

  _recovered() {
    if (this.redis.markUp() && this.local !== null) this.local.clear()
  }

  /** Decides on Redis (the core's script, the server's clock), else by `whenDown`. */
  async _remote(key, cost) {
    if (this._skipRedis()) return this._whenDown(key, cost)
    let reply
    try {
      reply = await this.decisions.decide(this.prefix + key, this._args, String(cost))
    } catch (err) {
      this.redis.markDown(err)
      return this._whenDown(key, cost)
    }
    this._recovered()
    // [allowed 0|1, remaining, reset_ms, retry_after_ms, now_ms] (Algorithm::redis_script).
    const result = { allowed: Number(reply[0]) === 1, limit: this.limit, remaining: Number(reply[1]), resetMs: Number(reply[2]), retryAfterMs: Number(reply[3]) }
    return countDecision(this._observed, cost, result, this.redis.clientInMemory ? 'memory' : 'redis')
  }

  /** On the client's memory engine: one native call, no command, no promise per command;
   * undefined when the client is not on memory now. */
  _inMemory(key, cost) {
    const slot = memorySlot(this.redis.client)
    if (slot === null) return undefined
    if (this.memory === null) this.memory = new MemoryPolicy(this.algorithmIndex, this.limit, this.windowMs, this.prefix)
    let allowed
    try {
      allowed = this.memory.decide(slot, key, cost)
    } catch (err) {
      this.redis.markDown(err)
      return this._whenDown(key, cost)
    }
    if (allowed < 0) return undefined
    this._recovered()
    const result = { allowed: allowed === 1, limit: this.limit, remaining: OUT[0], resetMs: OUT[1], retryAfterMs: OUT[2] }
    return countDecision(this._observed, cost, result, 'memory')
  }

  _decide(key, cost) {
    if (this.redis !== null) {
      if (this.whenDown === 'local' && this.redis.clientInMemory) {
        const result = this._inMemory(key, cost)
        if (result !== undefined) return Promise.resolve(result)
      }
      return this._remote(key, cost)
    }
    try {
      return Promise.resolve(this._localResult(key, cost))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Takes `cost` (default 1) from `key`'s allowance if it fits. */
  consume(key, cost = 1) {
    // The common case in one test; the checks below only name what is wrong.
    if (typeof key !== 'string' || !(Number.isInteger(cost) && cost >= 0 && cost <= MAX_LIMIT)) {
      try {
        checkKey(key)
        checkCost(cost, 'cost')
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return this._decide(key, cost)
  }

  /** The state of `key` without consuming (a request of cost 0). */
  get(key) {
    if (typeof key !== 'string') {
      try {
        checkKey(key)
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return this._decide(key, 0)
  }

  /** Forgets `key`. Rejects if Redis cannot be reached. */
  async reset(key) {
    checkKey(key)
    if (this.local !== null) this.local.remove(key)
    if (this.redis !== null && !this._skipRedis()) await this.redis.call(['DEL', this.prefix + key])
  }

  _adjustLocal(key, delta, blockMs) {
    if (this.redis !== null && this.whenDown !== 'local') return
    const now = this._now()
    if (blockMs === undefined) this._local().adjust(key, now, delta)
    else this._local().block(key, now, blockMs)
  }

  /** Penalty/reward (delta) or block (blockMs) where consume() would decide. */
  async _adjust(key, delta, blockMs) {
    if (this.redis === null || this._skipRedis()) return this._adjustLocal(key, delta, blockMs)
    const args = [...this._args, String(delta)]
    if (blockMs !== undefined) args.push(String(blockMs))
    try {
      await this.redis.evalScript(SCRIPTS[this.algorithm].adjust, [this.prefix + key], args)
    } catch (err) {
      this.redis.markDown(err)
      this._adjustLocal(key, delta, blockMs)
    }
  }

  /** Counts `points` more against `key` (past the limit if need be). */
  async penalty(key, points = 1) {
    checkKey(key)
    checkInteger(points, 'points', 0, this.limit)
    await this._adjust(key, points)
  }

  /** Gives `points` back to `key` (never below nothing used). */
  async reward(key, points = 1) {
    checkKey(key)
    checkInteger(points, 'points', 0, this.limit)
    await this._adjust(key, -points)
  }

  /** Denies every request for `key` during `ms`; counting starts afresh after it. */
  async block(key, ms) {
    checkKey(key)
    checkInteger(ms, 'ms', 1, 2 ** 47)
    await this._adjust(key, 0, ms)
  }

  /** Sets the standard RateLimit, RateLimit-Policy and (when denied) Retry-After headers. */
  setHeaders(res, result) {
    setRateLimitHeaders(res, result, this.windowMs)
  }
}

/**
 * Sets `RateLimit: limit=L, remaining=R, reset=S`, `RateLimit-Policy: L;w=W` (when
 * `windowMs` is given) and, on a denial, `Retry-After` (seconds, rounded up), as
 * express-rate-limit's draft-7 headers. Does nothing once headers were sent.
 */
function setRateLimitHeaders(res, result, windowMs) {
  if (res === null || typeof res !== 'object' || typeof res.setHeader !== 'function') {
    throw new TypeError('res must be an http.ServerResponse (with setHeader)')
  }
  if (result === null || typeof result !== 'object') throw new TypeError('result must be a consume() result')
  if (res.headersSent) return
  const reset = Math.ceil(result.resetMs / 1000)
  res.setHeader('RateLimit', `limit=${result.limit}, remaining=${result.remaining}, reset=${reset}`)
  if (windowMs !== undefined) res.setHeader('RateLimit-Policy', `${result.limit};w=${Math.ceil(windowMs / 1000)}`)
  if (!result.allowed) res.setHeader('Retry-After', String(Math.ceil(result.retryAfterMs / 1000)))
}

module.exports = { RateLimiter, setRateLimitHeaders }
