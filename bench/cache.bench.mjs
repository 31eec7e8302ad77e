// Cache vs BentoCache 1.6 and cache-manager 7 (Keyv memory + @keyv/redis), on the same
// redis-server in one run:
// - wrap on an L1 hit (1,000 hot keys, concurrency 1); BentoCache both with its default
//   L1 (serialize: true, a JSON.parse per hit) and with serialize: false (live objects, as
//   bulwark and cache-manager hand back);
// - wrap on an L2 hit (no L1 anywhere, 1,000 keys in Redis) at concurrency 1 and 64, with a
//   bare GET of the same keys for reference through bulwark's client, ioredis and
//   @redis/client (the client under @keyv/redis), to tell the cache's cost from the client's;
// - a stampede: 1,000 concurrent wraps of one missing key, 50 ms factory: factory calls
//   and p99 latency (tiered setups, median of 5 keys).
// The machine is shared and noisy: contenders run in interleaved rounds (A B C D, A B C D…)
// and each figure is the median of its rounds, so a load spike hits all of them alike.
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import IORedis from 'ioredis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisDriver, redisBusDriver } from 'bentocache/drivers/redis'
import { createCache } from 'cache-manager'
import { Keyv } from 'keyv'
import KeyvRedis from '@keyv/redis'
import { createClient } from '@redis/client'
import { loadRun, median, printTable } from './harness.mjs'

const require = createRequire(import.meta.url)
const { Cache, Redis } = require('../lib/index.js')

const KEYS = 1024
const VALUE = { id: 42, name: 'user-42', email: 'user42@example.com', roles: ['reader', 'writer'], profile: { age: 30, city: 'Paris' } }
const TTL = 10 * 60_000
const key = (i) => `user:${i & (KEYS - 1)}`
const factory = () => VALUE

/** `{ name: { opsPerSec, p99Us } }`: medians over `rounds` interleaved runs of every contender. */
async function interleaved(contenders, { ops, concurrency, rounds = 7 }) {
  const runs = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
  for (const fn of Object.values(contenders)) await loadRun(fn, { ops: ops >> 2, concurrency })
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) runs[name].push(await loadRun(fn, { ops, concurrency }))
  }
  const out = {}
  for (const [name, list] of Object.entries(runs)) {
    out[name] = { opsPerSec: median(list.map((x) => x.opsPerSec)), p99Us: median(list.map((x) => x.p99Us)) }
  }
  return out
}

async function stampede(wrap, round) {
  let calls = 0
  const slow = async () => {
    calls++
    await sleep(50)
    return VALUE
  }
  const k = `stampede:${round}:${Math.random()}`
  const latencies = await Promise.all(
    Array.from({ length: 1000 }, async () => {
      const t0 = performance.now()
      await wrap(k, slow)
      return performance.now() - t0
    }),
  )
  latencies.sort((a, b) => a - b)
  return { calls, p99: latencies[989] }
}

