'use strict'
// express-session store, drop-in for connect-redis 7–10: the same keys (`prefix + sid`),
// values (the serializer's string) and expiry (EX seconds), so old and new app instances
// share sessions during a rollout. Fixes connect-redis's bulk methods (SCAN in batches,
// literal prefix, async parse in all()) and keeps users logged in through Redis outages
// with a bulwark client (see docs/sessions.md).
const EventEmitter = require('node:events')
const { throttledLog } = require('../throttled-log')
const { sessionClient, failsOver } = require('./client')
const { sessionTtl, checkTtlOption } = require('./ttl')
const { LocalCopies } = require('./local-copies')
const registry = require('../registry')

/** express-session's Store (regenerate, load, createSession) when it is installed. */
function storeBase() {
  try {
    return require('express-session').Store
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err
    return EventEmitter
  }
}

const logCorrupt = throttledLog('[bulwark] session store: a stored session could not be parsed and was treated as missing:')

/** Escapes SCAN MATCH's glob characters so the prefix matches literally. */
function literalPattern(prefix) {
  return prefix.replace(/[*?[\]\\]/g, '\\$&')
}

function describe(value) {
  return value === null ? 'null' : typeof value
}

/** The sid, or a TypeError naming it. */
function checkSid(sid) {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new TypeError(`sid must be a non-empty string, got ${typeof sid === 'string' ? 'an empty string' : describe(sid)}`)
  }
  return sid
}

function checkSession(sess) {
  if (sess === null || typeof sess !== 'object') throw new TypeError(`session must be an object, got ${describe(sess)}`)
}

