'use strict'
// opossum's Status (rolling statistics), backed by the native window in
// core/src/breaker/window.rs. Counting is O(1) in Rust; `stats` sorts the samples only
// when read. While the breaker is closed, fires and successes are batched here and handed
// to Rust in one call per bucket (or per BATCH_SIZE calls), so the success path of
// fire() usually makes no native call at all.
const { EventEmitter } = require('node:events')
const native = require('../native')

/**
 * The native breaker of one Status, as an object with methods (the binding takes a
 * handle, see src/breaker.rs). Handles are freed when the Status is garbage-collected.
 */
class NativeCore {
  constructor(buckets, bucketMs, manualRotation, percentiles, now) {
    this.h = native.breakerCreate(buckets, bucketMs, manualRotation, percentiles, now)
  }
  configure(threshold, volume, trials, successes, windowSize) {
    native.breakerConfigure(this.h, threshold, volume, trials, successes, windowSize)
  }
  flush(counts, latencies, count, now) {
    native.breakerFlush(this.h, counts, latencies, count, now)
  }
  increment(field, latency, now) {
    native.breakerIncrement(this.h, field, latency, now)
  }
  success(latency, now) {
    return native.breakerSuccess(this.h, latency, now)
  }
  failure(latency, now, pendingFires, firesAt) {
    return native.breakerFailure(this.h, latency, now, pendingFires, firesAt)
  }
  shouldTrip() {
    return native.breakerShouldTrip(this.h)
  }
  tryTrial() {
    return native.breakerTryTrial(this.h)
  }
  pendingClose() {
    return native.breakerPendingClose(this.h)
  }
  open(now) {
    return native.breakerOpen(this.h, now)
  }
  close(now) {
    return native.breakerClose(this.h, now)
  }
  halfOpen() {
    return native.breakerHalfOpen(this.h)
  }
  shutdown() {
    native.breakerShutdown(this.h)
  }
  setWarmUp(on) {
    native.breakerSetWarmUp(this.h, on)
  }
  markOpen(open, now) {
    native.breakerMarkOpen(this.h, open, now)
  }
  rotate() {
    native.breakerRotate(this.h)
  }
  bucketCount() {
    return native.breakerBucketCount(this.h)
  }
  stats(now) {
    return native.breakerStats(this.h, now)
  }
  bucket(index, now) {
    return native.breakerBucket(this.h, index, now)
  }
  prime(counts, latencies) {
    native.breakerPrime(this.h, counts, latencies)
  }
}

const handles = new FinalizationRegistry((handle) => native.breakerDrop(handle))

/** Bucket fields in opossum's order (also the native field indices). */
const FIELDS = [
  'failures',
  'fallbacks',
  'successes',
  'rejects',
  'fires',
  'timeouts',
  'cacheHits',
  'cacheMisses',
  'coalesceCacheHits',
  'coalesceCacheMisses',
  'semaphoreRejections',
]
const FIELD_INDEX = Object.freeze(Object.fromEntries(FIELDS.map((f, i) => [f, i])))
const FIRES = FIELD_INDEX.fires
const PERCENTILES = [0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1]
// Successes per batch: small enough that an idle breaker stays small (allocated on first
// use), large enough that the flush call is amortised to a few ns per fire().
const BATCH_SIZE = 64
const NO_SAMPLES = new Float64Array(0)
const MAX_BUCKETS = 1_000_000

const CORE = Symbol('core')
const INTERVAL = Symbol('bucket-interval')
const ORIGIN = Symbol('origin')
const SNAPSHOT_TIMER = Symbol('snapshot-timer')
const IS_SHUTDOWN = Symbol('shutdown')
// Batch of the success and reject paths: pending counters (11, field order), success
// latencies, and the bucket bounds they all fall into.
const B_COUNTS = Symbol('batch-counts')
const B_PENDING = Symbol('batch-pending')
const B_ONLY_FIRES = Symbol('batch-only-fires')
const B_LAT = Symbol('batch-latencies')
const B_N = Symbol('batch-count')
const B_START = Symbol('batch-start')
const B_END = Symbol('batch-end')
const B_LAST = Symbol('batch-last')
/** Internal API for CircuitBreaker (symbols, so nothing new shows up on the object). */
const FLUSHED = Symbol('flushed-core')
const BATCH_FIRE = Symbol('batch-fire')
const BATCH_COUNT = Symbol('batch-count')
const BATCH_SUCCESS = Symbol('batch-success')
const RECORD_FAILURE = Symbol('record-failure')

/** Throws a RangeError/TypeError naming `name` unless `value` is a finite number >= 0. */
function checkNonNegative(value, name, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`)
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be a finite number between 0 and ${max}, got ${value}`)
  }
}

