'use strict'
// express-rate-limit store, drop-in for rate-limit-redis 6: the same keys (`prefix + key`),
// values (a string integer with a PX TTL) and increment script, so old and new instances
// can count on the same Redis during a rollout; plus an outage policy (`whenDown`).
const registry = require('../registry')
const { countHits } = require('../metrics')
const native = require('../native')
const { OUT, LocalLimiter, RedisPath, Coalescer, script, checkKey, checkInteger, checkWhenDown, MAX_LIMIT } = require('./backend')
const { MemoryPolicy, memorySlot } = require('./memory')

// From the core (store_scripts.rs): increment and get are rate-limit-redis 6's byte for
// byte, so both share one SHA1 in Redis's script cache and count on the same keys; the
// decrement only takes from a live counter; the batch increment is the increment for each
// key of one event-loop turn in one script run.
const INCREMENT = script(native.ratelimitStoreScript('increment'))
const GET = script(native.ratelimitStoreScript('get'))
const DECREMENT = script(native.ratelimitStoreScript('decrement'))
const BATCH_INCREMENT = script(native.ratelimitStoreScript('batchIncrement'))

// express-rate-limit's default window, used if increment() runs before init().
const DEFAULT_WINDOW_MS = 60_000
const MAX_WINDOW_MS = 2 ** 47
const SCAN_COUNT = 1000
// Most increments in one script run (~1.3 µs of Redis time each). At 64 concurrent
// callers two runs of 32 beat one of 64: the coalescer hands the first to Redis while JS
// gathers the second, so Redis and JS overlap (decisions/s at c=64: 260k vs 200k).
const MAX_BATCH = 32

/** Escapes SCAN MATCH's glob characters so the prefix matches literally. */
function literalPattern(prefix) {
  return prefix.replace(/[*?[\]\\]/g, '\\$&')
}

class RedisStore {
  /**
   * @param {object} options `{ sendCommand }` (rate-limit-redis), `{ sendCommandCluster }`
   *   or `{ client }` (bulwark/ioredis Redis); `prefix` (default 'rl:'); `whenDown`
   *   ('local' | 'allow' | 'deny'); `timeoutMs`, `retryMs`, `maxKeys`.
   */
  constructor(options) {
    if (options === null || typeof options !== 'object') throw new TypeError('rate-limit-redis: Error: options object is required')
    if ('resetExpiryOnChange' in options) {
      throw new TypeError('rate-limit-redis: Error: the resetExpiryOnChange option was removed in v6')
    }
    const ways = ['client', 'sendCommand', 'sendCommandCluster'].filter((k) => options[k] !== undefined && options[k] !== null)
    if (ways.length !== 1) {
      throw new TypeError('rate-limit-redis: Error: options must include exactly one of client, sendCommand or sendCommandCluster')
    }
    let { sendCommand } = options
    if (options.sendCommandCluster !== undefined) {
      if (typeof options.sendCommandCluster !== 'function') throw new TypeError('sendCommandCluster must be a function')
      const cluster = options.sendCommandCluster
      // Every command here has its (first) key at index 3 (EVALSHA/EVAL sha n key…; a
      // coalesced run's keys share one slot) or 1 (DEL, …).
      // Reads are marked as rate-limit-redis marks them (its get script), so a cluster
      // router may send them to a replica.
      sendCommand = function (...command) {
        const script = command[0] === 'EVALSHA' || command[0] === 'EVAL'
        const key = script ? command[3] : command[1]
        const isReadOnly = script ? command[1] === GET.sha || command[1] === GET.lua : command[0] === 'SCAN'
        return cluster.call(this, { key, isReadOnly, command })
      }
    }
    this.prefix = options.prefix === undefined || options.prefix === null ? 'rl:' : checkKey(options.prefix, 'prefix')
    this.whenDown = checkWhenDown(options.whenDown)
    this.maxKeys = options.maxKeys === undefined ? 100_000 : checkInteger(options.maxKeys, 'maxKeys', 1, 2 ** 32 - 1)
    this.localKeys = false
    this.windowMs = DEFAULT_WINDOW_MS
    this.limit = undefined
    this.redis = new RedisPath(
      { client: options.client, sendCommand, timeoutMs: options.timeoutMs, retryMs: options.retryMs, cluster: options.sendCommandCluster !== undefined },
      this,
    )
    // [totalHits, timeToExpire] per increment.
    this.increments = new Coalescer(this.redis, INCREMENT, BATCH_INCREMENT, MAX_BATCH, 2)
    this._windowArgs = [String(this.windowMs)]
    this.local = null
    this.memory = null
    this._observed = registry.add('limiter', this, options.name ?? (this.prefix || 'limiter'))
  }

