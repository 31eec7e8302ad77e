// CircuitBreaker compatibility: each scenario runs against bulwark and the real opossum
// package and compares event sequences and outcomes where behaviour is meant to match.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { Bulwark, Opossum, record, outcome, tick } from './helpers/breaker-trace.mjs'

const require = createRequire(import.meta.url)
const both = [
  ['bulwark', Bulwark],
  ['opossum', Opossum],
]

/** Runs `scenario(CB)` for both implementations and asserts equal results. */
async function same(scenario) {
  const results = []
  for (const [, CB] of both) results.push(await scenario(CB))
  assert.deepEqual(results[0], results[1])
  return results[0]
}

test('module shape: default export is the class, EventEmitter subclass, main entry too', () => {
  assert.equal(typeof Bulwark, 'function')
  assert.equal(require('bulwark').CircuitBreaker, Bulwark)
  const b = new Bulwark(async () => 1)
  assert.ok(b instanceof EventEmitter)
  assert.deepEqual(Object.keys(b).filter((k) => !k.startsWith('_')), ['options', 'semaphore', 'action'])
  b.shutdown()
})

test('defaults are written into the caller options object', async () => {
  await same(async (CB) => {
    const options = { timeout: 0 }
    const b = new CB(async () => 1, options)
    const same = b.options === options
    const o = { ...options }
    delete o.cacheGetKey
    delete o.errorFilter
    b.shutdown()
    return { same, o, capacity: o.capacity, vol: b.volumeThreshold, name: typeof b.name, group: b.group === b.name }
  })
})

test('the action keeps its `this`: fire uses the action, call uses the given context', async () => {
  await same(async (CB) => {
    const seen = []
    function action(x) {
      seen.push(this === action ? 'action' : this?.tag, x)
      return Promise.resolve(x)
    }
    const b = new CB(action, { timeout: false })
    await b.fire(1)
    await b.call({ tag: 'ctx' }, 2)
    b.shutdown()
    return seen
  })
})

test('non-function action resolves to the value; missing action is a TypeError', async () => {
  await same(async (CB) => {
    const b = new CB('foo')
    const v = await b.fire()
    b.shutdown()
    let err
    try {
      new CB()
    } catch (e) {
      err = [e.constructor.name, e.message]
    }
    return [v, err]
  })
})

test('event order: failure trips, open rejects, half-open trial closes (real opossum)', async () => {
  const result = await same(async (CB) => {
    let failing = true
    const b = new CB(
      async (x) => {
        if (failing) throw new Error('boom ' + x)
        return x * 2
      },
      { timeout: false, resetTimeout: 10 },
    )
    const log = record(b)
    b.fallback((x, err) => `fb ${x} ${err.message}`)
    const outs = []
    outs.push(await outcome(b.fire(1)))
    outs.push(await outcome(b.fire(2)))
    await tick(30)
    failing = false
    outs.push(await outcome(b.fire(3)))
    outs.push(await outcome(b.fire(4)))
    const state = [b.closed, b.opened, b.halfOpen, b.pendingClose]
    b.shutdown()
    return { log, outs, state }
  })
  assert.deepEqual(
    result.log.map((e) => e[0]),
    ['fire', 'failure', 'open', 'fallback', 'fire', 'reject', 'fallback', 'halfOpen', 'fire', 'close', 'success', 'fire', 'success', 'shutdown'],
  )
})

test('half-open admits exactly one trial; others are rejected until it settles', async () => {
  await same(async (CB) => {
    let release
    const b = new CB(() => new Promise((r) => (release = r)), { timeout: false, resetTimeout: 5 })
    b.open()
    await tick(20)
    const states = [b.halfOpen, b.pendingClose]
    const trial = b.fire()
    const others = await Promise.all([outcome(b.fire()), outcome(b.fire())])
    states.push(b.pendingClose)
    release('done')
    const t = await outcome(trial)
    states.push(b.closed)
    b.shutdown()
    return { states, others, t }
  })
})

test('half-open trial failure reopens regardless of volume threshold', async () => {
  await same(async (CB) => {
    const b = new CB(async () => Promise.reject(new Error('x')), { timeout: false, resetTimeout: 5, volumeThreshold: 100 })
    const log = record(b)
    b.open()
    await tick(20)
    await outcome(b.fire())
    const s = [b.opened]
    b.shutdown()
    return { log: log.map((e) => e[0]), s }
  })
})

