// Rate-limit decisions/s and p99 at concurrency 1 and 64, on the same redis-server:
// - the express-rate-limit store: bulwark RedisStore (over bulwark's client, and over
//   ioredis's sendCommand) vs rate-limit-redis over ioredis;
// - RateLimiter (fixed window, bulwark client) vs rate-limiter-flexible RateLimiterRedis
//   (ioredis);
// - RateLimiter { memory: true }, and the store and RateLimiter on a memory:// client (the
//   memory engine's native known scripts), vs RateLimiterMemory;
// - Redis CPU per decision at c=64 (INFO cpu and commandstats, read on a separate
//   connection around each run) next to the package replaced.
// In process (the memory section), every contender first runs one throw-away round at each
// concurrency, so none is measured while it still pays for the JIT or first allocations.
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

/** Redis's CPU (user + sys, µs) and script time (commandstats, µs) so far. */
async function redisCpu(io) {
  const info = await io.info('all')
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1])
  let scriptUs = 0
  for (const m of info.matchAll(/cmdstat_(?:eval|evalsha|evalsha_ro|eval_ro):calls=\d+,usec=(\d+)/g)) scriptUs += Number(m[1])
  return { cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, scriptUs }
}

/** `run(fn)` counting decisions, with Redis's CPU per decision over it. */
async function withCpu(io, run, fn) {
  let decisions = 0
  const before = await redisCpu(io)
  const result = await run((i) => {
    decisions++
    return fn(i)
  })
  const after = await redisCpu(io)
  result.cpuUs = (after.cpuUs - before.cpuUs) / decisions
  result.scriptUs = (after.scriptUs - before.scriptUs) / decisions
  return result
}

function cpuRows(name, a, b) {
  return [
    { case: `${name} c=64`, unit: 'Redis CPU µs/decision', bulwark: a.cpuUs, anchor: b.cpuUs, higherIsBetter: false },
    { case: `${name} c=64`, unit: 'script µs/decision', bulwark: a.scriptUs, anchor: b.scriptUs, higherIsBetter: false },
  ]
}

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
  const ioStats = new IORedis(redis.port, '127.0.0.1')
  const memory = new Redis('memory://ratelimit-bench')
  await Promise.all([bulwark.ping(), io.ping(), ioForOurs.ping(), ioStats.ping(), memory.ping()])
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
      const measured = (fn) => (c === 64 ? withCpu(ioStats, (f) => run(f, c), fn) : run(fn, c))
      const a = await measured((i) => ours.increment(key(i)))
      const ai = await measured((i) => oursIo.increment(key(i)))
      const b = await measured((i) => original.increment(key(i)))
      store.push(...rows('increment', c, a, b))
      storeOverIoredis.push(...rows('increment', c, ai, b))
      if (c === 64) {
        store.push(...cpuRows('increment', a, b))
        storeOverIoredis.push(...cpuRows('increment', ai, b))
      }
    }
    printTable('express-rate-limit store: bulwark RedisStore (bulwark client) vs rate-limit-redis (ioredis)', 'rate-limit-redis', store)
    printTable('express-rate-limit store: bulwark RedisStore over ioredis sendCommand vs rate-limit-redis (ioredis)', 'rate-limit-redis', storeOverIoredis)

    const limiter = new RateLimiter({ client: bulwark, limit: 1e9, windowMs: 60_000, prefix: 'bench-l:' })
    const limiterIo = new RateLimiter({ sendCommand: (c, ...a) => ioForOurs.call(c, ...a), limit: 1e9, windowMs: 60_000, prefix: 'bench-li:' })
    const flexible = new RateLimiterRedis({ storeClient: io, points: 1e9, duration: 60, keyPrefix: 'bench-f' })
    const standalone = []
    const standaloneIo = []
    for (const c of CONCURRENCY) {
      const measured = (fn) => (c === 64 ? withCpu(ioStats, (f) => run(f, c), fn) : run(fn, c))
      const a = await measured((i) => limiter.consume(key(i)))
      const ai = await measured((i) => limiterIo.consume(key(i)))
      const b = await measured((i) => flexible.consume(key(i)))
      standalone.push(...rows('consume', c, a, b))
      standaloneIo.push(...rows('consume', c, ai, b))
      if (c === 64) {
        standalone.push(...cpuRows('consume', a, b))
        standaloneIo.push(...cpuRows('consume', ai, b))
      }
    }
    printTable('RateLimiter (Redis, fixed window, bulwark client) vs rate-limiter-flexible RateLimiterRedis (ioredis)', 'RateLimiterRedis', standalone)
    printTable('RateLimiter (Redis, fixed window, over ioredis sendCommand) vs RateLimiterRedis (ioredis)', 'RateLimiterRedis', standaloneIo)

    const inProcess = new RateLimiter({ memory: true, limit: 1e9, windowMs: 60_000 })
    const memoryStore = new RateLimitStore({ client: memory, prefix: 'bench-m:' })
    memoryStore.init(erl)
    const memoryLimiter = new RateLimiter({ client: memory, limit: 1e9, windowMs: 60_000, prefix: 'bench-ml:' })
    const flexibleMemory = new RateLimiterMemory({ points: 1e9, duration: 60 })
    const contenders = [
      (i) => flexibleMemory.consume(key(i)),
      (i) => inProcess.consume(key(i)),
      (i) => memoryStore.increment(key(i)),
      (i) => memoryLimiter.consume(key(i)),
    ]
    // In process, whoever runs first at a concurrency would also pay for the JIT and the
    // first allocations of every key: one throw-away round of all contenders first. A
    // decision here takes ~0.4 µs, so each run does 10× the decisions of a Redis run: a
    // few ms per run would measure where the garbage collector happened to fall.
    const localOps = ops * 10
    for (const c of CONCURRENCY) for (const fn of contenders) await load(fn, { ops: localOps, concurrency: c, repeats: 1 })
    const local = [[], [], []]
    for (const c of CONCURRENCY) {
      const measured = []
      for (const fn of contenders) measured.push(await load(fn, { ops: c === 1 ? localOps >> 2 : localOps, concurrency: c, repeats: 5 }))
      const [flexibleRun, ...ours] = measured
      for (let j = 0; j < ours.length; j++) local[j].push(...rows(j === 1 ? 'increment' : 'consume', c, ours[j], flexibleRun))
    }
    printTable('RateLimiter { memory: true } vs rate-limiter-flexible RateLimiterMemory', 'RateLimiterMemory', local[0])
    printTable("RedisStore on a memory:// client (native rate-limit-redis script) vs RateLimiterMemory", 'RateLimiterMemory', local[1])
    printTable('RateLimiter (fixed window) on a memory:// client (native script) vs RateLimiterMemory', 'RateLimiterMemory', local[2])
  } finally {
    bulwark.disconnect()
    io.disconnect()
    ioForOurs.disconnect()
    ioStats.disconnect()
    memory.disconnect()
  }
}
