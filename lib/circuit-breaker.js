'use strict'
// CircuitBreaker: opossum 8–10 compatible, with the state machine and statistics in Rust
// (core/src/breaker). This class does only what must be JavaScript: calling the action
// with the right `this`, promises, timers, events, fallback, cache and coalesce.
// Deviations from opossum are listed in docs/circuit-breaker.md.
const EventEmitter = require('node:events')
const { randomUUID } = require('node:crypto')
const Status = require('./breaker/status')
const Semaphore = require('./breaker/semaphore')
const MemoryCache = require('./breaker/cache')
const Deadlines = require('./breaker/deadlines')
const RedisBreakerStateStore = require('./breaker/redis-state-store')
const { observeBreaker } = require('./metrics')

const { FIELD_INDEX, FLUSHED, BATCH_FIRE, BATCH_COUNT, BATCH_SUCCESS, RECORD_FAILURE, checkNonNegative, checkWindowOptions } = Status.internals

// Native state codes (core/src/breaker/mod.rs `State`).
const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2
const SHUTDOWN = 3

const STATE = Symbol('state')
// Separate from STATE: a call in flight at shutdown may still open the circuit (opossum).
const SHUT_DOWN = Symbol('shut-down')
const GENERATION = Symbol('generation')
const FALLBACK_FUNCTION = Symbol('fallback')
const STATUS = Symbol('status')
const NAME = Symbol('name')
const OBSERVED = Symbol('observed')
const GROUP = Symbol('group')
const ENABLED = Symbol('Enabled')
const WARMING_UP = Symbol('warming-up')
const VOLUME_THRESHOLD = Symbol('volume-threshold')
const OUR_ERROR = Symbol('our-error')
const RESET_TIMEOUT = Symbol('reset-timeout')
const WARMUP_TIMEOUT = Symbol('warmup-timeout')
const LAST_TIMER_AT = Symbol('last-timer-at')
const HEALTH_TIMERS = Symbol('health-check-timers')
const ENTER_HALF_OPEN = Symbol('enter-half-open')
const CLOSED_BY_CORE = Symbol('closed-by-core')
const DEADLINES = Symbol('deadlines')
const OPEN_CIRCUIT = Symbol('open-circuit')
const OPEN_AFTER_SHUTDOWN = Symbol('open-after-shutdown')
const STORE = Symbol('state-store')
const STORE_ID = Symbol('state-store-id')
const STORE_SEQ = Symbol('state-store-seq')
const UNSUBSCRIBE = Symbol('state-store-unsubscribe')
const PUBLISH = Symbol('publish')
const APPLY_REMOTE = Symbol('apply-remote')
const ATTACH_STORE = Symbol('attach-store')

const MAX_TIMER_MS = 2 ** 31 - 1 // Node turns larger delays into 1 ms.

/** Events opossum registers internal listeners for (opossum-prometheus reads them). */
const INTERNAL_EVENTS = [
  'success',
  'failure',
  'fallback',
  'timeout',
  'fire',
  'reject',
  'cacheHit',
  'cacheMiss',
  'coalesceCacheHit',
  'coalesceCacheMiss',
  'open',
  'close',
  'semaphoreLocked',
]

/** Shared default (opossum makes one per breaker); lets the failure path skip the call. */
const DEFAULT_ERROR_FILTER = (_) => false

const deprecation = 'options.maxFailures is deprecated. Please use options.errorThresholdPercentage'

function checkFunction(value, name) {
  if (value !== undefined && value !== null && typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${typeof value}`)
  }
}

function checkInteger(value, name, min, max) {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer between ${min} and ${max}, got ${value}`)
  }
}

const given = (v) => v !== undefined && v !== null

