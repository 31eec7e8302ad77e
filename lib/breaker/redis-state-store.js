'use strict'
// A BreakerStateStore on bulwark's Redis client: lets circuit breakers with the same name
// in several processes share their open/closed transitions (docs/circuit-breaker.md,
// "Sharing state across processes").
//
// Keys (for breaker name N and prefix P, default 'bulwark:breaker:'):
//   P N        the last transition as JSON, SET … PX resetTimeout*2 (read by load())
//   P N :seq   the per-name counter (INCR); never expires, so seq only grows
//   channel P N  every transition is PUBLISHed there for live peers
// INCR, SET and PUBLISH run in one Lua script so the stored value and the message always
// carry the seq they were given (two writers cannot store an older seq over a newer one).

const { throttledLog } = require('../throttled-log')

const DEFAULT_PREFIX = 'bulwark:breaker:'
// Subscriptions that fail (Redis down when the breaker is built) are retried this often.
const RESUBSCRIBE_MS = 1000

const PUBLISH_SCRIPT = `
local seq = redis.call('INCR', KEYS[2])
local msg = '{"state":' .. cjson.encode(ARGV[1]) .. ',"at":' .. ARGV[2] .. ',"by":' .. cjson.encode(ARGV[3]) .. ',"seq":' .. seq .. '}'
redis.call('SET', KEYS[1], msg, 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[5], msg)
return seq`

const logStoreError = throttledLog('[bulwark] breaker state store error:')

/** Parses and checks one stored/published transition; throws on anything malformed. */
function parseTransition(text) {
  const t = JSON.parse(text)
  if (
    t === null ||
    typeof t !== 'object' ||
    (t.state !== 'open' && t.state !== 'closed') ||
    !Number.isFinite(t.at) ||
    typeof t.by !== 'string' ||
    !Number.isSafeInteger(t.seq)
  ) {
    throw new TypeError(`malformed breaker transition: ${String(text).slice(0, 200)}`)
  }
  return { state: t.state, at: t.at, by: t.by, seq: t.seq }
}

class RedisBreakerStateStore {
  /**
   * @param redis a bulwark `Redis` client (or any ioredis-compatible client with
   *   `eval`, `get`, `duplicate`); it stays yours: the store never closes it.
   * @param options `prefix` for keys and channels; `onError(err)` receives every store
   *   error (default: one console line at most every 10 s).
   */
  constructor(redis, options = {}) {
    if (
      redis === null ||
      typeof redis !== 'object' ||
      typeof redis.eval !== 'function' ||
      typeof redis.get !== 'function' ||
      typeof redis.duplicate !== 'function'
    ) {
      throw new TypeError('redis must be a Redis client (with eval, get and duplicate)')
    }
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const { prefix = DEFAULT_PREFIX, onError } = options
    if (typeof prefix !== 'string') throw new TypeError(`options.prefix must be a string, got ${typeof prefix}`)
    if (onError !== undefined && typeof onError !== 'function') {
      throw new TypeError(`options.onError must be a function, got ${typeof onError}`)
    }
    this.redis = redis
    this.prefix = prefix
    this._onError = onError
    // The subscriber connection (a duplicate of `redis`), created on the first subscribe
    // and disconnected when the last subscription goes.
    this._sub = null
    // channel -> Set of onTransition callbacks
    this._listeners = new Map()
    this._retryTimers = new Set()
    this._watchingParent = false
    // When your client ends (quit/disconnect), the subscriber goes with it: a breaker left
    // without shutdown() must not keep the process alive. It comes back if the client does.
    this._onParentEnd = () => this._drop()
    this._onParentReady = () => {
      for (const channel of this._listeners.keys()) this._subscribeChannel(channel)
    }
  }

  /** Reports a store error to `options.onError` (never throws). */
  onError(err) {
    if (this._onError !== undefined) {
      try {
        this._onError(err)
      } catch {
        // A throwing error handler must not break the breaker.
      }
      return
    }
    logStoreError(err)
  }

  /** The last transition stored for `name` (null when none or expired). */
  async load(name) {
    const text = await this.redis.get(this.prefix + name)
    return text === null || text === undefined ? null : parseTransition(text)
  }

