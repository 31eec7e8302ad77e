// What the metrics cost: the same client work with command metrics on (the default)
// and off (`metrics: false`), on a real redis-server and on memory://, at concurrency
// 256. The "anchor" is metrics off; the target is a ratio of at least 0.95 (at most 5%
// of throughput). Two figures per case: wall-clock ops/s, and ops per CPU-second of
// this process (all its threads): on a shared, loaded machine wall-clock swings by 2×
// between identical runs, while the CPU the client spends per command is what the
// metrics add to. Rounds are interleaved, the side going first alternating. Also what
// one scrape (`metrics.text()`) takes.
import { Redis, metrics } from '../lib/index.js'
import { loadRun, median, nsPerCall, printTable } from './harness.mjs'
import { performance } from 'node:perf_hooks'
import { createRequire } from 'node:module'

const { tracingCommands } = createRequire(import.meta.url)('../lib/redis-tracing.js')

const CONCURRENCY = 256

function mix(client) {
  return (i) => {
    const r = (i * 7919) % 10
    if (r < 7) return client.get(`bench:m${i & 1023}`)
    if (r < 9) return client.set(`bench:m${i & 1023}`, 'value-0123456789', 'EX', 60)
    return client.incr(`bench:mn${i & 63}`)
  }
}

/** One run: wall-clock ops/s and ops per CPU-second of this process. */
async function measure(fn, ops) {
  const cpu0 = process.cpuUsage()
  const { opsPerSec } = await loadRun(fn, { ops, concurrency: CONCURRENCY })
  const cpu = process.cpuUsage(cpu0)
  return { wall: opsPerSec, cpu: ops / ((cpu.user + cpu.system) / 1e6) }
}

export default async function ({ redis }) {
  const ops = Number(process.env.BENCH_OPS || 20000)
  const rounds = Number(process.env.BENCH_ROUNDS || 10)
  const targets = {
    redis: (m) => new Redis(redis.port, '127.0.0.1', { metrics: m, connectionName: `bench-${m ? 'on' : 'off'}` }),
    'memory://': (m) => new Redis(`memory://bench-metrics-${m ? 'on' : 'off'}`, { metrics: m }),
  }
  const rows = []
  for (const [where, make] of Object.entries(targets)) {
    const clients = { on: make(true), off: make(false) }
    const runs = { on: [], off: [] }
    try {
      for (const c of Object.values(clients)) {
        await c.ping()
        await loadRun(mix(c), { ops: ops >> 2, concurrency: CONCURRENCY }) // warm-up
      }
      for (let round = 0; round < rounds; round++) {
        for (const side of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) runs[side].push(await measure(mix(clients[side]), ops))
      }
    } finally {
      for (const c of Object.values(clients)) await c.quit()
    }
    const med = (side, k) => median(runs[side].map((r) => r[k]))
    rows.push({ case: `${where} mix c=${CONCURRENCY}`, unit: 'ops/s', bulwark: med('on', 'wall'), anchor: med('off', 'wall'), higherIsBetter: true })
    rows.push({ case: `${where} mix c=${CONCURRENCY}`, unit: 'ops/CPU-s', bulwark: med('on', 'cpu'), anchor: med('off', 'cpu'), higherIsBetter: true })
  }
  printTable('Command metrics on (bulwark default) vs off (metrics: false)', 'metrics off', rows)
  const samples = []
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now()
    metrics.text()
    samples.push((performance.now() - t0) * 1000)
  }
  console.log(`one scrape (metrics.text(), ${metrics.text().split('\n').length} lines): median ${median(samples).toFixed(0)} µs`)
  // Tracing without subscribers is this check per command (diagnostics_channel's hasSubscribers).
  console.log(`tracing off: the per-command check costs ${nsPerCall(tracingCommands).toFixed(1)} ns\n`)
}