/** Rejects option values opossum would silently misuse (see docs: "Bad options"). */
function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const o = options
  // opossum treats any falsy timeout as "no timeout"; keep that, refuse the rest.
  if (o.timeout !== undefined && o.timeout !== null && o.timeout !== false && o.timeout !== 0) {
    checkNonNegative(o.timeout, 'options.timeout', MAX_TIMER_MS)
  }
  if (given(o.resetTimeout)) checkNonNegative(o.resetTimeout, 'options.resetTimeout', MAX_TIMER_MS)
  if (given(o.errorThresholdPercentage)) checkNonNegative(o.errorThresholdPercentage, 'options.errorThresholdPercentage')
  checkWindowOptions(o)
  if (Number.isInteger(o.capacity) && o.capacity < 0) throw new RangeError(`options.capacity must be >= 0, got ${o.capacity}`)
  if (Number.isInteger(o.volumeThreshold) && o.volumeThreshold < 0) {
    throw new RangeError(`options.volumeThreshold must be >= 0, got ${o.volumeThreshold}`)
  }
  checkFunction(o.errorFilter, 'options.errorFilter')
  checkFunction(o.cacheGetKey, 'options.cacheGetKey')
  if (given(o.cacheTTL)) checkNonNegative(o.cacheTTL, 'options.cacheTTL')
  if (given(o.coalesceTTL) && o.coalesceTTL !== false && typeof o.coalesceTTL !== 'number') {
    throw new TypeError(`options.coalesceTTL must be a number, got ${typeof o.coalesceTTL}`)
  }
  if (given(o.cacheSize)) checkInteger(o.cacheSize, 'options.cacheSize', 1, 2 ** 24 - 1)
  if (given(o.coalesceSize)) checkInteger(o.coalesceSize, 'options.coalesceSize', 1, 2 ** 24 - 1)
  if (given(o.coalesceResetOn) && !Array.isArray(o.coalesceResetOn)) {
    throw new TypeError('options.coalesceResetOn must be an array')
  }
  if (given(o.halfOpenTrials)) checkInteger(o.halfOpenTrials, 'options.halfOpenTrials', 1, 2 ** 32 - 1)
  if (given(o.halfOpenSuccessThreshold)) {
    checkInteger(o.halfOpenSuccessThreshold, 'options.halfOpenSuccessThreshold', 1, o.halfOpenTrials ?? 1)
  }
  if (given(o.windowType) && o.windowType !== 'time' && o.windowType !== 'count') {
    throw new TypeError(`options.windowType must be 'time' or 'count', got ${String(o.windowType)}`)
  }
  if (given(o.windowSize)) checkInteger(o.windowSize, 'options.windowSize', 1, 10_000_000)
  if (given(o.stateStore)) checkStateStore(o.stateStore)
}

/** A BreakerStateStore needs load, publish and subscribe (docs: "Sharing state across processes"). */
function checkStateStore(store) {
  if (typeof store !== 'object') {
    throw new TypeError(`options.stateStore must be an object with load, publish and subscribe methods, got ${typeof store}`)
  }
  for (const method of ['load', 'publish', 'subscribe']) {
    if (typeof store[method] !== 'function') {
      throw new TypeError(`options.stateStore.${method} must be a function, got ${typeof store[method]}`)
    }
  }
  if (store.onError !== undefined && typeof store.onError !== 'function') {
    throw new TypeError(`options.stateStore.onError must be a function, got ${typeof store.onError}`)
  }
}

/** Hands a store failure to `store.onError`; a store without one loses it (the breaker stays local). */
function reportStoreError(store, err) {
  if (typeof store.onError !== 'function') return
  try {
    store.onError(err)
  } catch {
    // An error handler that throws must not break the breaker.
  }
}

/** Whether a value from a store is a well-formed StoredTransition. */
function isTransition(t) {
  return (
    t !== null &&
    typeof t === 'object' &&
    (t.state === 'open' || t.state === 'closed') &&
    Number.isFinite(t.at) &&
    typeof t.by === 'string' &&
    Number.isFinite(t.seq)
  )
}

class CircuitBreaker extends EventEmitter {
  /** True for errors this library created (EOPENBREAKER, ETIMEDOUT, ESEMLOCKED, ESHUTDOWN). */
  static isOurError(error) {
    return !!error[OUR_ERROR]
  }

  /** A standalone Status (rolling statistics) to pass as `options.status`. */
  static newStatus(options) {
    return new Status(options)
  }

