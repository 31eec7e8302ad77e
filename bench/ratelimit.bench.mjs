// Rate-limit decisions/s and p99 at concurrency 1 and 64, on the same redis-server:
// - the express-rate-limit store: bulwark RedisStore (over bulwark's client, and over
//   ioredis's sendCommand) vs rate-limit-redis over ioredis;
// - RateLimiter (fixed window, bulwark client) vs rate-limiter-flexible RateLimiterRedis
//   (ioredis);
// - RateLimiter { memory: true } vs RateLimiterMemory.
// Limits are high enough that every decision is an admission (rate-limiter-flexible
// rejects a promise when limited, which would measure its error path instead).
import { createRequire } from 'node:module'
import { load, printTable } from './harness.mjs'

const require = createRequire(import.meta.url)
const IORedis = require('ioredis')
const OriginalRedisStore = require('rate-limit-redis').default
const { RateLimiterRedis, RateLimiterMemory } = require('rate-limiter-flexible')
const { RateLimitStore, RateLimiter, Redis } = require('../lib/index.js')

const CONCURRENCY = [1, 64]
const KEYS = Array.from({ length: 1024 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)
const key = (i) => KEYS[i & 1023]

function rows(name, concurrency, a, b) {
  return [
    { case: `${name} c=${concurrency}`, unit: 'decisions/s', bulwark: a.opsPerSec, anchor: b.opsPerSec, higherIsBetter: true },
    { case: `${name} c=${concurrency}`, unit: 'p99 µs', bulwark: a.p99Us, anchor: b.p99Us, higherIsBetter: false },
  ]
}

export default async function ({ redis }) {
  const bulwark = new Redis(redis.port, '127.0.0.1')
  const io = new IORedis(redis.port, '127.0.0.1')
  const ioForOurs = new IORedis(redis.port, '127.0.0.1')
  await Promise.all([bulwark.ping(), io.ping(), ioForOurs.ping()])
  const ops = Number(process.env.BENCH_OPS || 20000)
  const run = (fn, concurrency) => load(fn, { ops: concurrency === 1 ? ops >> 2 : ops, concurrency, repeats: 5 })
  try {
    const erl = { windowMs: 60_000, limit: 1e9 }
    const ours = new RateLimitStore({ client: bulwark, prefix: 'bench-b:' })
    const oursIo = new RateLimitStore({ sendCommand: (c, ...a) => ioForOurs.call(c, ...a), prefix: 'bench-bi:' })
    const original = new OriginalRedisStore({ sendCommand: (c, ...a) => io.call(c, ...a), prefix: 'bench-o:' })
    ours.init(erl)
    oursIo.init(erl)
    await original.init(erl)
    const store = []
    const storeOverIoredis = []
    for (const c of CONCURRENCY) {
      const a = await run((i) => ours.increment(key(i)), c)
      const ai = await run((i) => oursIo.increment(key(i)), c)
      const b = await run((i) => original.increment(key(i)), c)
      store.push(...rows('increment', c, a, b))
      storeOverIoredis.push(...rows('increment', c, ai, b))
    }
    printTable('express-rate-limit store: bulwark RedisStore (bulwark client) vs rate-limit-redis (ioredis)', 'rate-limit-redis', store)
    printTable('express-rate-limit store: bulwark RedisStore over ioredis sendCommand vs rate-limit-redis (ioredis)', 'rate-limit-redis', storeOverIoredis)

    const limiter = new RateLimiter({ client: bulwark, limit: 1e9, windowMs: 60_000, prefix: 'bench-l:' })
    const limiterIo = new RateLimiter({ sendCommand: (c, ...a) => ioForOurs.call(c, ...a), limit: 1e9, windowMs: 60_000, prefix: 'bench-li:' })
    const flexible = new RateLimiterRedis({ storeClient: io, points: 1e9, duration: 60, keyPrefix: 'bench-f' })
    const standalone = []
    const standaloneIo = []
    for (const c of CONCURRENCY) {
      const a = await run((i) => limiter.consume(key(i)), c)
      const ai = await run((i) => limiterIo.consume(key(i)), c)
      const b = await run((i) => flexible.consume(key(i)), c)
      standalone.push(...rows('consume', c, a, b))
      standaloneIo.push(...rows('consume', c, ai, b))
    }
    printTable('RateLimiter (Redis, fixed window, bulwark client) vs rate-limiter-flexible RateLimiterRedis (ioredis)', 'RateLimiterRedis', standalone)
    printTable('RateLimiter (Redis, fixed window, over ioredis sendCommand) vs RateLimiterRedis (ioredis)', 'RateLimiterRedis', standaloneIo)

    const memory = new RateLimiter({ memory: true, limit: 1e9, windowMs: 60_000 })
    const flexibleMemory = new RateLimiterMemory({ points: 1e9, duration: 60 })
    const inProcess = []
    for (const c of CONCURRENCY) {
      inProcess.push(...rows('consume', c, await run((i) => memory.consume(key(i)), c), await run((i) => flexibleMemory.consume(key(i)), c)))
    }
    printTable('RateLimiter { memory: true } vs rate-limiter-flexible RateLimiterMemory', 'RateLimiterMemory', inProcess)
  } finally {
    bulwark.disconnect()
    io.disconnect()
    ioForOurs.disconnect()
  }
}
