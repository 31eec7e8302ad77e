// Cache through Redis outages: kill -9 of a REAL redis-server while 64 callers wrap keys
// (misses, L1 hits, L2 hits, the fill lock): zero failed calls; then recovery: writes reach
// Redis again and the invalidation bus works again.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis } from './helpers/redis-server.mjs'
import { traffic } from './helpers/traffic.mjs'

const require = createRequire(import.meta.url)
const { Cache, Redis } = require('../lib/index.js')

const clients = []
const caches = []
const servers = []
after(async () => {
  for (const c of caches) c.close()
  for (const c of clients) c.disconnect()
  for (const s of servers) await s.stop()
})

function client(url, options) {
  const c = new Redis(url, options)
  c.on('error', () => {})
  clients.push(c)
  return c
}

function cache(url, options) {
  const c = new Cache({ client: client(url), ...options })
  c.on('error', () => {})
  caches.push(c)
  return c
}

async function waitFor(condition, what, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

test('kill -9 of Redis under wrap load (c=64, two instances, lock on): zero failed wraps, then recovery', async () => {
  const s = await startRedis()
  servers.push(s)
  // Short TTLs keep misses (factory + L2 writes + locks) flowing through the outage; a
  // second instance without L1 makes every call an L2 read.
  const options = { prefix: 'out:', ttl: 100, grace: '1m', lock: { wait: 2000 }, timeouts: { hard: 5000 } }
  const a = cache(s.url, options)
  const b = cache(s.url, { ...options, l1: false })
  await Promise.all([a.ready(), b.ready()])
  let factoryRuns = 0
  const factory = async ({ key }) => {
    factoryRuns++
    await sleep(1)
    return { key, at: Date.now() }
  }
  const load = traffic(async (w, i) => {
    const c = w % 2 ? a : b
    const key = `k${(w * 7 + i) % 50}`
    const v = await c.wrap(key, factory)
    assert.equal(v.key, key)
  }, 64)
  await waitFor(() => load.ok >= 2000, 'traffic on Redis')
  await s.kill()
  await waitFor(() => a.client.backend === 'memory' && b.client.backend === 'memory', 'the fallback')
  const atFallback = load.ok
  const runsAtFallback = factoryRuns
  await waitFor(() => load.ok >= atFallback + 3000 && factoryRuns > runsAtFallback + 20, 'wraps (and fills) answered from memory')
  await s.restart()
  await waitFor(() => a.client.backend === 'redis' && b.client.backend === 'redis', 'the recovery')
  const atRecover = load.ok
  await waitFor(() => load.ok >= atRecover + 2000, 'traffic on Redis again')
  const stats = await load.stop()
  assert.deepEqual(stats.failed, [], 'no wrap call failed')
  assert.ok(stats.ok >= 7000, `calls: ${stats.ok}`)

  // Recovered: a write lands in Redis, and the bus carries it to the other instance.
  const direct = client(s.url, { fallback: false })
  await a.set('after', 'recovery', { ttl: '1h' })
  assert.match(await direct.get('out:k:after'), /"recovery"$/)
  const c = cache(s.url, { prefix: 'out:', ttl: '1h' })
  await c.ready()
  assert.equal(await c.get('after'), 'recovery')
  await waitFor(async () => {
    await a.set('after', 'changed', { ttl: '1h' })
    return (await c.get('after')) === 'changed'
  }, 'the bus to carry a set after recovery')
  for (const x of [a, b]) assert.equal(x.stats().inFlight, 0)
})

test('Redis absent from the start: the cache works from memory, the lock degrades to single-flight', async () => {
  const s = await startRedis()
  servers.push(s)
  const url = s.url
  await s.stop()
  const c = cache(url, { prefix: 'absent:', lock: true })
  let runs = 0
  const values = await Promise.all(
    Array.from({ length: 200 }, () =>
      c.wrap('k', async () => {
        runs++
        await sleep(20)
        return 'computed'
      }),
    ),
  )
  assert.equal(runs, 1)
  for (const v of values) assert.equal(v, 'computed')
  assert.equal(c.client.backend, 'memory')
  assert.equal(await c.get('k'), 'computed')
  await c.del('k')
  assert.equal(await c.get('k'), undefined)
})