test('timeouts: ETIMEDOUT, timeout then failure then open, abort() called, late settle ignored', async () => {
  await same(async (CB) => {
    const controller = new AbortController()
    let resolveLate
    const b = new CB(() => new Promise((r) => (resolveLate = r)), {
      timeout: 10,
      errorThresholdPercentage: 1,
      abortController: controller,
    })
    const log = record(b)
    const o = await outcome(b.fire('a'))
    resolveLate('late')
    await tick(5)
    const stats = b.stats
    b.shutdown()
    return {
      o,
      log: log.map((e) => e.slice(0, 2)),
      aborted: controller.signal.aborted,
      timeouts: stats.timeouts,
      failures: stats.failures,
      samples: stats.latencyTimes.length,
    }
  })
})

test('timeout:false never calls setTimeout on the fire path', async () => {
  const b = new Bulwark(async (x) => x, { timeout: false })
  const original = globalThis.setTimeout
  let calls = 0
  globalThis.setTimeout = () => {
    calls++
  }
  try {
    assert.equal(await b.fire(7), 7)
    const failing = new Bulwark(async () => Promise.reject(new Error('e')), { timeout: false, errorThresholdPercentage: 100 })
    await assert.rejects(failing.fire(), /e/)
    failing.shutdown()
  } finally {
    globalThis.setTimeout = original
  }
  assert.equal(calls, 0)
  b.shutdown()
})

test('plain-string rejections and sync throws pass through untouched', async () => {
  await same(async (CB) => {
    const b = new CB(
      (kind) => {
        if (kind === 'sync') throw 'sync string'
        if (kind === 'undef') return undefined
        return Promise.reject('Error: -1 is < 0')
      },
      { timeout: false, errorThresholdPercentage: 100 },
    )
    const r = [await outcome(b.fire('async')), await outcome(b.fire('sync'))]
    const u = await outcome(b.fire('undef'))
    r.push(u.err.error ? 'TypeError' : u)
    const s = b.stats
    b.shutdown()
    return { r, failures: s.failures }
  })
})

test('errorFilter: filtered errors emit success, reject, skip fallback; args passed', async () => {
  await same(async (CB) => {
    const seen = []
    const b = new CB(async (code) => Promise.reject(Object.assign(new Error('e'), { code })), {
      timeout: false,
      errorFilter: (err, ...args) => {
        seen.push(args)
        return err.code === 404
      },
      errorThresholdPercentage: 1,
    })
    b.fallback(() => 'fb')
    const log = record(b)
    const r = [await outcome(b.fire(404)), b.closed, await outcome(b.fire(500)), b.opened]
    b.shutdown()
    return { r, seen, log: log.map((e) => e[0]) }
  })
})

test('a throwing success listener turns the call into a failure', async () => {
  await same(async (CB) => {
    const b = new CB(async () => 'ok', { timeout: false, errorThresholdPercentage: 100 })
    b.once('success', () => {
      throw new Error('listener')
    })
    const r = await outcome(b.fire())
    await tick(1)
    const s = b.stats
    b.shutdown()
    return { r, successes: s.successes, failures: s.failures }
  })
})

test('capacity: ESEMLOCKED, semaphoreLocked event, counts as failure; semaphore.count', async () => {
  await same(async (CB) => {
    let release
    const b = new CB(() => new Promise((r) => (release = r)), { timeout: false, capacity: 1, errorThresholdPercentage: 100 })
    const log = record(b)
    const first = b.fire()
    const count = b.semaphore.count
    const second = await outcome(b.fire())
    release(1)
    await first
    const s = b.stats
    b.shutdown()
    return { count, second, log: log.map((e) => e[0]), after: b.semaphore.count, sem: s.semaphoreRejections, failures: s.failures }
  })
})

test('semaphore helper: take/release/test and take(timeout)', async () => {
  const sem = require('bulwark/opossum/lib/semaphore')(1)
  assert.equal(sem.test(), true)
  assert.equal(sem.count, 0)
  assert.equal(sem.test(), false)
  const waiting = sem.take()
  sem.release()
  const release = await waiting
  assert.equal(sem.count, 0)
  release()
  assert.equal(sem.count, 1)
  await sem.take()
  await assert.rejects(sem.take(5), { code: 'ETIMEDOUT' })
})