/** Validates the window options shared by Status and CircuitBreaker. */
function checkWindowOptions(options) {
  const { rollingCountTimeout: timeout, rollingCountBuckets: buckets } = options
  if (timeout !== undefined && timeout !== null) checkNonNegative(timeout, 'options.rollingCountTimeout')
  if (buckets !== undefined && buckets !== null) {
    checkNonNegative(buckets, 'options.rollingCountBuckets', MAX_BUCKETS)
    if (!Number.isInteger(buckets)) throw new RangeError(`options.rollingCountBuckets must be an integer, got ${buckets}`)
  }
  const controller = options.rotateBucketController
  if (
    controller !== undefined &&
    (controller === null ||
      typeof controller.on !== 'function' ||
      typeof controller.removeListener !== 'function' ||
      typeof controller.listenerCount !== 'function')
  ) {
    throw new TypeError('options.rotateBucketController must be an EventEmitter')
  }
}

function bucketObject(data) {
  const bucket = {}
  for (let i = 0; i < FIELDS.length; i++) bucket[FIELDS[i]] = data[i]
  bucket.percentiles = {}
  bucket.latencyTimes = Array.from(data.subarray(12))
  if (data[11] !== -1) bucket.isCircuitBreakerOpen = data[11] === 1
  return bucket
}