  constructor(action, options = {}) {
    super()
    checkOptions(options)
    // Defaults are written into the caller's object, as opossum does (consumers read them).
    this.options = options
    this.options.timeout = options.timeout ?? 10000
    this.options.resetTimeout = options.resetTimeout ?? 30000
    this.options.errorThresholdPercentage = options.errorThresholdPercentage ?? 50
    this.options.rollingCountTimeout = options.rollingCountTimeout ?? 10000
    this.options.rollingCountBuckets = options.rollingCountBuckets ?? 10
    this.options.rollingPercentilesEnabled = options.rollingPercentilesEnabled !== false
    this.options.capacity = Number.isInteger(options.capacity) ? options.capacity : Number.MAX_SAFE_INTEGER
    this.options.errorFilter = options.errorFilter || DEFAULT_ERROR_FILTER
    this.options.cacheTTL = options.cacheTTL ?? 0
    this.options.cacheGetKey = options.cacheGetKey ?? ((...args) => JSON.stringify(args))
    this.options.enableSnapshots = options.enableSnapshots !== false
    this.options.rotateBucketController = options.rotateBucketController
    this.options.coalesce = !!options.coalesce
    this.options.coalesceTTL = options.coalesceTTL ?? this.options.timeout
    this.options.coalesceResetOn =
      options.coalesceResetOn?.filter((o) => ['error', 'success', 'timeout'].includes(o)) || []

    if (this.options.cache) {
      if (this.options.cacheTransport === undefined) {
        this.options.cacheTransport = new MemoryCache(options.cacheSize)
      } else if (
        typeof this.options.cacheTransport !== 'object' ||
        !this.options.cacheTransport ||
        !this.options.cacheTransport.get ||
        !this.options.cacheTransport.set ||
        !this.options.cacheTransport.flush
      ) {
        throw new TypeError('options.cacheTransport should be an object with `get`, `set` and `flush` methods')
      }
    }
    if (this.options.coalesce) this.options.coalesceCache = new MemoryCache(options.coalesceSize)

    this.semaphore = Semaphore(this.options.capacity)

    if (!action) {
      throw new TypeError('No action provided. Cannot construct a CircuitBreaker without an invocable action.')
    }
    if (options.autoRenewAbortController && !options.abortController) {
      options.abortController = new AbortController()
    }
    if (options.abortController && typeof options.abortController.abort !== 'function') {
      throw new TypeError('AbortController does not contain `abort()` method')
    }

    this[VOLUME_THRESHOLD] = Number.isInteger(options.volumeThreshold) ? options.volumeThreshold : 0
    this[WARMING_UP] = options.allowWarmUp === true

    if (this.options.status) {
      this[STATUS] =
        this.options.status instanceof Status ? this.options.status : new Status({ stats: this.options.status })
    } else {
      this[STATUS] = new Status(this.options)
    }
    const trials = options.halfOpenTrials ?? 1
    this[STATUS][FLUSHED]().configure(
      this.options.errorThresholdPercentage,
      this[VOLUME_THRESHOLD],
      trials,
      options.halfOpenSuccessThreshold ?? 1,
      options.windowType === 'count' ? (options.windowSize ?? 100) : 0,
    )

    this[STATE] = CLOSED
    this[SHUT_DOWN] = false
    this[GENERATION] = 0
    this[RESET_TIMEOUT] = undefined
    this[WARMUP_TIMEOUT] = undefined
    this[HEALTH_TIMERS] = undefined
    this[DEADLINES] = undefined
    this[STORE] = undefined
    this[UNSUBSCRIBE] = undefined
    let closed = true
    let halfOpen = false
    let shutdown = false
    if (options.state) {
      this[ENABLED] = options.state.enabled !== false
      this[WARMING_UP] = options.state.warmUp || this[WARMING_UP]
      closed = options.state.closed !== false
      halfOpen = options.state.halfOpen || false
      shutdown = options.state.shutdown || false
    } else {
      this[ENABLED] = options.enabled !== false
    }
    this[FALLBACK_FUNCTION] = null
    this[NAME] = options.name || action.name || randomUUID()
    this[OBSERVED] = observeBreaker(this)
    this[GROUP] = options.group || this[NAME]

    if (this[WARMING_UP]) {
      this[STATUS][FLUSHED]().setWarmUp(true)
      this[WARMUP_TIMEOUT] = setTimeout(() => {
        this[WARMING_UP] = false
        this[STATUS][FLUSHED]().setWarmUp(false)
      }, this.options.rollingCountTimeout)
      if (typeof this[WARMUP_TIMEOUT].unref === 'function') this[WARMUP_TIMEOUT].unref()
    }

    this.action = typeof action !== 'function' ? (_) => Promise.resolve(action) : action

    if (options.maxFailures) console.error(deprecation)

    // Set at construction (so toJSON always has it) and again each time the circuit
    // opens (opossum only sets it here, so an old breaker re-imported while open goes
    // half-open at once).
    this[LAST_TIMER_AT] = Date.now()

    if (shutdown) {
      this.shutdown()
    } else if (!closed && !halfOpen) {
      if (options.state.lastTimerAt !== undefined && Date.now() - options.state.lastTimerAt > this.options.resetTimeout) {
        this[ENTER_HALF_OPEN]()
      } else {
        this.open()
      }
    } else if (!closed && halfOpen) {
      this[ENTER_HALF_OPEN]()
    }
    // Attached after an imported `state` is applied: an import is not a new transition.
    if (options.stateStore && !this[SHUT_DOWN]) this[ATTACH_STORE](options.stateStore)
  }