  /**
   * Stores and publishes a transition; resolves with the seq Redis assigned.
   * @param t `{ state, at, by }` (`seq` is assigned here)
   * @param resetTimeout the breaker's resetTimeout; the stored value lives twice as long
   */
  async publish(name, t, resetTimeout) {
    if (t === null || typeof t !== 'object' || (t.state !== 'open' && t.state !== 'closed')) {
      throw new TypeError("t.state must be 'open' or 'closed'")
    }
    if (!Number.isFinite(t.at)) throw new TypeError(`t.at must be a finite number, got ${t.at}`)
    if (typeof t.by !== 'string') throw new TypeError(`t.by must be a string, got ${typeof t.by}`)
    const ttl = Math.max(1, Math.ceil(2 * (Number(resetTimeout) || 0)))
    const key = this.prefix + name
    const seq = await this.redis.eval(PUBLISH_SCRIPT, 2, key, `${key}:seq`, t.state, String(t.at), t.by, String(ttl), key)
    return Number(seq)
  }

  /** Calls `onTransition` for every transition published for `name`; returns the unsubscribe function. */
  subscribe(name, onTransition) {
    if (typeof onTransition !== 'function') throw new TypeError('onTransition must be a function')
    const channel = this.prefix + name
    let set = this._listeners.get(channel)
    if (set === undefined) {
      set = new Set()
      this._listeners.set(channel, set)
      this._subscribeChannel(channel)
    }
    // A wrapper per call, so the same callback subscribed twice unsubscribes once each.
    const entry = (t) => onTransition(t)
    set.add(entry)
    let done = false
    return () => {
      if (done) return
      done = true
      set.delete(entry)
      if (set.size > 0 || this._listeners.get(channel) !== set) return
      this._listeners.delete(channel)
      if (this._listeners.size === 0) {
        this._close()
      } else if (this._sub !== null) {
        this._sub.unsubscribe(channel).catch((err) => this.onError(err))
      }
    }
  }

  _subscriber() {
    if (this._sub === null) {
      // lazyConnect: the duplicate only ever opens its subscriber connection.
      const sub = this.redis.duplicate({ lazyConnect: true })
      sub.on('error', (err) => this.onError(err))
      sub.on('message', (channel, message) => this._dispatch(channel, message))
      this._sub = sub
      if (typeof this.redis.on === 'function' && !this._watchingParent) {
        this.redis.on('end', this._onParentEnd)
        this._watchingParent = true
      }
    }
    return this._sub
  }

  _subscribeChannel(channel) {
    const sub = this._subscriber()
    sub.subscribe(channel).catch((err) => {
      // Closed meanwhile, or nobody wants the channel any more: nothing to retry.
      if (this._sub !== sub || !this._listeners.has(channel)) return
      this.onError(err)
      this._scheduleRetry(channel)
    })
  }

  _scheduleRetry(channel) {
    const timer = setTimeout(() => {
      this._retryTimers.delete(timer)
      if (this._listeners.has(channel)) this._subscribeChannel(channel)
    }, RESUBSCRIBE_MS)
    // A retry never keeps the process alive on its own.
    timer.unref()
    this._retryTimers.add(timer)
  }

  _dispatch(channel, message) {
    const set = this._listeners.get(channel)
    if (set === undefined) return
    let t
    try {
      t = parseTransition(message)
    } catch (err) {
      this.onError(err)
      return
    }
    for (const listener of set) {
      try {
        listener(t)
      } catch (err) {
        this.onError(err)
      }
    }
  }

  /** Closes the subscriber and stops watching your client (no subscriptions left). */
  _close() {
    this._drop()
    if (this._watchingParent) {
      this.redis.removeListener('end', this._onParentEnd)
      this.redis.removeListener('ready', this._onParentReady)
      this._watchingParent = false
    }
  }

  /** Closes the subscriber but keeps the subscriptions, to renew them when your client is ready again. */
  _drop() {
    for (const timer of this._retryTimers) clearTimeout(timer)
    this._retryTimers.clear()
    const sub = this._sub
    this._sub = null
    // disconnect(), not quit(): with Redis down quit() would wait for owed replies.
    if (sub !== null) sub.disconnect()
    if (this._watchingParent && this._listeners.size > 0) {
      this.redis.removeListener('ready', this._onParentReady)
      this.redis.once('ready', this._onParentReady)
    }
  }
}

RedisBreakerStateStore.DEFAULT_PREFIX = DEFAULT_PREFIX

module.exports = RedisBreakerStateStore
module.exports.RedisBreakerStateStore = RedisBreakerStateStore
