// Breaker statistics: counters, sorted samples and percentiles against a reference
// computation (opossum's algorithm), lazy window rotation under controlled time,
// rotateBucketController, snapshots, Status subpath and priming.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { Bulwark, Opossum, outcome } from './helpers/breaker-trace.mjs'

const require = createRequire(import.meta.url)
const Status = require('bulwark/opossum/lib/status')
const MemoryCache = require('bulwark/opossum/lib/cache')

const PCTS = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 1]

/** opossum's percentile and mean, computed the naive way. */
function reference(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0
  const percentiles = {}
  for (const p of PCTS) {
    percentiles[p] = p === 0 ? sorted[0] || 0 : sorted[Math.ceil(p * sorted.length) - 1] || 0
  }
  return { sorted, mean, percentiles }
}

test('stats equal a reference computation over many samples', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 })
  try {
    const status = new Status({ rollingCountBuckets: 10, rollingCountTimeout: 10_000 })
    const samples = []
    let seed = 7
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      const latency = seed % 997
      status.increment(i % 4 === 0 ? 'failures' : 'successes', latency)
      samples.push(latency)
      if (i % 1000 === 999) mock.timers.tick(500)
    }
    const stats = status.stats
    const ref = reference(samples)
    assert.deepEqual(stats.latencyTimes, ref.sorted)
    assert.equal(stats.latencyMean, ref.mean)
    assert.deepEqual(stats.percentiles, ref.percentiles)
    assert.equal(stats.failures, 1250)
    assert.equal(stats.successes, 3750)
    assert.deepEqual(Object.keys(stats), [
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
      'percentiles',
      'latencyTimes',
      'latencyMean',
    ])
    status.shutdown()
  } finally {
    mock.timers.reset()
  }
})

test('breaker stats match opossum for the same calls (counters, samples, percentiles)', async () => {
  const results = []
  for (const CB of [Bulwark, Opossum]) {
    let i = 0
    const b = new CB(async () => (++i % 3 === 0 ? Promise.reject(new Error('x')) : i), {
      timeout: false,
      errorThresholdPercentage: 100,
    })
    b.fallback(() => 'fb')
    for (let k = 0; k < 30; k++) await outcome(b.fire())
    const s = b.stats
    s.latencyTimes = s.latencyTimes.length
    results.push(s)
    b.shutdown()
  }
  // Latencies are real clock readings (0 or 1 ms here): compare shape and counters.
  for (const s of results) for (const p of PCTS) s.percentiles[p] = typeof s.percentiles[p]
  results.forEach((s) => (s.latencyMean = typeof s.latencyMean))
  assert.deepEqual(results[0], results[1])
})

test('rollingPercentilesEnabled:false reports -1 and keeps no samples', async () => {
  const b = new Bulwark(async () => 1, { timeout: false, rollingPercentilesEnabled: false })
  await b.fire()
  const s = b.stats
  assert.equal(s.latencyMean, -1)
  assert.deepEqual(Object.values(s.percentiles), PCTS.map(() => -1))
  assert.deepEqual(s.latencyTimes, [])
  assert.equal(s.successes, 1)
  b.shutdown()
})

test('the window rotates lazily with the clock; old failures age out', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 })
  try {
    const b = new Bulwark(async (x) => x, { rollingCountTimeout: 1000, rollingCountBuckets: 10, timeout: false })
    b.status.increment('failures', 5)
    mock.timers.tick(100)
    b.status.increment('failures', 6)
    let w = b.status.window
    assert.equal(w.length, 10)
    assert.equal(w[0].failures, 1)
    assert.equal(w[1].failures, 1)
    assert.deepEqual(w[1].latencyTimes, [5])
    mock.timers.tick(900)
    assert.equal(b.stats.failures, 1, 'first bucket dropped after one full window')
    mock.timers.tick(100_000)
    assert.equal(b.stats.failures, 0)
    w = b.status.window
    assert.ok(w.every((bucket) => bucket.failures === 0 && bucket.latencyTimes.length === 0))
    b.shutdown()
  } finally {
    mock.timers.reset()
  }
})