  /** Subscribes to peers' transitions, then loads the last stored one (so none is missed). */
  [ATTACH_STORE](store) {
    this[STORE] = store
    // Per instance, not per process: two breakers of one name in one process are peers too.
    this[STORE_ID] = `${process.pid}:${randomUUID()}`
    this[STORE_SEQ] = -Infinity
    const name = this[NAME]
    try {
      const unsubscribe = store.subscribe(name, (t) => this[APPLY_REMOTE](t, false))
      if (typeof unsubscribe !== 'function') {
        throw new TypeError(`stateStore.subscribe must return an unsubscribe function, got ${typeof unsubscribe}`)
      }
      this[UNSUBSCRIBE] = unsubscribe
    } catch (err) {
      reportStoreError(store, err)
    }
    new Promise((resolve) => resolve(store.load(name)))
      .then((t) => {
        if (t !== null && t !== undefined) this[APPLY_REMOTE](t, true)
      })
      .catch((err) => reportStoreError(store, err))
  }

  /**
   * Applies a peer's transition (docs: consistency model): last writer wins by seq, own
   * echoes are ignored, `open` propagates (timer from the peer's `at`), `closed` only
   * shortens the wait of an open or half-open breaker. A loaded transition is applied
   * only when it is an open one.
   */
  [APPLY_REMOTE](t, loaded) {
    const store = this[STORE]
    if (store === undefined || this[SHUT_DOWN]) return
    if (!isTransition(t)) {
      const err = new TypeError('stateStore delivered a malformed transition (see err.transition)')
      err.transition = t
      reportStoreError(store, err)
      return
    }
    if (t.by === this[STORE_ID] || t.seq <= this[STORE_SEQ]) return
    this[STORE_SEQ] = t.seq
    const now = Date.now()
    // A transition from a peer clock ahead of ours counts as happening now.
    const at = Math.min(t.at, now)
    if (t.state === 'open') {
      if (this[STATE] === OPEN || now - at >= this.options.resetTimeout) return
      this.emit('remoteTransition', t)
      this[OPEN_CIRCUIT](now, at, false)
    } else {
      if (loaded || this[STATE] === CLOSED) return
      this.emit('remoteTransition', t)
      if (!this[SHUT_DOWN] && this[STATUS][FLUSHED]().close(now)) this[CLOSED_BY_CORE](false)
    }
  }

  /** Announces a local transition; never awaited, failures go to the store's onError. */
  [PUBLISH](state, at) {
    const store = this[STORE]
    if (store === undefined) return
    new Promise((resolve) => resolve(store.publish(this[NAME], { state, at, by: this[STORE_ID] }, this.options.resetTimeout)))
      .then((seq) => {
        // Our own seq: anything older that arrives later is stale.
        if (typeof seq === 'number' && seq > this[STORE_SEQ]) this[STORE_SEQ] = seq
      })
      .catch((err) => reportStoreError(store, err))
  }

  _renewAbortControllerIfNeeded() {
    if (
      this.options.autoRenewAbortController &&
      this.options.abortController &&
      this.options.abortController.signal.aborted
    ) {
      this.options.abortController = new AbortController()
    }
  }

  /** Closes the circuit (no-op when closed or shut down). */
  close() {
    if (this[STATE] === CLOSED || this[SHUT_DOWN]) return
    if (this[STATUS][FLUSHED]().close(Date.now())) this[CLOSED_BY_CORE]()
  }

  /** JS side of a transition to closed that the core already made (`local`: publish it). */
  [CLOSED_BY_CORE](local = true) {
    if (this[RESET_TIMEOUT] !== undefined) {
      clearTimeout(this[RESET_TIMEOUT])
      this[RESET_TIMEOUT] = undefined
    }
    this[STATE] = CLOSED
    this[GENERATION]++
    this._renewAbortControllerIfNeeded()
    if (local) this[PUBLISH]('closed', Date.now())
    this.emit('close')
  }