  /** Called by express-rate-limit (synchronously, not awaited) with its options. */
  init(options) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    this.windowMs = checkInteger(options.windowMs, 'windowMs', 1, MAX_WINDOW_MS)
    this._windowArgs = [String(this.windowMs)]
    this.memory = null
    // With a function limit the store cannot know it; 'deny' then reports a huge count.
    this.limit = typeof options.limit === 'number' ? options.limit : typeof options.max === 'number' ? options.max : undefined
    this.local = null
  }

  /** `${prefix}${key}`, as rate-limit-redis. */
  prefixKey(key) {
    return `${this.prefix}${checkKey(key)}`
  }

  /** The in-process fallback: the core's fixed window with a limit nothing reaches, so it
   * counts every hit like the Redis script and express-rate-limit compares. */
  _local() {
    if (this.local === null) {
      const limit = Math.min(MAX_LIMIT, Math.floor(2 ** 53 / this.windowMs))
      this.local = new LocalLimiter('fixed-window', limit, this.windowMs, this.maxKeys)
      this.localLimit = limit
    }
    return this.local
  }

  /** The answer when Redis cannot give one. */
  _whenDown(key) {
    const now = Date.now()
    if (this.whenDown === 'allow') return { totalHits: 1, resetTime: new Date(now + this.windowMs) }
    if (this.whenDown === 'deny') {
      const totalHits = this.limit !== undefined && this.limit < Number.MAX_SAFE_INTEGER ? Math.floor(this.limit) + 1 : Number.MAX_SAFE_INTEGER
      return { totalHits: Math.max(totalHits, 1), resetTime: new Date(now + this.redis.retryMs) }
    }
    const local = this._local()
    local.consume(key, now, 1)
    return { totalHits: this.localLimit - local.out[0], resetTime: new Date(now + local.out[1]) }
  }

  /** Whether to skip Redis: recently down, or a failed-over client with a non-local policy. */
  _skipRedis() {
    if (this.redis.clientInMemory) return this.whenDown !== 'local'
    return this.redis.down
  }

  _recovered() {
    // Counting resumes on Redis; what was counted locally during the outage is dropped.
    if (this.redis.markUp() && this.local !== null) this.local.clear()
  }

  /** Counts a hit: `{ totalHits ≥ 1, resetTime }`. Never rejects because Redis is down. */
  increment(key) {
    if (typeof key !== 'string') {
      try {
        checkKey(key)
      } catch (err) {
        return Promise.reject(err)
      }
    }
    // On the client's memory engine: one native call, no command, no promise per command.
    if (this.whenDown === 'local' && this.redis.clientInMemory) {
      const slot = memorySlot(this.redis.client)
      if (slot !== null) {
        if (this.memory === null) this.memory = new MemoryPolicy(-1, 0, this.windowMs, this.prefix)
        let totalHits
        try {
          totalHits = this.memory.decide(slot, key, 1)
        } catch (err) {
          this.redis.markDown(err)
          return Promise.resolve(this._downHits(this.prefix + key))
        }
        if (totalHits >= 0) {
          this._recovered()
          return Promise.resolve(countHits(this._observed, this.limit, { totalHits, resetTime: new Date(OUT[0]) }, 'memory'))
        }
      }
    }
    return this._increment(this.prefix + key)
  }

  async _increment(full) {
    if (this._skipRedis()) return this._downHits(full)
    let reply
    try {
      reply = await this.increments.decide(full, this._windowArgs)
    } catch (err) {
      this.redis.markDown(err)
      return this._downHits(full)
    }
    this._recovered()
    const totalHits = Number(reply[0])
    const pttl = Number(reply[1])
    return countHits(this._observed, this.limit, { totalHits, resetTime: new Date(Date.now() + pttl) }, this.redis.clientInMemory ? 'memory' : 'redis')
  }

  /** The `whenDown` answer for a hit, counted in the metrics. */
  _downHits(full) {
    return countHits(this._observed, this.limit, this._whenDown(full), this.whenDown === 'local' ? 'memory' : 'none')
  }

  /** Takes a hit back (skipped/failed requests); never below 0, never throws. */
  async decrement(key) {
    const full = this.prefixKey(key)
    if (this.local !== null) this.local.adjust(full, Date.now(), -1)
    if (this._skipRedis()) return
    try {
      await this.redis.evalScript(DECREMENT, [full], [])
    } catch (err) {
      this.redis.markDown(err)
    }
  }

  /** `{ totalHits, resetTime }` of a key, or undefined when it has no live count. */
  async get(key) {
    const full = this.prefixKey(key)
    if (this._skipRedis()) return this._localInfo(full)
    let reply
    try {
      reply = await this.redis.evalScript(GET, [full], [])
    } catch (err) {
      this.redis.markDown(err)
      return this._localInfo(full)
    }
    const totalHits = reply[0] === null || reply[0] === false ? 0 : Number(reply[0])
    const pttl = Number(reply[1])
    if (totalHits <= 0 || pttl <= 0) return undefined
    return { totalHits, resetTime: new Date(Date.now() + pttl) }
  }

  _localInfo(full) {
    if (this.whenDown !== 'local' || this.local === null) return undefined
    const now = Date.now()
    this.local.consume(full, now, 0)
    const totalHits = this.localLimit - this.local.out[0]
    return totalHits > 0 ? { totalHits, resetTime: new Date(now + this.local.out[1]) } : undefined
  }

  /** Forgets a key (on Redis and locally). Rejects if Redis cannot be reached. */
  async resetKey(key) {
    const full = this.prefixKey(key)
    if (this.local !== null) this.local.remove(full)
    await this.redis.call(['DEL', full])
  }

  /** Forgets every key under the prefix: SCAN + UNLINK, never KEYS or FLUSHALL. */
  async resetAll() {
    if (this.local !== null) this.local.clear()
    const match = `${literalPattern(this.prefix)}*`
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.call(['SCAN', cursor, 'MATCH', match, 'COUNT', String(SCAN_COUNT)])
      if (keys.length > 0) await this.redis.call(['UNLINK', ...keys])
      cursor = String(next)
    } while (cursor !== '0')
  }

  /** Drops the in-process fallback state; the Redis connection belongs to the caller. */
  async shutdown() {
    if (this.local !== null) this.local.clear()
    this.local = null
  }
}

module.exports = { RedisStore }