class Status extends EventEmitter {
  /**
   * @param {object} [options] rollingCountBuckets, rollingCountTimeout,
   *   rollingPercentilesEnabled, enableSnapshots, rotateBucketController, stats
   */
  constructor(options = {}) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    checkWindowOptions(options)
    const buckets = options.rollingCountBuckets || 10
    const timeout = options.rollingCountTimeout || 10000
    this.rollingPercentilesEnabled = options.rollingPercentilesEnabled !== false
    this.enableSnapshots = options.enableSnapshots !== false
    this.rotateBucketController = options.rotateBucketController
    const now = Date.now()
    this[INTERVAL] = Math.max(1, Math.floor(timeout / buckets))
    this[ORIGIN] = now
    this[CORE] = new NativeCore(buckets, this[INTERVAL], !!this.rotateBucketController, this.rollingPercentilesEnabled, now)
    handles.register(this, this[CORE].h)
    this[B_COUNTS] = new Float64Array(FIELDS.length)
    this[B_PENDING] = false
    this[B_ONLY_FIRES] = true
    this[B_LAT] = NO_SAMPLES
    this[B_N] = 0
    this[B_START] = 0
    this[B_END] = -1
    this[B_LAST] = 0
    this[SNAPSHOT_TIMER] = undefined
    this[IS_SHUTDOWN] = false
    // An own property, like opossum's: shared rotate controllers add and remove it.
    this.rotateBucket = () => {
      this[FLUSHED]().rotate()
    }
    if (this.rotateBucketController) this.startListeneningForRotateEvent()
    if (options.stats) {
      const stats = options.stats
      const counts = Float64Array.from(FIELDS, (f) => Number(stats[f]) || 0)
      const samples = Array.isArray(stats.latencyTimes) ? stats.latencyTimes : []
      this[CORE].prime(counts, Float64Array.from(samples, (v) => Number(v) || 0))
    }
  }

  /** Native core with every batched event applied; use before any other native call. */
  [FLUSHED]() {
    if (this[B_PENDING]) {
      this[CORE].flush(this[B_COUNTS], this[B_LAT], this[B_N], this[B_LAST])
      this[B_COUNTS].fill(0)
      this[B_N] = 0
      this[B_PENDING] = false
      this[B_ONLY_FIRES] = true
    }
    return this[CORE]
  }

  [BATCH_FIRE](now) {
    if (!(now >= this[B_START] && now < this[B_END])) this.#rebatch(now)
    this[B_COUNTS][FIRES]++
    this[B_PENDING] = true
    this[B_LAST] = now
  }

  /** Batches one event of a counter that never changes the state (rejects, cache...). */
  [BATCH_COUNT](index, now) {
    if (!(now >= this[B_START] && now < this[B_END])) this.#rebatch(now)
    this[B_COUNTS][index]++
    this[B_PENDING] = true
    this[B_ONLY_FIRES] = false
    this[B_LAST] = now
  }

  [BATCH_SUCCESS](now, latency) {
    if (!(now >= this[B_START] && now < this[B_END])) this.#rebatch(now)
    if (this[B_N] === 0 && this[B_LAT] === NO_SAMPLES) this[B_LAT] = new Float64Array(BATCH_SIZE)
    this[B_LAT][this[B_N]++] = latency
    this[B_PENDING] = true
    this[B_ONLY_FIRES] = false
    this[B_LAST] = now
    if (this[B_N] === BATCH_SIZE) this[FLUSHED]()
  }

  /** Records a failure; pending fires travel in the same native call. */
  [RECORD_FAILURE](latency, now) {
    let fires = 0
    if (this[B_PENDING]) {
      if (this[B_ONLY_FIRES]) {
        fires = this[B_COUNTS][FIRES]
        this[B_COUNTS][FIRES] = 0
        this[B_PENDING] = false
      } else {
        this[FLUSHED]()
      }
    }
    return this[CORE].failure(latency, now, fires, this[B_LAST])
  }

  /** Flushes, then starts a batch for the bucket that contains `now`. */
  #rebatch(now) {
    this[FLUSHED]()
    if (this.rotateBucketController) {
      // Manual rotation flushes first, so one batch may span any time.
      this[B_START] = -Infinity
      this[B_END] = Infinity
    } else {
      const interval = this[INTERVAL]
      const start = this[ORIGIN] + Math.floor((now - this[ORIGIN]) / interval) * interval
      this[B_START] = start
      this[B_END] = start + interval
    }
  }

  /** Totals over the window, rebuilt on every read (sorted samples, percentiles, mean). */
  get stats() {
    const data = this[FLUSHED]().stats(Date.now())
    const totals = {}
    for (let i = 0; i < FIELDS.length; i++) totals[FIELDS[i]] = data[i]
    totals.percentiles = {}
    for (let i = 0; i < PERCENTILES.length; i++) totals.percentiles[PERCENTILES[i]] = data[12 + i]
    totals.latencyTimes = Array.from(data.subarray(21))
    totals.latencyMean = data[11]
    return totals
  }

  /** A copy of the buckets, current first. */
  get window() {
    const core = this[FLUSHED]()
    const now = Date.now()
    const buckets = []
    for (let i = 0, n = core.bucketCount(); i < n; i++) buckets.push(bucketObject(core.bucket(i, now)))
    return buckets
  }

  /** Counts one `property` event (a bucket field name) in the current bucket. */
  increment(property, latencyRunTime) {
    const index = FIELD_INDEX[property]
    if (index === undefined || !Object.hasOwn(FIELD_INDEX, property)) {
      throw new TypeError(`property must be one of ${FIELDS.join(', ')}, got ${String(property)}`)
    }
    this[FLUSHED]().increment(index, +latencyRunTime || 0, Date.now())
  }

  /** Marks the current bucket as open (`isCircuitBreakerOpen`). */
  open() {
    this[FLUSHED]().markOpen(true, Date.now())
  }

  /** Marks the current bucket as closed. */
  close() {
    this[FLUSHED]().markOpen(false, Date.now())
  }

  /** Removes all listeners and stops every timer and rotate listener. */
  shutdown() {
    this[IS_SHUTDOWN] = true
    this.removeAllListeners()
    this.removeRotateBucketControllerListener()
    this.#syncSnapshotTimer()
  }

  removeRotateBucketControllerListener() {
    if (this.rotateBucketController) {
      this.rotateBucketController.removeListener('rotate', this.rotateBucket)
    }
  }

  startListeneningForRotateEvent() {
    if (this.rotateBucketController && this.rotateBucketController.listenerCount('rotate', this.rotateBucket) === 0) {
      this.rotateBucketController.on('rotate', this.rotateBucket)
    }
  }

  // The snapshot interval runs only while someone listens for 'snapshot' (opossum runs
  // one per breaker regardless, a memory and CPU cost issues #798/#799 complain about).
  #syncSnapshotTimer() {
    const want = this.enableSnapshots && !this[IS_SHUTDOWN] && this.listenerCount('snapshot') > 0
    if (want && this[SNAPSHOT_TIMER] === undefined) {
      this[SNAPSHOT_TIMER] = setInterval(() => this.emit('snapshot', this.stats), this[INTERVAL])
      if (typeof this[SNAPSHOT_TIMER].unref === 'function') this[SNAPSHOT_TIMER].unref()
    } else if (!want && this[SNAPSHOT_TIMER] !== undefined) {
      clearInterval(this[SNAPSHOT_TIMER])
      this[SNAPSHOT_TIMER] = undefined
    }
  }

  addListener(event, listener) {
    super.addListener(event, listener)
    if (event === 'snapshot') this.#syncSnapshotTimer()
    return this
  }

  on(event, listener) {
    return this.addListener(event, listener)
  }

  prependListener(event, listener) {
    super.prependListener(event, listener)
    if (event === 'snapshot') this.#syncSnapshotTimer()
    return this
  }

  removeListener(event, listener) {
    super.removeListener(event, listener)
    if (event === 'snapshot') this.#syncSnapshotTimer()
    return this
  }

  off(event, listener) {
    return this.removeListener(event, listener)
  }

  removeAllListeners(event) {
    super.removeAllListeners(...arguments)
    if (event === undefined || event === 'snapshot') this.#syncSnapshotTimer()
    return this
  }
}

module.exports = Status
Object.defineProperty(module.exports, 'internals', {
  value: Object.freeze({ FIELD_INDEX, FLUSHED, BATCH_FIRE, BATCH_COUNT, BATCH_SUCCESS, RECORD_FAILURE, checkNonNegative, checkWindowOptions }),
})