  /** Opens the circuit (no-op when open or shut down) and arms the reset timer. */
  open() {
    if (this[STATE] === OPEN || this[SHUT_DOWN]) return
    const now = Date.now()
    this[OPEN_CIRCUIT](now, now, true)
  }

  /** Opens as of `at` (a peer's open may be older than now); `local` transitions are published. */
  [OPEN_CIRCUIT](now, at, local) {
    if (!this[STATUS][FLUSHED]().open(now)) return
    this[STATE] = OPEN
    this[GENERATION]++
    this[LAST_TIMER_AT] = at
    const timer = setTimeout(() => this[ENTER_HALF_OPEN](), Math.max(0, at + this.options.resetTimeout - now))
    this[RESET_TIMEOUT] = timer
    if (typeof timer.unref === 'function') timer.unref()
    if (local) this[PUBLISH]('open', at)
    this.emit('open')
  }

  /**
   * A call in flight at shutdown failed and tripped the circuit: it reports `opened`, as in
   * opossum, but stays shut down (no reset timer, fire() still rejects ESHUTDOWN).
   */
  [OPEN_AFTER_SHUTDOWN](now) {
    if (!this[STATUS][FLUSHED]().open(now)) return
    this[STATE] = OPEN
    this[GENERATION]++
    this.emit('open')
  }

  [ENTER_HALF_OPEN]() {
    this[RESET_TIMEOUT] = undefined
    if (!this[STATUS][FLUSHED]().halfOpen()) return
    this[STATE] = HALF_OPEN
    this[GENERATION]++
    this._renewAbortControllerIfNeeded()
    this.emit('halfOpen', this.options.resetTimeout)
  }

  /**
   * Emits `shutdown`, disables the breaker, removes all listeners, stops every timer
   * (reset, warm-up, health checks, snapshots) and flushes the caches. Later calls
   * reject with ESHUTDOWN.
   */
  shutdown() {
    this.emit('shutdown')
    this.disable()
    this.removeAllListeners()
    if (this[UNSUBSCRIBE] !== undefined) {
      const unsubscribe = this[UNSUBSCRIBE]
      this[UNSUBSCRIBE] = undefined
      try {
        unsubscribe()
      } catch (err) {
        reportStoreError(this[STORE], err)
      }
    }
    this[STORE] = undefined
    if (this[RESET_TIMEOUT] !== undefined) clearTimeout(this[RESET_TIMEOUT])
    if (this[WARMUP_TIMEOUT] !== undefined) clearTimeout(this[WARMUP_TIMEOUT])
    // In-flight calls still time out; the shared timer goes once they have settled.
    this[DEADLINES]?.close()
    if (this[HEALTH_TIMERS] !== undefined) {
      for (const timer of this[HEALTH_TIMERS]) clearInterval(timer)
      this[HEALTH_TIMERS].clear()
    }
    this.status.shutdown()
    this[STATUS][FLUSHED]().shutdown()
    this[STATE] = SHUTDOWN
    this[SHUT_DOWN] = true
    this[GENERATION]++
    this.clearCache()
  }

  get isShutdown() {
    return this[SHUT_DOWN]
  }

  get name() {
    return this[NAME]
  }

  get group() {
    return this[GROUP]
  }

  get pendingClose() {
    return this[STATE] === HALF_OPEN && this[STATUS][FLUSHED]().pendingClose()
  }

  get closed() {
    return this[STATE] === CLOSED
  }

  get opened() {
    return this[STATE] === OPEN
  }

  get halfOpen() {
    return this[STATE] === HALF_OPEN
  }

  get status() {
    return this[STATUS]
  }

  get stats() {
    return this[STATUS].stats
  }

  toJSON() {
    return {
      state: {
        name: this.name,
        enabled: this.enabled,
        closed: this.closed,
        open: this.opened,
        halfOpen: this.halfOpen,
        warmUp: this.warmUp,
        shutdown: this.isShutdown,
        lastTimerAt: this[LAST_TIMER_AT],
      },
      status: this.status.stats,
    }
  }

  get enabled() {
    return this[ENABLED]
  }

  get warmUp() {
    return this[WARMING_UP]
  }

