'use strict'
// Cache: a two-tier cache-aside (docs/cache.md). L1 holds values in this process (JS
// objects, no serialization on a hit); L2 is Redis through a bulwark client, so it keeps
// answering from the memory fallback when Redis is down. Misses of one key are filled
// once per process (single-flight) and, with `lock`, once across processes; a failed or
// slow refresh can answer with the last value within `grace`.
//
// Redis keys under `prefix` P: P k:<key> values, P t:<tag> tag sets, P l:<key> fill locks;
// channel P bus carries invalidations. The sub-prefixes keep user keys and our own apart.

const { EventEmitter } = require('node:events')
const { throttledLog } = require('../throttled-log')
const { parseDuration, optionalDuration, parseBytes } = require('./durations')
const { L1Store, Entry } = require('./l1-store')
const envelope = require('./envelope')
const { InvalidationBus } = require('./bus')
const { FillLock } = require('./fill-lock')
const { hardTimeoutError, softTimeoutError, notCacheableError } = require('./errors')
const { cacheMiddleware } = require('./middleware')
const registry = require('../registry')

const DEFAULTS = {
  prefix: 'cache:',
  ttl: 5 * 60_000,
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  graceBackoff: 10_000,
  hard: 10_000,
  lockTtl: 10_000,
  lockWait: 10_000,
  lockPoll: 500,
}
const CLEAR_BATCH = 1000