test('cache: hit returns the stored promise even when open; TTL; clearCache; custom transport check', async () => {
  await same(async (CB) => {
    let n = 0
    const b = new CB(async (x) => `${x}:${++n}`, { timeout: false, cache: true })
    const log = record(b)
    const r = [await b.fire('a'), await b.fire('a'), await b.fire('b')]
    b.open()
    r.push(await b.fire('a'))
    b.clearCache()
    r.push(await outcome(b.fire('a')))
    const size = b.options.cacheTransport.cache.size
    b.shutdown()
    let err
    try {
      new CB(async () => 1, { cache: true, cacheTransport: { get() {} } })
    } catch (e) {
      err = e.message
    }
    return { r, log: log.map((e) => e[0]), size, err }
  })
})

test('coalesce: concurrent calls share one in-flight promise; resetOn filtered', async () => {
  await same(async (CB) => {
    let n = 0
    const options = { timeout: 1000, coalesce: true, coalesceResetOn: ['error', 'bogus'] }
    const b = new CB(async (x) => {
      await tick(5)
      return `${x}:${++n}`
    }, options)
    const log = record(b)
    const [a, c] = await Promise.all([b.fire('k'), b.fire('k')])
    b.shutdown()
    return { a, c, n, log: log.map((e) => e[0]), resetOn: options.coalesceResetOn, ttl: options.coalesceTTL }
  })
})

test('autoRenewAbortController renews the aborted controller on half-open', async () => {
  await same(async (CB) => {
    const options = { timeout: 5, resetTimeout: 5, autoRenewAbortController: true, errorThresholdPercentage: 1 }
    const b = new CB(() => new Promise(() => {}), options)
    const first = b.getSignal()
    await outcome(b.fire())
    const aborted = first.aborted
    await tick(20)
    const renewed = b.getSignal() !== first && b.getSignal().aborted === false
    const same = b.getAbortController() === options.abortController
    b.shutdown()
    let err
    try {
      new CB(async () => 1, { abortController: {} })
    } catch (e) {
      err = e.message
    }
    return { aborted, renewed, same, err, halfOpen: true }
  })
})

test('enabled:false passes through (sync throw propagates synchronously), still emits fire', async () => {
  await same(async (CB) => {
    const b = new CB(
      (x) => {
        if (x === 'throw') throw new Error('sync')
        return x
      },
      { enabled: false },
    )
    const log = record(b)
    const r = [await b.fire(1)]
    try {
      b.fire('throw')
    } catch (e) {
      r.push('sync:' + e.message)
    }
    b.enable()
    r.push(b.enabled, await b.fire(2))
    b.disable()
    r.push(b.enabled)
    b.shutdown()
    return { r, log: log.map((e) => e[0]) }
  })
})

test('fallback may be another breaker; fallback throwing rejects', async () => {
  await same(async (CB) => {
    const second = new CB(async (...args) => `second(${args.length})`, { timeout: false })
    const b = new CB(async () => Promise.reject(new Error('x')), { timeout: false, errorThresholdPercentage: 100 })
    b.fallback(second)
    const r = [await outcome(b.fire('a'))]
    b.fallback(() => {
      throw new Error('fb failed')
    })
    r.push(await outcome(b.fire('a')))
    b.shutdown()
    second.shutdown()
    return r
  })
})

test('volumeThreshold and warm-up follow opossum', async () => {
  await same(async (CB) => {
    const fail = async () => Promise.reject(new Error('x'))
    const v = new CB(fail, { timeout: false, volumeThreshold: 3 })
    const states = []
    for (let i = 0; i < 3; i++) {
      await outcome(v.fire())
      states.push(v.opened)
    }
    const w = new CB(fail, { timeout: false, allowWarmUp: true, rollingCountTimeout: 50 })
    await outcome(w.fire())
    states.push(w.warmUp, w.opened)
    await tick(80)
    states.push(w.warmUp)
    await outcome(w.fire())
    states.push(w.opened)
    v.shutdown()
    w.shutdown()
    return states
  })
})

test('eventNames() lists opossum\'s 13 internal events, empty after shutdown', () => {
  const ours = new Bulwark(async () => 1)
  const theirs = new Opossum(async () => 1)
  assert.deepEqual(ours.eventNames(), theirs.eventNames())
  ours.on('custom', () => {})
  theirs.on('custom', () => {})
  assert.deepEqual(ours.eventNames(), theirs.eventNames())
  ours.shutdown()
  theirs.shutdown()
  assert.deepEqual(ours.eventNames(), [])
})