  get volumeThreshold() {
    return this[VOLUME_THRESHOLD]
  }

  /** Every event also counts in the metrics (lib/metrics.js), without a listener. */
  emit(event) {
    this[OBSERVED]?.event(event, arguments[2])
    return super.emit.apply(this, arguments)
  }

  /**
   * opossum registers 13 internal listeners and plug-ins such as opossum-prometheus
   * discover events through eventNames(). bulwark counts without listeners, so it
   * reports those names itself (until shutdown, when opossum's list is empty too).
   */
  eventNames() {
    const own = super.eventNames()
    if (this[SHUT_DOWN]) return own
    const names = INTERNAL_EVENTS.slice()
    for (const name of own) if (!names.includes(name)) names.push(name)
    return names
  }

  /** Sets the fallback: a function `(...args, err)` or another breaker fired with those. */
  fallback(func) {
    let fb = func
    if (func instanceof CircuitBreaker) fb = (...args) => func.fire(...args)
    else if (typeof func !== 'function') throw new TypeError('fallback must be a function or a CircuitBreaker')
    this[FALLBACK_FUNCTION] = fb
    return this
  }

  /** Calls the action with `this` = the action and the given arguments. */
  fire(...args) {
    return this.call(this.action, ...args)
  }

  /** Calls the action with `this` = `context`. */
  call(context, ...args) {
    if (this[SHUT_DOWN]) {
      return Promise.reject(buildError('The circuit has been shutdown.', 'ESHUTDOWN'))
    }
    const status = this[STATUS]
    // One clock read serves the fire count and the latency start (opossum reads the
    // clock again a few statements later; the difference is far below 1 ms).
    const start = Date.now()
    status[BATCH_FIRE](start)
    this.emit('fire', args)

    // Protection, caches and coalesce disabled.
    if (!this[ENABLED]) {
      const result = this.action.apply(context, args)
      return typeof result.then === 'function' ? result : Promise.resolve(result)
    }

    const options = this.options
    const cacheKey = options.cache || options.coalesce ? options.cacheGetKey.apply(this, args) : ''
    if (options.cache) {
      const cached = options.cacheTransport.get(cacheKey)
      if (cached) {
        status[BATCH_COUNT](FIELD_INDEX.cacheHits, start)
        this.emit('cacheHit')
        return cached
      }
      status[BATCH_COUNT](FIELD_INDEX.cacheMisses, start)
      this.emit('cacheMiss')
    }
    if (options.coalesce) {
      const cachedCall = options.coalesceCache.get(cacheKey)
      if (cachedCall) {
        status[BATCH_COUNT](FIELD_INDEX.coalesceCacheHits, start)
        this.emit('coalesceCacheHit')
        return cachedCall
      }
      status[BATCH_COUNT](FIELD_INDEX.coalesceCacheMisses, start)
      this.emit('coalesceCacheMiss')
    }

    // The gate: closed, or a free half-open trial slot (the core counts them).
    if (this[STATE] !== CLOSED && !(this[STATE] === HALF_OPEN && status[FLUSHED]().tryTrial())) {
      const error = buildError('Breaker is open', 'EOPENBREAKER')
      status[BATCH_COUNT](FIELD_INDEX.rejects, start)
      this.emit('reject', error)
      return fallback(this, error, args) || Promise.reject(error)
    }

    const call = run(this, context, args, cacheKey, start)
    if (options.coalesce) {
      options.coalesceCache.set(cacheKey, call, options.coalesceTTL > 0 ? Date.now() + options.coalesceTTL : 0)
    }
    return call
  }

  /** Flushes the cache transport and the coalesce cache. */
  clearCache() {
    if (this.options.cache) this.options.cacheTransport.flush()
    if (this.options.coalesceCache) this.options.coalesceCache.flush()
  }

  /**
   * Runs `func` (this = breaker) now and every `interval` ms (default 5000) until
   * shutdown; a rejection (or a throw) emits `healthCheckFailed` and opens the circuit.
   */
  healthCheck(func, interval) {
    interval = interval || 5000
    if (typeof func !== 'function') throw new TypeError('Health check function must be a function')
    if (isNaN(interval)) throw new TypeError('Health check interval must be a number')
    checkNonNegative(Number(interval), 'interval', MAX_TIMER_MS)
    if (this[SHUT_DOWN]) return
    const check = () => {
      if (this[SHUT_DOWN]) return
      new Promise((resolve) => resolve(func.apply(this))).catch((e) => {
        if (this[SHUT_DOWN]) return
        this.emit('healthCheckFailed', e)
        this.open()
      })
    }
    const timer = setInterval(check, interval)
    if (typeof timer.unref === 'function') timer.unref()
    if (this[HEALTH_TIMERS] === undefined) this[HEALTH_TIMERS] = new Set()
    this[HEALTH_TIMERS].add(timer)
    check()
  }

