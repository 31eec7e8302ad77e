// CircuitBreaker: bulwark vs opossum 10 on the same work in one process.
// - success path: awaited fire() of an async action (default options: 10 s timer per
//   call; and timeout:false);
// - failure path with ~1,000 latency samples in the window (opossum rebuilds and sorts
//   the whole window on every failure);
// - reject path (circuit open);
// - construction cost and memory per idle breaker.
import { createRequire } from 'node:module'
import v8 from 'node:v8'
import vm from 'node:vm'
import { performance } from 'node:perf_hooks'
import { median, printTable } from './harness.mjs'

const require = createRequire(import.meta.url)
const Bulwark = require('bulwark/opossum')
const Opossum = require('opossum')

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

/** ns per awaited call of `fn`, median of `repeats` runs of `n` calls. */
async function nsPerAwait(fn, n, repeats = 7) {
  for (let i = 0; i < n / 4; i++) await fn()
  const runs = []
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await fn()
    runs.push(((performance.now() - t0) * 1e6) / n)
  }
  return median(runs)
}

const ok = async () => 1
const ERR = new Error('down')
const failing = () => Promise.reject(ERR)
const swallow = () => {}

async function successPath(CB, options) {
  const b = new CB(ok, { ...options })
  const ns = await nsPerAwait(() => b.fire(), 50_000)
  b.shutdown()
  return 1e9 / ns
}

/**
 * ns per failure that does not trip, with about `samples` latencies in the window: each
 * run builds a fresh breaker, fills its window, warms the failure path up (50 failures,
 * not timed) and times `n` failures, so the window holds `samples` at the middle of the
 * timed stretch. Timing a few hundred calls per run (not 100) and taking the median of
 * 15 runs keeps one GC pause from deciding the figure.
 */
async function failurePath(CB, samples, repeats = 15, n = 400) {
  const warm = 50
  const runs = []
  for (let r = -1; r < repeats; r++) {
    const b = new CB(ok, { timeout: false, errorThresholdPercentage: 100, rollingCountTimeout: 600_000 })
    for (let i = 0; i < samples - warm - n / 2; i++) await b.fire()
    b.action = failing
    for (let i = 0; i < warm; i++) await b.fire().catch(swallow)
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await b.fire().catch(swallow)
    if (r >= 0) runs.push(((performance.now() - t0) * 1e6) / n)
    b.shutdown()
  }
  return median(runs)
}

async function rejectionFloor(repeats = 7) {
  const rethrow = (e) => {
    throw e
  }
  const runs = []
  for (let r = -1; r < repeats; r++) {
    const t0 = performance.now()
    for (let i = 0; i < 1000; i++) await failing().then(ok, rethrow).catch(swallow)
    if (r >= 0) runs.push(((performance.now() - t0) * 1e6) / 1000)
  }
  return median(runs)
}

async function rejectPath(CB) {
  const b = new CB(ok, { timeout: false, resetTimeout: 600_000 })
  b.open()
  const ns = await nsPerAwait(() => b.fire().catch(swallow), 20_000)
  b.shutdown()
  return ns
}

function perBreaker(CB, n = 5_000) {
  gc()
  const heap0 = process.memoryUsage()
  const t0 = performance.now()
  const list = []
  for (let i = 0; i < n; i++) list.push(new CB(ok, { name: 'b' + i }))
  const createNs = ((performance.now() - t0) * 1e6) / n
  gc()
  const heap1 = process.memoryUsage()
  const bytes = (heap1.heapUsed + heap1.external + heap1.arrayBuffers - heap0.heapUsed - heap0.external - heap0.arrayBuffers) / n
  const rss = (heap1.rss - heap0.rss) / n
  for (const b of list) b.shutdown()
  return { createNs, bytes, rss }
}

export default async function breakerBench() {
  const rows = []
  const ours = await successPath(Bulwark, {})
  const theirs = await successPath(Opossum, {})
  rows.push({ case: 'success fire(), defaults (timeout 10 s)', unit: 'calls/s', bulwark: ours, anchor: theirs, higherIsBetter: true })
  const ours2 = await successPath(Bulwark, { timeout: false })
  const theirs2 = await successPath(Opossum, { timeout: false })
  rows.push({ case: 'success fire(), timeout:false', unit: 'calls/s', bulwark: ours2, anchor: theirs2, higherIsBetter: true })
  printTable('CircuitBreaker success path (awaited, concurrency 1)', 'opossum 10', rows)

  const failRows = []
  for (const samples of [1_000, 5_000]) {
    const o = await failurePath(Bulwark, samples)
    const t = await failurePath(Opossum, samples)
    failRows.push({ case: `failure, ${samples} samples in window`, unit: 'ns/call', bulwark: o, anchor: t, higherIsBetter: false })
  }
  failRows.push({ case: 'reject while open', unit: 'ns/call', bulwark: await rejectPath(Bulwark), anchor: await rejectPath(Opossum), higherIsBetter: false })
  printTable('CircuitBreaker failure and reject paths', 'opossum 10', failRows)
  // What no breaker can go below: V8's cost of awaiting a rejected promise through one
  // handler, as fire() must. A failure-path ratio is bounded by opossum's time over this.
  console.log(`\nfloor: a bare rejected promise chain (no breaker) costs ${Math.round(await rejectionFloor())} ns/call here`)

  const mo = perBreaker(Bulwark)
  const mt = perBreaker(Opossum)
  printTable('CircuitBreaker construction and memory per idle breaker (5,000 breakers)', 'opossum 10', [
    { case: 'new CircuitBreaker()', unit: 'ns', bulwark: mo.createNs, anchor: mt.createNs, higherIsBetter: false },
    { case: 'JS heap + external per breaker', unit: 'bytes', bulwark: mo.bytes, anchor: mt.bytes, higherIsBetter: false },
    { case: 'RSS growth per breaker', unit: 'bytes', bulwark: mo.rss, anchor: mt.rss, higherIsBetter: false },
  ])
}