test('shutdown: event, ESHUTDOWN, isShutdown, open()/close() stay shut (fix)', async () => {
  const b = new Bulwark(async () => 1)
  const log = record(b)
  b.shutdown()
  assert.deepEqual(log.map((e) => e[0]), ['shutdown'])
  assert.equal(b.isShutdown, true)
  await assert.rejects(b.fire(), { code: 'ESHUTDOWN', message: 'The circuit has been shutdown.' })
  b.open()
  b.close()
  assert.equal(b.isShutdown, true)
  assert.equal(b.enabled, false)
})

test('a call in flight at shutdown still counts its failure and opens the breaker, which stays shut down', async () => {
  // opossum's volume-threshold-test: the third failure lands after shutdown() and opens.
  const opened = await same(async (CB) => {
    let reject
    const action = (x) => (x === 'hold' ? new Promise((_, r) => (reject = r)) : Promise.reject(x))
    const b = new CB(action, { errorThresholdPercentage: 1, volumeThreshold: 3, timeout: false })
    await b.fire('first').catch(() => {})
    await b.fire('second').catch(() => {})
    const inFlight = b.fire('hold')
    b.shutdown()
    reject('late')
    const err = await inFlight.catch((e) => e)
    // (opossum's stats stop at shutdown with its listeners, so its `failures` stays 2: not compared.)
    return { err, opened: b.opened, closed: b.closed, halfOpen: b.halfOpen, fires: b.stats.fires }
  })
  assert.equal(opened.opened, true)
  // bulwark keeps it shut down (opossum flips isShutdown to false and then runs calls unprotected).
  const b = new Bulwark(() => Promise.reject(new Error('x')), { errorThresholdPercentage: 1, timeout: false, resetTimeout: 1 })
  const inFlight = b.fire()
  b.shutdown()
  await assert.rejects(inFlight, { message: 'x' })
  assert.equal(b.opened, true)
  assert.equal(b.stats.failures, 1, 'the late failure is counted')
  assert.equal(b.isShutdown, true)
  await tick(10)
  assert.equal(b.halfOpen, false, 'no reset timer after shutdown')
  await assert.rejects(b.fire(), { code: 'ESHUTDOWN' })
})

test('health check: failures emit healthCheckFailed and open; stops at shutdown (fix)', async () => {
  const b = new Bulwark(async () => 1, { resetTimeout: 60_000 })
  let runs = 0
  const failed = []
  b.on('healthCheckFailed', (e) => failed.push(e.message))
  b.healthCheck(async () => {
    runs++
    throw new Error('unhealthy')
  }, 10)
  // The first run fails at once; a loaded machine may let the 10 ms interval run again.
  for (let i = 0; i < 400 && failed.length === 0; i++) await tick(5)
  assert.ok(failed.length >= 1 && failed.every((m) => m === 'unhealthy'), String(failed))
  assert.equal(b.opened, true)
  b.shutdown()
  const before = runs
  await tick(40)
  assert.equal(runs, before)
  assert.equal(b.isShutdown, true)
  assert.throws(() => b.healthCheck('x'), { name: 'TypeError', message: 'Health check function must be a function' })
  assert.throws(() => b.healthCheck(async () => {}, 'abc'), { name: 'TypeError', message: 'Health check interval must be a number' })
  const live = new Bulwark(async () => 1)
  assert.throws(() => live.healthCheck(async () => {}, -1), { name: 'RangeError', message: /interval/ })
  assert.throws(() => live.healthCheck(async () => {}, 2 ** 40), { name: 'RangeError', message: /interval/ })
  assert.throws(() => live.healthCheck(async () => {}, Infinity), { name: 'RangeError', message: /interval/ })
  live.shutdown()
})

test('error codes, messages and isOurError', async () => {
  const b = new Bulwark(async () => 1, { timeout: false })
  b.open()
  const err = await b.fire().catch((e) => e)
  assert.equal(err.code, 'EOPENBREAKER')
  assert.equal(err.message, 'Breaker is open')
  assert.equal(Bulwark.isOurError(err), true)
  assert.equal(Bulwark.isOurError(new Error('x')), false)
  assert.throws(() => Bulwark.isOurError(undefined), TypeError)
  b.shutdown()
})

