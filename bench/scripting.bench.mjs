// EVALSHA of rate-limit-redis's increment script (the script the real package loads):
// bulwark on memory:// and bulwark on redis-server, each against ioredis on the same
// redis-server, at concurrency 1 and 64.
import IORedis from 'ioredis'
import { RedisStore } from 'rate-limit-redis'
import { Redis } from '../lib/index.js'
import { load, printTable } from './harness.mjs'

const CONCURRENCY = [1, 64]
const WINDOW_MS = '60000'

/** The increment script exactly as rate-limit-redis sends it (captured from its SCRIPT LOAD). */
async function rateLimitRedisScript() {
  const loaded = []
  const store = new RedisStore({
    sendCommand: async (...command) => {
      loaded.push(command[2])
      return 'sha'
    },
  })
  await store.init({ windowMs: Number(WINDOW_MS) })
  const increment = loaded.find((lua) => lua.includes('INCR'))
  if (!increment) throw new Error('rate-limit-redis did not load an increment script')
  return increment
}

export default async function ({ redis }) {
  const lua = await rateLimitRedisScript()
  const clients = {
    'bulwark memory://': new Redis('memory://bench-scripting'),
    'bulwark redis': new Redis(redis.port, '127.0.0.1'),
    ioredis: new IORedis(redis.port, '127.0.0.1'),
  }
  const ops = Number(process.env.BENCH_OPS || 20000)
  const rows = { 'bulwark memory://': [], 'bulwark redis': [] }
  try {
    const shas = {}
    for (const [name, c] of Object.entries(clients)) shas[name] = await c.script('LOAD', lua)
    for (const concurrency of CONCURRENCY) {
      const n = concurrency === 1 ? ops >> 2 : ops
      const measured = {}
      for (const [name, c] of Object.entries(clients)) {
        const sha = shas[name]
        measured[name] = await load((i) => c.evalsha(sha, 1, `bench:rl:${i & 1023}`, WINDOW_MS), { ops: n, concurrency, repeats: 5 })
      }
      const anchor = measured.ioredis
      for (const name of Object.keys(rows)) {
        const a = measured[name]
        const c = `EVALSHA c=${concurrency}`
        rows[name].push({ case: c, unit: 'ops/s', bulwark: a.opsPerSec, anchor: anchor.opsPerSec, higherIsBetter: true })
        rows[name].push({ case: c, unit: 'p50 µs', bulwark: a.p50Us, anchor: anchor.p50Us, higherIsBetter: false })
        rows[name].push({ case: c, unit: 'p99 µs', bulwark: a.p99Us, anchor: anchor.p99Us, higherIsBetter: false })
      }
    }
    printTable('rate-limit-redis script by EVALSHA: bulwark on memory:// vs ioredis on redis-server', 'ioredis', rows['bulwark memory://'])
    printTable('rate-limit-redis script by EVALSHA: bulwark vs ioredis, both on redis-server', 'ioredis', rows['bulwark redis'])
  } finally {
    for (const c of Object.values(clients)) await c.quit()
  }
}