  enable() {
    this[ENABLED] = true
    this.status.startListeneningForRotateEvent()
  }

  disable() {
    this[ENABLED] = false
    this.status.removeRotateBucketControllerListener()
  }

  getSignal() {
    if (this.options.abortController && this.options.abortController.signal) {
      return this.options.abortController.signal
    }
    return undefined
  }

  getAbortController() {
    return this.options.abortController
  }
}

/** One admitted call: its arguments, cache key, start time and deadline. */
class Attempt {
  constructor(circuit, args, cacheKey, start) {
    this.circuit = circuit
    this.args = args
    this.cacheKey = cacheKey
    this.start = start
    this.timedOut = false
    // Set only when the call has a timeout (see Deadlines).
    this.deadline = undefined
    this.resolve = undefined
    this.reject = undefined
    this.prev = null
    this.next = null
  }

  /** Stops the call's timeout. */
  untime() {
    if (this.deadline !== undefined) this.circuit[DEADLINES].remove(this)
  }

  /** The success path; throws when a listener throws (the caller then fails the call). */
  succeed(value) {
    const circuit = this.circuit
    this.untime()
    const now = Date.now()
    const latency = now - this.start
    recordSuccess(circuit, latency, now)
    circuit.emit('success', value, latency)
    resetCoalesce(circuit, this.cacheKey, 'success')
    circuit.semaphore.release()
  }

  /** The failure path; returns the fallback's promise, or undefined to reject. */
  fail(error) {
    const circuit = this.circuit
    circuit.semaphore.release()
    this.untime()
    const now = Date.now()
    const fb = handleError(error, circuit, this.args, now - this.start, now)
    resetCoalesce(circuit, this.cacheKey, 'error')
    return fb
  }

  /** The deadline passed: ETIMEDOUT, then the failure path, then abort(). */
  expire() {
    this.timedOut = true
    const circuit = this.circuit
    const options = circuit.options
    const error = buildError(`Timed out after ${options.timeout}ms`, 'ETIMEDOUT')
    const now = Date.now()
    const latency = now - this.start
    circuit.semaphore.release()
    circuit[STATUS][FLUSHED]().increment(FIELD_INDEX.timeouts, latency, now)
    circuit.emit('timeout', error, latency, this.args)
    const fb = handleError(error, circuit, this.args, latency, now)
    if (fb) this.resolve(fb)
    else this.reject(error)
    resetCoalesce(circuit, this.cacheKey, 'timeout')
    if (options.abortController) options.abortController.abort()
  }
}

/**
 * The admitted call: semaphore, timeout, action, outcome, in opossum's order. Without a
 * timeout the returned promise is the action's promise chained once (no executor, no
 * timer: code that stubs setTimeout keeps working).
 */