test('toJSON and state import: open breaker stays open, expired one goes half-open', async () => {
  const b = new Bulwark(async () => Promise.reject(new Error('x')), { timeout: false, resetTimeout: 1000 })
  await outcome(b.fire())
  assert.equal(b.opened, true)
  const json = JSON.parse(JSON.stringify(b.toJSON()))
  assert.deepEqual(Object.keys(json.state), ['name', 'enabled', 'closed', 'open', 'halfOpen', 'warmUp', 'shutdown', 'lastTimerAt'])
  assert.equal(json.status.failures, 1)
  b.shutdown()

  const stillOpen = new Bulwark(async () => 1, { state: json.state, status: json.status, resetTimeout: 1000 })
  assert.equal(stillOpen.opened, true)
  assert.equal(stillOpen.stats.failures, 1)
  assert.equal(stillOpen.stats.fires, 1)
  stillOpen.shutdown()

  const expired = new Bulwark(async () => 1, { state: { ...json.state, lastTimerAt: Date.now() - 5000 }, resetTimeout: 1000 })
  assert.equal(expired.halfOpen, true)
  assert.equal(expired.pendingClose, true)
  expired.shutdown()

  const half = new Bulwark(async () => 1, { state: { closed: false, halfOpen: true } })
  assert.equal(half.halfOpen, true)
  half.shutdown()

  const dead = new Bulwark(async () => 1, { state: { shutdown: true } })
  assert.equal(dead.isShutdown, true)
})

test('lastTimerAt is the time the circuit opened (fix), not construction time', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000 })
  try {
    const b = new Bulwark(async () => 1, { resetTimeout: 100_000 })
    mock.timers.tick(50_000)
    b.open()
    assert.equal(b.toJSON().state.lastTimerAt, 51_000)
    b.shutdown()
  } finally {
    mock.timers.reset()
  }
})

test('controlled timers: reset timer drives half-open exactly once, no call needed', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 })
  try {
    const b = new Bulwark(async () => 1, { resetTimeout: 1000 })
    const events = []
    b.on('halfOpen', (t) => events.push(['halfOpen', t]))
    b.open()
    b.open() // idempotent: no second timer
    mock.timers.tick(999)
    assert.equal(b.opened, true)
    mock.timers.tick(1)
    assert.equal(b.halfOpen, true)
    mock.timers.tick(10_000)
    assert.deepEqual(events, [['halfOpen', 1000]])
    b.close()
    assert.equal(b.closed, true)
    b.shutdown()
  } finally {
    mock.timers.reset()
  }
})

test('opt-in: N half-open trials with a success threshold', async () => {
  const b = new Bulwark(async (x) => x, { timeout: false, resetTimeout: 5, halfOpenTrials: 3, halfOpenSuccessThreshold: 2 })
  b.open()
  await tick(20)
  assert.equal(b.halfOpen, true)
  const closes = []
  b.on('close', () => closes.push(b.stats.successes))
  const calls = [b.fire(1), b.fire(2), b.fire(3)]
  await assert.rejects(b.fire(4), { code: 'EOPENBREAKER' })
  await Promise.all(calls)
  assert.equal(b.closed, true)
  assert.deepEqual(closes, [2])
  b.shutdown()
})

test('opt-in: count-based window trips on the last N outcomes', async () => {
  let fail = false
  const b = new Bulwark(async () => (fail ? Promise.reject(new Error('x')) : 1), {
    timeout: false,
    windowType: 'count',
    windowSize: 4,
    volumeThreshold: 4,
  })
  for (let i = 0; i < 10; i++) await b.fire()
  fail = true
  await outcome(b.fire())
  await outcome(b.fire())
  assert.equal(b.closed, true, '2 of the last 4 = 50%, not above')
  await outcome(b.fire())
  assert.equal(b.opened, true, '3 of 4 = 75%')
  b.shutdown()
})

