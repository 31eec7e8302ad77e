// What the metrics cost: the same client work with command metrics on (the default)
// and off (`metrics: false`), on a real redis-server and on memory://, at concurrency
// 256, interleaved so machine noise hits both sides alike. The "anchor" is metrics off;
// the target is a ratio of at least 0.95 (at most 5% of throughput). Also what one
// scrape (`metrics.text()`) takes.
import { Redis, metrics } from '../lib/index.js'
import { load, median, printTable } from './harness.mjs'
import { performance } from 'node:perf_hooks'

const CONCURRENCY = 256

function mix(client) {
  return (i) => {
    const r = (i * 7919) % 10
    if (r < 7) return client.get(`bench:m${i & 1023}`)
    if (r < 9) return client.set(`bench:m${i & 1023}`, 'value-0123456789', 'EX', 60)
    return client.incr(`bench:mn${i & 63}`)
  }
}

export default async function ({ redis }) {
  const ops = Number(process.env.BENCH_OPS || 20000)
  const rounds = Number(process.env.BENCH_ROUNDS || 6)
  const targets = {
    redis: (m) => new Redis(redis.port, '127.0.0.1', { metrics: m, connectionName: `bench-${m ? 'on' : 'off'}` }),
    'memory://': (m) => new Redis(`memory://bench-metrics-${m ? 'on' : 'off'}`, { metrics: m }),
  }
  const rows = []
  for (const [where, make] of Object.entries(targets)) {
    const on = make(true)
    const off = make(false)
    await on.ping()
    await off.ping()
    const runs = { on: [], off: [] }
    try {
      // Interleaved rounds, each side a median of 3 runs, the side going first
      // alternating: the machine is shared and its load swings.
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off']
        for (const side of order) runs[side].push((await load(mix(side === 'on' ? on : off), { ops, concurrency: CONCURRENCY, repeats: 3 })).opsPerSec)
      }
    } finally {
      await on.quit()
      await off.quit()
    }
    rows.push({ case: `${where} GET/SET/INCR mix c=${CONCURRENCY}`, unit: 'ops/s', bulwark: median(runs.on), anchor: median(runs.off), higherIsBetter: true })
  }
  printTable('Command metrics on (bulwark default) vs off (metrics: false)', 'metrics off', rows)
  const samples = []
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now()
    metrics.text()
    samples.push((performance.now() - t0) * 1000)
  }
  console.log(`one scrape (metrics.text(), ${metrics.text().split('\n').length} lines): median ${median(samples).toFixed(0)} µs\n`)
}