function checkPositiveInteger(value, name) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer, got ${typeof value === 'number' ? value : describe(value)}`)
  }
  return value
}

const toNull = () => null

/** The promise `fn` returns, or its synchronous throw (bad input) as a rejection. */
function attempt(fn) {
  try {
    return fn()
  } catch (err) {
    return Promise.reject(err)
  }
}

/** Callback form when a callback is given (nothing returned), else the promise. */
function finish(promise, cb) {
  if (typeof cb !== 'function') return promise
  promise.then((value) => cb(null, value), cb)
  return undefined
}

class RedisStore extends storeBase() {
  /**
   * @param {object} options `client` (bulwark Redis, ioredis or node-redis client), `prefix`
   *   ('sess:'), `scanCount` (100), `serializer` (JSON), `ttl` (86400 or a function),
   *   `disableTTL`, `disableTouch`, `rollingTouch`, `localCopies` (10000).
   */
  constructor(options) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object with a client, got ${describe(options)}`)
    this._redis = sessionClient(options.client)
    /** The client as given, as connect-redis exposes it. */
    this.client = options.client
    if (options.prefix != null && typeof options.prefix !== 'string') throw new TypeError(`prefix must be a string, got ${describe(options.prefix)}`)
    this.prefix = options.prefix == null ? 'sess:' : options.prefix
    this.scanCount = options.scanCount ? checkPositiveInteger(options.scanCount, 'scanCount') : 100
    const serializer = options.serializer || JSON
    if (typeof serializer.parse !== 'function' || typeof serializer.stringify !== 'function') {
      throw new TypeError('serializer must have parse() and stringify() functions')
    }
    this.serializer = serializer
    this.ttl = checkTtlOption(options.ttl)
    this.disableTTL = Boolean(options.disableTTL)
    this.disableTouch = Boolean(options.disableTouch)
    this.rollingTouch = Boolean(options.rollingTouch)
    const copies = options.localCopies === undefined ? 10_000 : options.localCopies
    if (copies !== 0) checkPositiveInteger(copies, 'localCopies')
    this._local = copies > 0 && failsOver(options.client) ? new LocalCopies(copies) : null
    this._observed = registry.add('session', this, options.name ?? (this.prefix || 'sessions'))
  }

  /** The session's TTL in seconds by connect-redis's rule (≤ 0: already expired). */
  getTTL(sess) {
    return sessionTtl(this.ttl, sess)
  }

  /** connect-redis 7's name of getTTL. */
  _getTTL(sess) {
    return sessionTtl(this.ttl, sess)
  }

  get(sid, cb) {
    this._observed.count('read')
    return finish(attempt(() => this._redis.get(this.prefix + checkSid(sid)).then((data) => this._received(sid, data))), cb)
  }

  set(sid, sess, cb) {
    this._observed.count('written')
    return finish(attempt(() => this._set(sid, sess)), cb)
  }

  touch(sid, sess, cb) {
    this._observed.count('touched')
    return finish(attempt(() => this._touch(sid, sess)), cb)
  }

  destroy(sid, cb) {
    this._observed.count('destroyed')
    return finish(this._destroy(sid), cb)
  }

  clear(cb) {
    return finish(this._clear(), cb)
  }

  length(cb) {
    return finish(this._keys().then((keys) => keys.size), cb)
  }

  ids(cb) {
    return finish(this._keys().then((keys) => [...keys]), cb)
  }

  all(cb) {
    return finish(this._all(), cb)
  }

  /** A GET's reply: the session, null, or (async parse, a restore) a promise of either. */
  _received(sid, data) {
    const local = this._local
    if (local !== null) {
      if (data) local.remember(sid, data)
      else if (this.client.backend === 'memory') return this._restore(sid)
      else local.forget(sid)
    }
    return data ? this._parse(sid, data) : null
  }

  /**
   * During an outage: a session the memory engine does not have (it was on Redis) comes
   * back from the local copy, written into memory with what is left of its TTL so that
   * touches and logouts apply to it and recovery replays it to Redis.
   */
  async _restore(sid) {
    const copy = this._local.recall(sid)
    if (copy === undefined) return null
    const sess = await this._parse(sid, copy)
    const ttl = sess === null ? 0 : this.disableTTL ? undefined : sessionTtl(this.ttl, sess)
    if (ttl !== undefined && !(ttl > 0)) {
      this._local.forget(sid)
      return null
    }
    await this._redis.set(this.prefix + sid, copy, ttl)
    return sess
  }

  /** The parsed session, or null (reported) when it does not parse; a promise if parse is async. */
  _parse(sid, data) {
    let sess
    try {
      sess = this.serializer.parse(data)
    } catch (err) {
      return this._corrupt(sid, err)
    }
    if (sess !== null && typeof sess === 'object' && typeof sess.then === 'function') {
      return Promise.resolve(sess).then(
        (parsed) => this._checkParsed(sid, parsed),
        (err) => this._corrupt(sid, err),
      )
    }
    return this._checkParsed(sid, sess)
  }

  _checkParsed(sid, sess) {
    if (sess !== null && typeof sess === 'object') return sess
    return this._corrupt(sid, new TypeError(`serializer.parse returned ${describe(sess)}, not a session object`))
  }

  /** A stored value that does not parse: reported, and read as no session (null). */
  _corrupt(sid, cause) {
    const err = new Error(`a stored session could not be parsed (${cause?.message ?? cause}); it is treated as missing`, { cause })
    err.code = 'ERR_BULWARK_SESSION_CORRUPT'
    err.sid = sid
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else logCorrupt(err)
    return null
  }

  _serialize(sess) {
    let value
    try {
      value = this.serializer.stringify(sess)
    } catch (err) {
      throw new TypeError(`session could not be serialized: ${err?.message ?? err}`, { cause: err })
    }
    if (typeof value !== 'string') throw new TypeError(`serializer.stringify must return a string, got ${describe(value)}`)
    return value
  }

  /** Throws on bad input; else the promise of the write. */
  _set(sid, sess) {
    checkSid(sid)
    checkSession(sess)
    const ttl = sessionTtl(this.ttl, sess)
    if (!(ttl > 0)) return this._destroy(sid)
    const value = this._serialize(sess)
    const written = this._redis.set(this.prefix + sid, value, this.disableTTL ? undefined : ttl)
    if (this._local === null) return written.then(toNull)
    return written.then(() => {
      this._local.remember(sid, value)
      return null
    })
  }

  /** Throws on bad input; else the promise of the EXPIRE (or, with rollingTouch, the rewrite). */
  _touch(sid, sess) {
    checkSid(sid)
    if (this.disableTouch || this.disableTTL) return Promise.resolve(null)
    checkSession(sess)
    const ttl = sessionTtl(this.ttl, sess)
    if (!this.rollingTouch) return this._redis.expire(this.prefix + sid, ttl).then(toNull)
    if (!(ttl > 0)) return this._destroy(sid)
    // The stored cookie gets the new `expires` too (connect-redis leaves it drifting).
    const value = this._serialize(sess)
    return this._redis.replace(this.prefix + sid, value, ttl).then((written) => {
      if (written !== null && this._local !== null) this._local.remember(sid, value)
      return null
    })
  }

  async _destroy(sid) {
    checkSid(sid)
    const key = this.prefix + sid
    if (this._local !== null) this._local.forget(sid)
    const removed = await this._redis.del(key)
    // During an outage the memory engine replays the deletion of keys it held, not of
    // keys it never saw: a session still only on Redis is marked (written, then deleted)
    // so that it is deleted on Redis after recovery too.
    if (removed === 0 && this._local !== null && this.client.backend === 'memory') {
      await this._redis.set(key, '', undefined)
      await this._redis.del(key)
    }
    return null
  }

  /**
   * SCANs the prefix (glob characters escaped) and calls `onBatch(keys)` per batch without
   * waiting for it, so a batch's UNLINK/MGET travels with the next SCAN. Keys are as the
   * caller sends them (without the client's keyPrefix). Resolves with every batch's result.
   */
  async _scan(onBatch) {
    const redis = this._redis
    const match = `${literalPattern(redis.keyPrefix + this.prefix)}*`
    const strip = redis.keyPrefix.length
    const batches = []
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, match, this.scanCount)
      if (found.length > 0) {
        const batch = onBatch(strip === 0 ? found : found.map((key) => key.slice(strip)))
        batch.catch(() => {}) // rejections surface through Promise.all below
        batches.push(batch)
      }
      cursor = String(next)
    } while (cursor !== '0')
    return Promise.all(batches)
  }

  /** Every session id under the prefix, once each (SCAN may return a key twice). */
  async _keys() {
    const ids = new Set()
    const from = this.prefix.length
    await this._scan(async (keys) => {
      for (const key of keys) ids.add(key.slice(from))
    })
    return ids
  }

  async _clear() {
    if (this._local !== null) this._local.clear()
    await this._scan((keys) => this._redis.unlink(keys))
    return null
  }

  async _all() {
    const from = this.prefix.length
    const batches = await this._scan(async (keys) => {
      const values = await this._redis.mget(keys)
      const found = []
      for (let i = 0; i < keys.length; i++) {
        if (!values[i]) continue
        const id = keys[i].slice(from)
        const sess = await this._parse(id, values[i])
        if (sess === null) continue
        sess.id = id
        found.push(sess)
      }
      return found
    })
    const byId = new Map()
    for (const batch of batches) for (const sess of batch) byId.set(sess.id, sess)
    return [...byId.values()]
  }
}

module.exports = { RedisStore }