test('bad options are rejected with TypeError/RangeError naming the option', () => {
  const fn = async () => 1
  const cases = [
    [null, TypeError, /options must be an object/],
    [{ timeout: -1 }, RangeError, /options\.timeout/],
    [{ timeout: 'x' }, TypeError, /options\.timeout/],
    [{ timeout: Infinity }, RangeError, /options\.timeout/],
    [{ timeout: 2 ** 31 }, RangeError, /options\.timeout/],
    [{ resetTimeout: NaN }, RangeError, /options\.resetTimeout/],
    [{ errorThresholdPercentage: -5 }, RangeError, /options\.errorThresholdPercentage/],
    [{ rollingCountTimeout: -1 }, RangeError, /options\.rollingCountTimeout/],
    [{ rollingCountBuckets: 1.5 }, RangeError, /options\.rollingCountBuckets/],
    [{ rollingCountBuckets: 1e9 }, RangeError, /options\.rollingCountBuckets/],
    [{ capacity: -1 }, RangeError, /options\.capacity/],
    [{ volumeThreshold: -1 }, RangeError, /options\.volumeThreshold/],
    [{ errorFilter: 'x' }, TypeError, /options\.errorFilter/],
    [{ cacheGetKey: 1 }, TypeError, /options\.cacheGetKey/],
    [{ cacheTTL: -1 }, RangeError, /options\.cacheTTL/],
    [{ cacheSize: 0 }, RangeError, /options\.cacheSize/],
    [{ coalesceResetOn: 'error' }, TypeError, /options\.coalesceResetOn/],
    [{ halfOpenTrials: 0 }, RangeError, /options\.halfOpenTrials/],
    [{ halfOpenTrials: 2, halfOpenSuccessThreshold: 3 }, RangeError, /options\.halfOpenSuccessThreshold/],
    [{ windowType: 'calls' }, TypeError, /options\.windowType/],
    [{ windowSize: 0 }, RangeError, /options\.windowSize/],
    [{ rotateBucketController: {} }, TypeError, /options\.rotateBucketController/],
    [{ stateStore: {} }, TypeError, /options\.stateStore/],
  ]
  for (const [options, Type, message] of cases) {
    assert.throws(() => new Bulwark(fn, options), (err) => err instanceof Type && message.test(err.message), JSON.stringify(options))
  }
  // opossum's lenient cases stay accepted.
  for (const options of [{ timeout: false }, { timeout: 0 }, { capacity: 1.5 }, { volumeThreshold: 2.5 }, {}]) {
    new Bulwark(fn, options).shutdown()
  }
  assert.throws(() => new Bulwark(fn).fallback(42), TypeError)
})

test('maxFailures prints the upstream deprecation message', () => {
  const lines = []
  const original = console.error
  console.error = (m) => lines.push(m)
  try {
    new Bulwark(async () => 1, { maxFailures: 3 }).shutdown()
  } finally {
    console.error = original
  }
  assert.deepEqual(lines, ['options.maxFailures is deprecated. Please use options.errorThresholdPercentage'])
})

test('many concurrent calls: each hung call times out once, in call order; settled ones never do', async () => {
  await same(async (CB) => {
    const b = new CB((x) => (x % 2 ? new Promise(() => {}) : new Promise((r) => setTimeout(() => r(x), 2))), {
      timeout: 30,
      errorThresholdPercentage: 100,
    })
    const timeouts = []
    b.on('timeout', (err, latency, args) => timeouts.push(args[0]))
    const calls = []
    for (let i = 0; i < 8; i++) {
      calls.push(outcome(b.fire(i)))
      await tick(1)
    }
    const results = await Promise.all(calls)
    const s = b.stats
    b.shutdown()
    return { results, timeouts, counts: [s.timeouts, s.failures, s.successes] }
  })
})

test('per-call timeouts under controlled timers, including a timeout lowered at run time', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 })
  try {
    const b = new Bulwark(() => new Promise(() => {}), { timeout: 1000, errorThresholdPercentage: 100 })
    const expired = []
    b.on('timeout', (err, latency, args) => expired.push([args[0], latency, Date.now()]))
    b.fire('a').catch(() => {})
    mock.timers.tick(100)
    b.options.timeout = 300
    b.fire('b').catch(() => {})
    mock.timers.tick(299)
    assert.deepEqual(expired, [])
    mock.timers.tick(1)
    assert.deepEqual(expired, [['b', 300, 400]])
    mock.timers.tick(599)
    assert.equal(expired.length, 1)
    mock.timers.tick(1)
    assert.deepEqual(expired[1], ['a', 1000, 1000])
    b.shutdown()
  } finally {
    mock.timers.reset()
  }
})