export default async function ({ redis }) {
  const url = `redis://127.0.0.1:${redis.port}`
  const connection = { host: '127.0.0.1', port: redis.port }
  const client = new Redis(redis.port, '127.0.0.1')
  const io = new IORedis(redis.port, '127.0.0.1')
  const nodeRedis = createClient({ url })
  await nodeRedis.connect()
  await Promise.all([client.ping(), io.ping()])

  const ours = new Cache({ client, prefix: 'b:', ttl: TTL })
  const oursL2 = new Cache({ client, prefix: 'b:', ttl: TTL, l1: false })
  const bento = new BentoCache({
    default: 'tiered',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000 }))
        .useL2Layer(redisDriver({ connection, prefix: 'bento' }))
        .useBus(redisBusDriver({ connection })),
      // Its own L2 prefix: an L1 refilled from L2 crashes with serialize: false (bentocache #111).
      live: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false }))
        .useL2Layer(redisDriver({ connection, prefix: 'bento-live' }))
        .useBus(redisBusDriver({ connection })),
      l2: bentostore().useL2Layer(redisDriver({ connection, prefix: 'bento' })),
    },
  })
  const bentoLive = bento.use('live')
  const bentoL2 = bento.use('l2')
  const cmRedis = () => new Keyv({ store: new KeyvRedis(url), namespace: 'cm' })
  const cm = createCache({ stores: [new Keyv(), cmRedis()] })
  const cmL2 = createCache({ stores: [cmRedis()] })

  const wraps = {
    bulwark: (k, fn) => ours.wrap(k, fn, TTL),
    'BentoCache (default L1)': (k, fn) => bento.getOrSet({ key: k, factory: fn, ttl: TTL }),
    'BentoCache (serialize: false)': (k, fn) => bentoLive.getOrSet({ key: k, factory: fn, ttl: TTL }),
    'cache-manager': (k, fn) => cm.wrap(k, fn, TTL),
  }
  const l2Wraps = {
    bulwark: (k, fn) => oursL2.wrap(k, fn, TTL),
    BentoCache: (k, fn) => bentoL2.getOrSet({ key: k, factory: fn, ttl: TTL }),
    'cache-manager': (k, fn) => cmL2.wrap(k, fn, TTL),
    'bulwark client GET (reference)': (k) => client.get(`b:k:${k}`),
    'ioredis GET (reference)': (k) => io.get(`b:k:${k}`),
    '@redis/client GET (reference)': (k) => nodeRedis.get(`b:k:${k}`),
  }
  const ops = Number(process.env.BENCH_OPS || 20000)
  try {
    // Fill every tier once (L2 keys are shared by the tiered and the L2-only setups).
    for (const wrap of [...Object.values(wraps), l2Wraps.BentoCache, l2Wraps['cache-manager']]) {
      for (let i = 0; i < KEYS; i++) await wrap(key(i), factory)
    }

    const l1 = await interleaved(
      Object.fromEntries(Object.entries(wraps).map(([name, wrap]) => [name, (i) => wrap(key(i), factory)])),
      { ops: ops * 5, concurrency: 1 },
    )
    const l1Rows = (anchor) => [
      { case: 'wrap, L1 hit c=1', unit: 'ops/s', bulwark: l1.bulwark.opsPerSec, anchor: l1[anchor].opsPerSec, higherIsBetter: true },
      { case: 'wrap, L1 hit c=1', unit: 'p99 µs', bulwark: l1.bulwark.p99Us, anchor: l1[anchor].p99Us, higherIsBetter: false },
    ]
    for (const anchor of Object.keys(wraps).slice(1)) printTable(`Cache: wrap on an L1 hit, bulwark vs ${anchor}`, anchor, l1Rows(anchor))

    const l2Rows = {}
    for (const c of [1, 64]) {
      const measured = await interleaved(
        Object.fromEntries(Object.entries(l2Wraps).map(([name, wrap]) => [name, (i) => wrap(key(i), factory)])),
        { ops: c === 1 ? ops >> 2 : ops, concurrency: c },
      )
      for (const anchor of Object.keys(l2Wraps).slice(1)) {
        l2Rows[anchor] ??= []
        l2Rows[anchor].push(
          { case: `wrap, L2 hit c=${c}`, unit: 'ops/s', bulwark: measured.bulwark.opsPerSec, anchor: measured[anchor].opsPerSec, higherIsBetter: true },
          { case: `wrap, L2 hit c=${c}`, unit: 'p99 µs', bulwark: measured.bulwark.p99Us, anchor: measured[anchor].p99Us, higherIsBetter: false },
        )
      }
    }
    for (const [anchor, rows] of Object.entries(l2Rows)) printTable(`Cache: wrap on an L2 hit (no L1), bulwark vs ${anchor}`, anchor, rows)

    const stormers = ['bulwark', 'BentoCache (default L1)', 'cache-manager']
    const stormRuns = Object.fromEntries(stormers.map((name) => [name, []]))
    for (let r = 0; r < 5; r++) for (const name of stormers) stormRuns[name].push(await stampede(wraps[name], r))
    const storm = {}
    for (const [name, runs] of Object.entries(stormRuns)) {
      storm[name] = { calls: median(runs.map((x) => x.calls)), maxCalls: Math.max(...runs.map((x) => x.calls)), p99: median(runs.map((x) => x.p99)) }
    }
    for (const anchor of ['BentoCache (default L1)', 'cache-manager']) {
      printTable(`Cache: stampede, 1,000 concurrent wraps of a missing key, 50 ms factory, bulwark vs ${anchor}`, anchor, [
        { case: 'stampede', unit: 'factory calls', bulwark: storm.bulwark.calls, anchor: storm[anchor].calls, higherIsBetter: false },
        { case: 'stampede', unit: 'most calls/run', bulwark: storm.bulwark.maxCalls, anchor: storm[anchor].maxCalls, higherIsBetter: false },
        { case: 'stampede', unit: 'p99 ms', bulwark: storm.bulwark.p99, anchor: storm[anchor].p99, higherIsBetter: false },
      ])
    }
  } finally {
    ours.close()
    oursL2.close()
    await bento.disconnectAll()
    await cm.disconnect()
    await cmL2.disconnect()
    await client.quit()
    await io.quit()
    await nodeRedis.quit()
  }
}