// SET the value, add the key to each tag's set and make each set live at least as long.
const SET_TAGGED_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1`
// Deletes every value the tag's set names, then the set; returns the keys.
const DELETE_TAG_SCRIPT = `
local keys = redis.call('SMEMBERS', KEYS[1])
for _, k in ipairs(keys) do redis.call('UNLINK', ARGV[1] .. k) end
redis.call('DEL', KEYS[1])
return keys`

const JSON_SERIALIZER = { serialize: JSON.stringify, deserialize: JSON.parse }
const logError = throttledLog('[bulwark] cache error:')

function checkKey(key, name = 'key') {
  if (typeof key !== 'string') throw new TypeError(`${name} must be a string, got ${key === null ? 'null' : typeof key}`)
}

function checkTags(tags) {
  if (tags === undefined || tags === null) return null
  if (!Array.isArray(tags)) throw new TypeError(`tags must be an array of strings, got ${typeof tags}`)
  for (const t of tags) checkKey(t, 'every tag')
  return tags.length === 0 ? null : tags
}

function globEscape(text) {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/** `timeouts` option: `{ soft, hard }` in ms; hard null/0 = none. */
function parseTimeouts(value, fallback, name) {
  if (value === undefined) return fallback
  if (value === null || typeof value !== 'object') throw new TypeError(`${name} must be an object { soft, hard }`)
  const soft = value.soft === undefined ? fallback.soft : value.soft === null ? null : parseDuration(value.soft, `${name}.soft`)
  let hard = fallback.hard
  if (value.hard === null || value.hard === 0) hard = null
  else if (value.hard !== undefined) hard = parseDuration(value.hard, `${name}.hard`)
  return { soft, hard }
}

/** `lock` option: false, true or `{ ttl, wait, poll }`. */
function parseLock(value, fallback, name) {
  if (value === undefined) return fallback
  if (value === false || value === null) return null
  if (value === true) return { ttl: DEFAULTS.lockTtl, wait: DEFAULTS.lockWait, poll: DEFAULTS.lockPoll }
  if (typeof value !== 'object') throw new TypeError(`${name} must be a boolean or { ttl, wait, poll }`)
  const positive = (v, n, d) => {
    const ms = optionalDuration(v, `${name}.${n}`, d)
    if (ms === 0) throw new RangeError(`${name}.${n} must be more than 0 ms`)
    return ms
  }
  return { ttl: positive(value.ttl, 'ttl', DEFAULTS.lockTtl), wait: optionalDuration(value.wait, `${name}.wait`, DEFAULTS.lockWait), poll: positive(value.poll, 'poll', DEFAULTS.lockPoll) }
}

function parseGrace(value, name, fallback) {
  if (value === undefined) return fallback
  if (value === false || value === null) return 0
  return parseDuration(value, name)
}

class Cache extends EventEmitter {
  /**
   * @param options `{ client, prefix = 'cache:', ttl = '5m', l1 = { maxEntries: 10000,
   *   maxBytes: '64mb' } | false, grace = 0, graceBackoff = '10s', timeouts = { soft, hard: '10s' },
   *   lock = false, earlyRefresh = false, serializer = JSON }`
   */
  constructor(options) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object with a client')
    const { client, prefix = DEFAULTS.prefix, l1 = true, serializer = JSON_SERIALIZER } = options
    if (client === null || typeof client !== 'object' || typeof client.get !== 'function' || typeof client.duplicate !== 'function') {
      throw new TypeError('options.client must be a bulwark Redis client')
    }
    checkKey(prefix, 'options.prefix')
    if (serializer === null || typeof serializer !== 'object' || typeof serializer.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
      throw new TypeError('options.serializer must be { serialize(value): string, deserialize(text) }')
    }
    const ttl = optionalDuration(options.ttl, 'options.ttl', DEFAULTS.ttl)
    if (ttl === 0) throw new RangeError('options.ttl must be more than 0 ms')
    let beta = 0
    if (options.earlyRefresh === true) beta = 1
    else if (options.earlyRefresh !== undefined && options.earlyRefresh !== false) {
      if (typeof options.earlyRefresh !== 'number' || !(options.earlyRefresh > 0) || options.earlyRefresh === Infinity) {
        throw new RangeError(`options.earlyRefresh must be true, false or a positive number (XFetch beta), got ${options.earlyRefresh}`)
      }
      beta = options.earlyRefresh
    }
    this.client = client
    this.prefix = prefix
    this._serializer = serializer
    this._beta = beta
    this._graceBackoff = optionalDuration(options.graceBackoff, 'options.graceBackoff', DEFAULTS.graceBackoff)
    this._defaults = {
      ttl,
      grace: parseGrace(options.grace, 'options.grace', 0),
      tags: null,
      timeouts: parseTimeouts(options.timeouts, { soft: null, hard: DEFAULTS.hard }, 'options.timeouts'),
      lock: parseLock(options.lock, null, 'options.lock'),
    }
    this._lastTtl = undefined
    this._lastTtlOptions = null
    this._l1 = null
    if (l1 !== false) {
      if (l1 !== true && (l1 === null || typeof l1 !== 'object')) throw new TypeError('options.l1 must be false, true or { maxEntries, maxBytes }')
      const { maxEntries = DEFAULTS.maxEntries, maxBytes = DEFAULTS.maxBytes } = l1 === true ? {} : l1
      if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`options.l1.maxEntries must be a positive integer, got ${maxEntries}`)
      this._l1 = new L1Store(maxEntries, parseBytes(maxBytes, 'options.l1.maxBytes'))
    }
    const clientPrefix = (client.options && client.options.keyPrefix) || ''
    this._scanPattern = globEscape(clientPrefix + prefix) + '*'
    this._clientPrefixLength = clientPrefix.length
    this._valuePrefix = prefix + 'k:'
    this._lock = new FillLock(client, (key) => prefix + 'l:' + key)
    // key -> the Flight filling it
    this._flights = new Map()
    this._stats = { hits: 0, l1Hits: 0, l2Hits: 0, misses: 0, stale: 0, sets: 0, deletes: 0, coalesced: 0, factoryRuns: 0, factoryErrors: 0, timeouts: 0, errors: 0 }
    // Reported by bulwark.metrics, health() and the status page (they read stats()).
    this._observed = registry.add('cache', this, options.name ?? (prefix || 'cache'))
    this._emitHits = false
    this.on('newListener', (name) => {
      if (name === 'hit') this._emitHits = true
    })
    this.on('removeListener', (name) => {
      if (name === 'hit') this._emitHits = this.listenerCount('hit') > 0
    })
    this._bus = new InvalidationBus(
      client,
      prefix + 'bus',
      {
        onMessage: (msg) => this._onBusMessage(msg),
        onResync: () => this._resync(),
        onError: (err) => this._error(err),
      },
      this._l1 !== null || this._defaults.lock !== null,
    )
  }

  // ---- reads and writes -------------------------------------------------------------

  /** The fresh value for `key`, or undefined. */
  get(key) {
    if (typeof key !== 'string') return this._rejectArgs(key, undefined)
    const now = Date.now()
    if (this._l1 !== null) {
      const e = this._l1.peek(key, now)
      if (e !== undefined && e.expiresAt > now) {
        e.visited = true
        this._hit(key, 'l1')
        return Promise.resolve(e.value)
      }
    }
    return this._l2Get(key).then((e) => {
      if (e !== undefined && e.expiresAt > Date.now()) {
        this._hit(key, 'l2')
        return e.value
      }
      this._stats.misses++
      this.emit('miss', key)
      return undefined
    })
  }

  /** Whether `key` has a fresh value. */
  async has(key) {
    checkKey(key)
    const now = Date.now()
    if (this._l1 !== null) {
      const e = this._l1.peek(key, now)
      if (e !== undefined && e.expiresAt > now) return true
    }
    const e = await this._l2Get(key)
    return e !== undefined && e.expiresAt > Date.now()
  }

  /**
   * Stores `value` in both tiers and drops `key` from the other instances' L1.
   * @param options `{ ttl, grace, tags }` (or a ttl alone, as cache-manager takes it)
   */
  async set(key, value, options) {
    checkKey(key)
    const o = this._options(options)
    await this._store(key, value, o, 0)
  }

  /** Deletes `key` from both tiers, here and in the other instances' L1. */
  async del(key) {
    checkKey(key)
    this._stats.deletes++
    if (this._l1 !== null) this._l1.delete(key)
    await this.client.unlink(this._valuePrefix + key)
    this._bus.publish('del', [key])
  }

  /** Deletes every value stored with `tag`, in both tiers and on every instance. */
  async deleteByTag(tag) {
    checkKey(tag, 'tag')
    if (this._l1 !== null) this._l1.deleteTagged(tag)
    const keys = await this.client.eval(DELETE_TAG_SCRIPT, 1, this.prefix + 't:' + tag, this._valuePrefix)
    if (this._l1 !== null) for (const key of keys) this._l1.delete(key)
    this._stats.deletes += keys.length
    this._bus.publish('tag', keys, tag)
  }

  /** Deletes everything under this cache's prefix (SCAN + UNLINK in batches; never KEYS or FLUSHDB). */
  async clear() {
    if (this._l1 !== null) this._l1.clear()
    let cursor = '0'
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', this._scanPattern, 'COUNT', CLEAR_BATCH)
      cursor = String(next)
      if (keys.length > 0) await this.client.unlink(...keys.map((k) => String(k).slice(this._clientPrefixLength)))
    } while (cursor !== '0')
    this._bus.publish('clear')
  }

  /**
   * The value for `key`; on a miss, `factory()` computes it (once per process for
   * concurrent callers, once across processes with `lock`) and it is stored.
   * @param options `{ ttl, grace, tags, timeouts, lock }` or a ttl (cache-manager's form)
   */
  wrap(key, factory, options) {
    if (typeof key !== 'string' || typeof factory !== 'function') return this._rejectArgs(key, factory)
    let o = this._defaults
    if (options !== undefined) {
      try {
        o = this._options(options)
      } catch (err) {
        return Promise.reject(err)
      }
    }
    if (this._l1 !== null) {
      const e = this._l1.map.get(key)
      if (e !== undefined && !e.graced) {
        const now = Date.now()
        if (e.expiresAt > now) {
          e.visited = true
          this._hit(key, 'l1')
          if (this._beta > 0 && e.delta > 0 && now - e.delta * this._beta * Math.log(Math.random()) >= e.expiresAt) {
            this._refreshEarly(key, factory, o, e)
          }
          return Promise.resolve(e.value)
        }
      }
    }
    return this._wrap(key, factory, o, null)
  }

  /** BentoCache's name for wrap. */
  getOrSet(key, factory, options) {
    return this.wrap(key, factory, options)
  }

  /** Express middleware caching JSON responses (`X-Cache-Status: HIT | MISS | STALE`). */
  middleware(options) {
    return cacheMiddleware(this, options)
  }

  /** Counters and L1 occupancy, one synchronous snapshot. */
  stats() {
    const l1 = this._l1
    return {
      ...this._stats,
      inFlight: this._flights.size,
      l1: l1 === null ? null : { entries: l1.size, bytes: l1.bytes, evictions: l1.evictions, maxEntries: l1.maxEntries, maxBytes: l1.maxBytes },
      bus: { sent: this._bus.sent, received: this._bus.received },
    }
  }

  /** Stops listening to the bus (the client stays yours). Nothing keeps the process alive after it. */
  close() {
    registry.remove(this._observed)
    this._bus.close()
    this._lock.wakeAll()
  }

  /** Resolves once the bus is subscribed (or at close()); useful before relying on invalidations. */
  ready() {
    return this._bus.ready
  }

  // ---- internals ---------------------------------------------------------------------

  /** The rejection for a bad key or factory (async API: bad arguments reject, never throw). */
  _rejectArgs(key, factory) {
    try {
      checkKey(key)
      throw new TypeError(`factory must be a function, got ${factory === null ? 'null' : typeof factory}`)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  _hit(key, tier) {
    this._stats.hits++
    if (tier === 'l1') this._stats.l1Hits++
    else this._stats.l2Hits++
    if (this._emitHits) this.emit('hit', key, tier)
  }

  _error(err) {
    this._stats.errors++
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else logError(err)
  }

  /** Per-call options over the constructor's; a number or string is a ttl. */
  _options(options) {
    if (options === undefined) return this._defaults
    const d = this._defaults
    if (typeof options === 'number' || typeof options === 'string') {
      // cache-manager callers pass the same ttl on every call: keep the last one parsed.
      if (options === this._lastTtl) return this._lastTtlOptions
      const ttl = parseDuration(options, 'ttl')
      if (ttl === 0) throw new RangeError('ttl must be more than 0 ms')
      this._lastTtl = options
      this._lastTtlOptions = { ...d, ttl }
      return this._lastTtlOptions
    }
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object or a ttl, got ${options === null ? 'null' : typeof options}`)
    const ttl = optionalDuration(options.ttl, 'ttl', d.ttl)
    if (ttl === 0) throw new RangeError('ttl must be more than 0 ms')
    return {
      ttl,
      grace: parseGrace(options.grace, 'grace', d.grace),
      tags: checkTags(options.tags),
      timeouts: parseTimeouts(options.timeouts, d.timeouts, 'timeouts'),
      lock: parseLock(options.lock, d.lock, 'lock'),
    }
  }

  /** Serializes `value`; throws a TypeError naming the key when it cannot be cached. */
  _serialize(key, value) {
    if (value === undefined) throw notCacheableError(key, 'is undefined, which cannot be cached (use null)')
    let text
    try {
      text = this._serializer.serialize(value)
    } catch (err) {
      throw notCacheableError(key, `cannot be serialized: ${err.message}`, err)
    }
    if (typeof text !== 'string') throw notCacheableError(key, `cannot be serialized (the serializer returned ${typeof text}, not a string)`)
    return text
  }

  /**
   * Writes `value` to L1 at once and to L2, and announces it on the bus; the returned
   * promise settles when L2 has it. L2 errors are reported, not thrown: L1 still answers.
   */
  _store(key, value, o, delta) {
    const payload = this._serialize(key, value)
    const now = Date.now()
    const expiresAt = now + o.ttl
    const staleUntil = expiresAt + o.grace
    this._stats.sets++
    if (this._l1 !== null) this._l1.set(key, new Entry(value, payload.length, expiresAt, staleUntil, delta, o.tags))
    const text = envelope.encode(payload, expiresAt, staleUntil, delta, o.tags)
    const redisKey = this._valuePrefix + key
    const physicalTtl = Math.max(1, Math.ceil(o.ttl + o.grace))
    const write =
      o.tags === null
        ? this.client.set(redisKey, text, 'PX', physicalTtl)
        : this.client.eval(SET_TAGGED_SCRIPT, 1 + o.tags.length, redisKey, ...o.tags.map((t) => this.prefix + 't:' + t), text, physicalTtl, key)
    // Sent right behind the write on the same connection, so peers see it after the write.
    this._bus.publish('set', [key])
    return write.then(undefined, (err) => this._error(err))
  }

  /** The L2 entry for `key` (fresh or within grace) as an L1 Entry, backfilling L1; errors count as a miss. */
  _l2Get(key) {
    return this.client.get(this._valuePrefix + key).then(
      (text) => this._fromL2(key, text),
      (err) => {
        this._error(err)
        return undefined
      },
    )
  }

  /** Decodes what Redis returned for `key` into an Entry (undefined: absent, past grace or unreadable). */
  _fromL2(key, text) {
    if (text === null || text === undefined) return undefined
    const d = envelope.decode(text)
    if (d === null || !(d.staleUntil > Date.now())) return undefined
    let value
    try {
      value = this._serializer.deserialize(d.payload)
    } catch (err) {
      this._error(err)
      return undefined
    }
    if (this._l1 === null) {
      // Used once, as a hit or a stale candidate: the decoded header serves as the entry.
      d.value = value
      d.bytes = d.payload.length
      return d
    }
    const e = new Entry(value, d.payload.length, d.expiresAt, d.staleUntil, d.delta, d.tags)
    // Backfilled with the remaining TTL (the envelope's absolute times), so L1 never outlives L2.
    this._l1.set(key, e)
    return e
  }

  /** wrap() past the L1 fast path; `state.status` (when given) gets HIT, MISS or STALE. */
  _wrap(key, factory, o, state) {
    const now = Date.now()
    let stale
    if (this._l1 !== null) {
      const e = this._l1.peek(key, now)
      if (e !== undefined) {
        if (e.expiresAt > now && !e.graced) {
          e.visited = true
          this._hit(key, 'l1')
          if (state !== null) state.status = 'HIT'
          return Promise.resolve(e.value)
        }
        // A failed refresh's backoff: keep serving the stale value without retrying.
        if (e.expiresAt > now) {
          if (state !== null) state.status = 'STALE'
          this._serveStale(key, undefined)
          return Promise.resolve(e.value)
        }
        stale = e
      }
    }
    let flight = this._flights.get(key)
    if (flight === undefined) {
      flight = new Flight()
      this._flights.set(key, flight)
      flight.promise = this._fill(key, factory, o, stale, flight)
    } else {
      this._stats.coalesced++
    }
    if (state === null) return flight.promise
    return flight.promise.then((value) => {
      state.status = flight.status
      return value
    })
  }

  _serveStale(key, err) {
    this._stats.stale++
    this.emit('stale', key, err)
  }

  /** Ends `flight` (its entry in `_flights`; a newer fill's entry is left alone) with `status`. */
  _endFlight(key, flight, status) {
    flight.status = status
    if (this._flights.get(key) === flight) this._flights.delete(key)
  }

  /**
   * One fill of `key`: L2 (the hot path of an L1 miss: one GET and one `then`), then on a
   * miss the fill lock (with `lock`) and the factory. Resolves with the value.
   */
  _fill(key, factory, o, stale, flight) {
    return this.client.get(this._valuePrefix + key).then(
      (text) => {
        try {
          const found = this._fromL2(key, text)
          if (found !== undefined) {
            if (found.expiresAt > Date.now()) {
              this._endFlight(key, flight, 'HIT')
              this._hit(key, 'l2')
              return found.value
            }
            if (stale === undefined || found.expiresAt > stale.expiresAt) stale = found
          }
          return this._miss(key, factory, o, stale, flight)
        } catch (err) {
          // A throwing listener must not leave the flight joinable forever.
          this._endFlight(key, flight, 'MISS')
          throw err
        }
      },
      (err) => {
        this._error(err)
        return this._miss(key, factory, o, stale, flight)
      },
    )
  }

  _miss(key, factory, o, stale, flight) {
    this._stats.misses++
    this.emit('miss', key)
    if (o.lock !== null) return this._fillLocked(key, factory, o, stale, flight)
    return this._compute(key, factory, o, stale, null, flight)
  }

  /** The cross-process part: take the fill lock, or wait for its holder (served stale meanwhile when there is one). */
  async _fillLocked(key, factory, o, stale, flight) {
    const deadline = Date.now() + o.lock.wait
    for (;;) {
      let token
      try {
        token = await this._lock.acquire(key, o.lock.ttl)
      } catch (err) {
        this._error(err)
        break
      }
      if (token !== null) {
        // The previous holder may have filled it between our GET and the SET NX.
        const again = await this._l2Get(key)
        if (again !== undefined && again.expiresAt > Date.now()) {
          this._release(key, token)
          this._endFlight(key, flight, 'HIT')
          this._hit(key, 'l2')
          return again.value
        }
        return this._compute(key, factory, o, stale, token, flight)
      }
      if (stale !== undefined) {
        this._endFlight(key, flight, 'STALE')
        this._serveStale(key, undefined)
        return stale.value
      }
      const left = deadline - Date.now()
      if (left <= 0) break
      await this._lock.wait(key, Math.min(o.lock.poll, left))
      const found = await this._l2Get(key)
      if (found !== undefined && found.expiresAt > Date.now()) {
        this._endFlight(key, flight, 'HIT')
        this._hit(key, 'l2')
        return found.value
      }
    }
    // No lock within lock.wait (or no Redis to ask): compute here rather than fail.
    return this._compute(key, factory, o, stale, null, flight)
  }

  _release(key, token) {
    this._lock.release(key, token).then(
      () => this._bus.publish('unlock', [key]),
      (err) => this._error(err),
    )
  }

  /**
   * Runs the factory under the timeouts. Resolves with the new value (status MISS), with
   * `stale` (STALE) when the factory fails or is slower than the soft timeout (it then
   * keeps running to refresh the cache), or rejects.
   */
  _compute(key, factory, o, stale, token, flight) {
    return new Promise((resolve, reject) => {
      const { soft, hard } = o.timeouts
      let answered = false
      let over = false
      let softTimer = null
      let hardTimer = null
      const end = () => {
        over = true
        if (softTimer !== null) clearTimeout(softTimer)
        if (hardTimer !== null) clearTimeout(hardTimer)
        this._endFlight(key, flight, answered ? flight.status : 'MISS')
      }
      const answerStale = (err) => {
        if (answered) return
        answered = true
        flight.status = 'STALE'
        this._serveStale(key, err)
        resolve(stale.value)
      }
      if (stale !== undefined && soft !== null) {
        softTimer = setTimeout(() => answerStale(softTimeoutError(key, soft)), soft)
      }
      if (hard !== null) {
        hardTimer = setTimeout(() => {
          // Given up: a late result is dropped (a newer fill may have written meanwhile).
          end()
          this._stats.timeouts++
          if (token !== null) this._release(key, token)
          const err = hardTimeoutError(key, hard)
          if (stale !== undefined) answerStale(err)
          else if (!answered) {
            answered = true
            reject(err)
          }
        }, hard)
      }
      const started = Date.now()
      this._stats.factoryRuns++
      let result
      try {
        result = Promise.resolve(factory({ key, stale: stale === undefined ? undefined : stale.value }))
      } catch (err) {
        result = Promise.reject(err)
      }
      result.then(
        (value) => {
          if (over) return
          end()
          let written
          try {
            written = this._store(key, value, o, Math.max(0, Date.now() - started))
          } catch (err) {
            if (token !== null) this._release(key, token)
            if (!answered) {
              answered = true
              reject(err)
            }
            return
          }
          if (token !== null) written.then(() => this._release(key, token))
          if (!answered) {
            answered = true
            resolve(value)
          }
        },
        (err) => {
          if (over) return
          end()
          this._stats.factoryErrors++
          if (token !== null) this._release(key, token)
          if (stale !== undefined) {
            // (An early refresh's value is still fresh: nothing to back off from.)
            if (stale.expiresAt <= Date.now()) this._backoff(key, stale)
            answerStale(err)
          } else if (!answered) {
            answered = true
            reject(err)
          }
        },
      )
    })
  }

  /** After a failed refresh, L1 serves the stale value for graceBackoff before trying again. */
  _backoff(key, stale) {
    if (this._l1 === null || this._graceBackoff === 0) return
    const e = new Entry(stale.value, stale.bytes, Math.min(Date.now() + this._graceBackoff, stale.staleUntil), stale.staleUntil, stale.delta, stale.tags)
    e.graced = true
    this._l1.set(key, e)
  }

  /** XFetch: a hit close to expiry refreshes in the background, the hit answering meanwhile. */
  _refreshEarly(key, factory, o, e) {
    if (this._flights.has(key)) return
    const flight = new Flight()
    this._flights.set(key, flight)
    flight.promise = this._compute(key, factory, { ...o, lock: null }, e, null, flight)
    flight.promise.catch((err) => this._error(err))
  }

  _onBusMessage(msg) {
    const keys = Array.isArray(msg.k) ? msg.k : []
    const l1 = this._l1
    switch (msg.o) {
      case 'set':
        if (l1 !== null) for (const key of keys) l1.expire(key)
        break
      case 'del':
        if (l1 !== null) for (const key of keys) l1.delete(key)
        break
      case 'tag':
        if (l1 !== null) {
          if (typeof msg.t === 'string') l1.deleteTagged(msg.t)
          for (const key of keys) l1.delete(key)
        }
        break
      case 'clear':
        if (l1 !== null) l1.clear()
        this._lock.wakeAll()
        return
      case 'unlock':
        break
      default:
        return
    }
    for (const key of keys) this._lock.wake(key)
  }

  /** Messages may have been missed: nothing in L1 can be trusted any more. */
  _resync() {
    if (this._l1 !== null) this._l1.clear()
    this._lock.wakeAll()
  }
}

/** A fill in flight: what concurrent wraps of the key join, and how it ended (HIT, MISS, STALE). */
class Flight {
  constructor() {
    this.promise = null
    this.status = 'MISS'
  }
}

module.exports = { Cache }