test('batched success path lands in the right bucket across a rotation', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 })
  try {
    const b = new Bulwark(async (x) => x, { rollingCountTimeout: 1000, rollingCountBuckets: 10, timeout: false })
    await b.fire(1)
    await b.fire(2)
    mock.timers.tick(150)
    await b.fire(3)
    const w = b.status.window
    assert.equal(w[0].fires, 1)
    assert.equal(w[0].successes, 1)
    assert.equal(w[1].fires, 2)
    assert.equal(w[1].successes, 2)
    assert.equal(b.stats.fires, 3)
    b.shutdown()
  } finally {
    mock.timers.reset()
  }
})

test('open/close mark the current bucket (isCircuitBreakerOpen)', () => {
  const b = new Bulwark(async () => 1)
  b.open()
  assert.equal(b.status.window[0].isCircuitBreakerOpen, true)
  b.close()
  assert.equal(b.status.window[0].isCircuitBreakerOpen, false)
  assert.equal('isCircuitBreakerOpen' in b.status.window[1], false)
  b.shutdown()
})

test('rotateBucketController: rotation only on rotate events; disable/enable manage the listener', async () => {
  const controller = new EventEmitter()
  const b = new Bulwark(async () => 1, { timeout: false, rotateBucketController: controller, rollingCountBuckets: 2 })
  assert.equal(controller.listenerCount('rotate'), 1)
  await b.fire()
  controller.emit('rotate')
  assert.equal(b.status.window[1].fires, 1)
  assert.equal(b.stats.fires, 1)
  controller.emit('rotate')
  assert.equal(b.stats.fires, 0)
  b.disable()
  assert.equal(controller.listenerCount('rotate'), 0)
  b.enable()
  b.enable()
  assert.equal(controller.listenerCount('rotate'), 1)
  b.shutdown()
  assert.equal(controller.listenerCount('rotate'), 0)
})

test('snapshot events carry stats; interval only while someone listens', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 })
  try {
    const b = new Bulwark(async () => 1, { rollingCountTimeout: 1000, rollingCountBuckets: 10 })
    const snaps = []
    const listener = (s) => snaps.push(s.fires)
    b.status.on('snapshot', listener)
    b.status.increment('fires')
    mock.timers.tick(100)
    mock.timers.tick(100)
    assert.deepEqual(snaps, [1, 1])
    b.status.removeListener('snapshot', listener)
    mock.timers.tick(1000)
    assert.equal(snaps.length, 2)
    b.status.once('snapshot', listener)
    mock.timers.tick(100)
    mock.timers.tick(100)
    assert.equal(snaps.length, 3)
    assert.equal(b.status.enableSnapshots, true)
    b.shutdown()
  } finally {
    mock.timers.reset()
  }
})

test('Status subpath: instanceof, newStatus, priming from exported stats', () => {
  const status = Bulwark.newStatus({ rollingCountBuckets: 5, rollingCountTimeout: 5000 })
  assert.ok(status instanceof Status)
  assert.ok(status instanceof EventEmitter)
  status.increment('fires')
  status.increment('successes', 12)
  const b = new Bulwark(async () => 1, { status })
  assert.equal(b.status, status)
  assert.equal(b.stats.fires, 1)
  b.shutdown()

  const primed = new Bulwark(async () => 1, { status: { fires: 10, failures: 4, latencyTimes: [3, 1, 2], bogus: 1 } })
  const s = primed.stats
  assert.equal(s.fires, 10)
  assert.equal(s.failures, 4)
  assert.equal(s.successes, 0)
  assert.deepEqual(s.latencyTimes, [1, 2, 3])
  assert.ok(primed.status instanceof Status)
  primed.shutdown()

  assert.throws(() => status.increment('nope'), TypeError)
  assert.throws(() => new Status(null), TypeError)
  status.shutdown()
})

test('MemoryCache: TTL, eviction of the oldest inserted key, flush', () => {
  const cache = new MemoryCache(2)
  cache.set('a', 1, 0)
  cache.set('b', 2, Date.now() - 1)
  assert.equal(cache.get('b'), undefined, 'expired entries are deleted on read')
  cache.set('b', 2, 0)
  cache.set('c', 3, 0)
  assert.equal(cache.get('a'), undefined)
  assert.deepEqual([...cache.cache.keys()], ['b', 'c'])
  cache.flush()
  assert.equal(cache.cache.size, 0)
  assert.equal(new MemoryCache().maxEntries, 2 ** 24 - 1)
})
