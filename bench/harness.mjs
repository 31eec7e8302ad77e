// Shared measuring and printing for bench/*.bench.mjs. Every benchmark runs bulwark and
// the package it replaces on the same work in one process and prints the ratio.
import { performance } from 'node:perf_hooks'

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Nanoseconds per call of a synchronous `fn`, median of `repeats` timed loops. */
export function nsPerCall(fn, { iterations = 1_000_000, repeats = 7 } = {}) {
  for (let i = 0; i < iterations / 10; i++) fn() // warm-up (JIT, caches)
  const runs = []
  for (let r = 0; r < repeats; r++) {
    const start = performance.now()
    for (let i = 0; i < iterations; i++) fn()
    runs.push(((performance.now() - start) * 1e6) / iterations)
  }
  return median(runs)
}

/**
 * Runs `ops` calls of the async `fn(i)` with `concurrency` callers in flight.
 * Returns { opsPerSec, p50Us, p99Us, maxUs } of one run.
 */
export async function loadRun(fn, { ops, concurrency }) {
  const latencies = new Float64Array(ops)
  let next = 0
  const start = performance.now()
  async function worker() {
    while (next < ops) {
      const i = next++
      const t0 = performance.now()
      await fn(i)
      latencies[i] = performance.now() - t0
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsedMs = performance.now() - start
  const sorted = latencies.sort()
  return {
    opsPerSec: (ops * 1000) / elapsedMs,
    p50Us: percentile(sorted, 50) * 1000,
    p99Us: percentile(sorted, 99) * 1000,
    maxUs: sorted[sorted.length - 1] * 1000,
  }
}

/** `loadRun` repeated `repeats` times after one warm-up run; medians of each field. */
export async function load(fn, { ops = 20_000, concurrency = 1, repeats = 5 } = {}) {
  await loadRun(fn, { ops: Math.max(1, ops >> 2), concurrency })
  const runs = []
  for (let r = 0; r < repeats; r++) runs.push(await loadRun(fn, { ops, concurrency }))
  const field = (k) => median(runs.map((run) => run[k]))
  return { opsPerSec: field('opsPerSec'), p50Us: field('p50Us'), p99Us: field('p99Us'), maxUs: field('maxUs') }
}

const fmtRatio = (x) => (x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)) + 'x'
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3))

/**
 * Prints one side-by-side table. rows: { case, unit, bulwark, anchor, higherIsBetter }.
 * The ratio is always bulwark/anchor; "better" says which way that ratio should go.
 */
export function printTable(title, anchorName, rows) {
  const header = ['case', 'unit', 'bulwark', anchorName, 'bulwark/anchor', 'better']
  const body = rows.map((r) => [
    r.case,
    r.unit,
    fmt(r.bulwark),
    fmt(r.anchor),
    fmtRatio(r.bulwark / r.anchor),
    r.higherIsBetter ? 'higher' : 'lower',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |'
  console.log(`\n### ${title}\n`)
  console.log(line(header))
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|')
  for (const row of body) console.log(line(row))
}
