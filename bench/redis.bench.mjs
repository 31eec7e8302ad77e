// bulwark Redis vs ioredis (default, and enableAutoPipelining) on the same redis-server:
// GET, SET EX, INCR and a 70/20/10 GET/SET/INCR mix at concurrency 1, 16 and 256.
import IORedis from 'ioredis'
import { Redis } from '../lib/index.js'
import { load, printTable } from './harness.mjs'

const CONCURRENCY = [1, 16, 256]

function workloads(client) {
  return {
    GET: (i) => client.get(`bench:k${i & 1023}`),
    'SET EX': (i) => client.set(`bench:k${i & 1023}`, 'value-0123456789', 'EX', 60),
    INCR: (i) => client.incr(`bench:n${i & 63}`),
    'mix 70/20/10': (i) => {
      const r = (i * 7919) % 10
      if (r < 7) return client.get(`bench:k${i & 1023}`)
      if (r < 9) return client.set(`bench:k${i & 1023}`, 'value-0123456789', 'EX', 60)
      return client.incr(`bench:n${i & 63}`)
    },
  }
}

export default async function ({ redis }) {
  const clients = {
    bulwark: new Redis(redis.port, '127.0.0.1'),
    ioredis: new IORedis(redis.port, '127.0.0.1'),
    'ioredis+autopipelining': new IORedis(redis.port, '127.0.0.1', { enableAutoPipelining: true }),
  }
  for (const c of Object.values(clients)) await c.ping()
  const ops = Number(process.env.BENCH_OPS || 20000)
  const results = { ioredis: [], 'ioredis+autopipelining': [] }
  try {
    for (const concurrency of CONCURRENCY) {
      const runs = Object.fromEntries(Object.entries(clients).map(([name, c]) => [name, workloads(c)]))
      for (const name of Object.keys(runs.bulwark)) {
        const n = concurrency === 1 ? ops >> 2 : ops
        const measured = {}
        for (const client of Object.keys(clients)) measured[client] = await load(runs[client][name], { ops: n, concurrency, repeats: 5 })
        for (const anchor of Object.keys(results)) {
          const a = measured.bulwark
          const b = measured[anchor]
          results[anchor].push({ case: `${name} c=${concurrency}`, unit: 'ops/s', bulwark: a.opsPerSec, anchor: b.opsPerSec, higherIsBetter: true })
          results[anchor].push({ case: `${name} c=${concurrency}`, unit: 'p50 µs', bulwark: a.p50Us, anchor: b.p50Us, higherIsBetter: false })
        }
      }
    }
    for (const [anchor, rows] of Object.entries(results)) printTable(`Redis client: bulwark vs ${anchor}`, anchor, rows)
  } finally {
    for (const c of Object.values(clients)) await c.quit()
  }
}