function run(circuit, context, args, cacheKey, start) {
  const options = circuit.options
  if (!circuit.semaphore.test()) {
    const now = Date.now()
    const latency = now - start
    const err = buildError('Semaphore locked', 'ESEMLOCKED')
    circuit[STATUS][FLUSHED]().increment(FIELD_INDEX.semaphoreRejections, latency, now)
    circuit.emit('semaphoreLocked', err, latency)
    const fb = handleError(err, circuit, args, latency, now)
    resetCoalesce(circuit, cacheKey)
    return fb || Promise.reject(err)
  }
  const attempt = new Attempt(circuit, args, cacheKey, start)

  if (!options.timeout) {
    let promise
    try {
      const result = circuit.action.apply(context, args)
      promise = typeof result.then === 'function' ? result : Promise.resolve(result)
    } catch (error) {
      return attempt.fail(error) || Promise.reject(error)
    }
    // Chain on a native promise so fire() always returns one, even for foreign thenables.
    const chained = promise instanceof Promise ? promise : Promise.resolve(promise)
    return chained.then(
      (value) => {
        try {
          attempt.succeed(value)
        } catch (error) {
          const fb = attempt.fail(error)
          if (fb) return fb
          throw error
        }
        cacheResult(circuit, cacheKey, promise)
        return value
      },
      (error) => {
        const fb = attempt.fail(error)
        if (fb) return fb
        throw error
      },
    )
  }

  return new Promise((resolve, reject) => {
    attempt.resolve = resolve
    attempt.reject = reject
    attempt.deadline = start + options.timeout
    if (circuit[DEADLINES] === undefined) circuit[DEADLINES] = new Deadlines()
    circuit[DEADLINES].add(attempt, start)
    let promise
    try {
      const result = circuit.action.apply(context, args)
      promise = typeof result.then === 'function' ? result : Promise.resolve(result)
    } catch (error) {
      const fb = attempt.fail(error)
      if (fb) resolve(fb)
      else reject(error)
      return
    }
    promise.then(
      (value) => {
        if (attempt.timedOut) return
        try {
          attempt.succeed(value)
        } catch (error) {
          const fb = attempt.fail(error)
          if (fb) resolve(fb)
          else reject(error)
          return
        }
        resolve(value)
        cacheResult(circuit, cacheKey, promise)
      },
      (error) => {
        if (attempt.timedOut) return
        const fb = attempt.fail(error)
        if (fb) resolve(fb)
        else reject(error)
      },
    )
  })
}

/** Stores the action's promise in the cache after a success. */
function cacheResult(circuit, cacheKey, promise) {
  const options = circuit.options
  if (options.cache) {
    options.cacheTransport.set(cacheKey, promise, options.cacheTTL > 0 ? Date.now() + options.cacheTTL : 0)
  }
}

/** Counts a success; while closed it is only batched (no native call). */
function recordSuccess(circuit, latency, now) {
  const status = circuit[STATUS]
  if (circuit[STATE] === CLOSED) {
    status[BATCH_SUCCESS](now, latency)
  } else if (status[FLUSHED]().success(latency, now) === 1) {
    circuit[CLOSED_BY_CORE]()
  }
}

/** Filtered errors count as successes; others fail and run the fallback (returned). */
function handleError(error, circuit, args, latency, now) {
  const errorFilter = circuit.options.errorFilter
  if (errorFilter !== DEFAULT_ERROR_FILTER && errorFilter(error, ...args)) {
    // A filtered error counts as a success (and can close a half-open circuit).
    recordSuccess(circuit, latency, now)
    circuit.emit('success', error, latency)
    return undefined
  }
  fail(circuit, error, args, latency, now)
  return fallback(circuit, error, args)
}

function fallback(circuit, err, args) {
  const fb = circuit[FALLBACK_FUNCTION]
  if (fb) {
    try {
      const result = fb.apply(fb, [...args, err])
      circuit[STATUS][BATCH_COUNT](FIELD_INDEX.fallbacks, Date.now())
      circuit.emit('fallback', result, err)
      if (result instanceof Promise) return result
      return Promise.resolve(result)
    } catch (e) {
      return Promise.reject(e)
    }
  }
}

function fail(circuit, err, args, latency, now) {
  const generation = circuit[GENERATION]
  let trip = circuit[STATUS][RECORD_FAILURE](latency, now)
  // Listeners see the state before the trip, as in opossum.
  circuit.emit('failure', err, latency, args)
  // A listener changed the state: decide again on what is true now.
  if (generation !== circuit[GENERATION]) trip = circuit[STATUS][FLUSHED]().shouldTrip()
  if (!trip) return
  if (circuit[SHUT_DOWN]) circuit[OPEN_AFTER_SHUTDOWN](now)
  else circuit.open()
}

function resetCoalesce(circuit, cacheKey, event) {
  if (circuit.options.coalesceCache === undefined) return
  if (!event || circuit.options.coalesceResetOn.includes(event)) {
    circuit.options.coalesceCache?.delete(cacheKey)
  }
}

function buildError(msg, code) {
  const error = new Error(msg)
  error.code = code
  error[OUR_ERROR] = true
  return error
}

module.exports = CircuitBreaker
module.exports.CircuitBreaker = CircuitBreaker
module.exports.default = CircuitBreaker
module.exports.Status = Status
module.exports.MemoryCache = MemoryCache
module.exports.Semaphore = Semaphore
module.exports.RedisBreakerStateStore = RedisBreakerStateStore
