// Failover: the same Redis object keeps answering while a REAL redis-server is absent,
// killed (-9), hung (SIGSTOP) or restarted; memory:// clients; bounds; health().
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis, freePort } from './helpers/redis-server.mjs'
import { traffic } from './helpers/traffic.mjs'

const require = createRequire(import.meta.url)
const { Redis } = require('../lib/index.js')

const clients = []
const servers = []
after(async () => {
  for (const c of clients) c.disconnect()
  for (const s of servers) await s.stop()
})

function client(...args) {
  const c = new Redis(...args)
  c.on('error', () => {})
  clients.push(c)
  return c
}

async function server() {
  const s = await startRedis()
  servers.push(s)
  return s
}

/** A client with ioredis semantics, for reading Redis directly. */
function direct(s) {
  return client(s.url, { fallback: false })
}

function record(c, names = ['fallback', 'recover']) {
  const seen = []
  for (const name of names) c.on(name, () => seen.push(name))
  return seen
}

async function waitFor(condition, what, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

let names = 0
const memoryUrl = () => `memory://t${process.pid}x${++names}`

test('Redis absent at start: the first call is answered from memory without waiting for reconnects', async () => {
  const port = await freePort()
  const r = client(port, '127.0.0.1')
  const connecting = []
  r.on('connecting', () => connecting.push(Date.now()))
  const fallback = new Promise((resolve) => r.once('fallback', resolve))
  assert.equal(r.backend, 'redis')
  assert.equal(await r.set('k', 'v'), 'OK')
  assert.equal(await r.get('k'), 'v')
  const err = await fallback
  assert.equal(err.code, 'ECONNREFUSED')
  assert.equal(r.backend, 'memory')
  // Answered after the first refused attempt, not after a series of reconnects.
  assert.ok(connecting.length <= 2, `connect attempts before the answer: ${connecting.length}`)
  const h = await r.health()
  assert.equal(h.status, 'degraded')
  assert.equal(h.backend, 'memory')
  assert.equal(h.connected, false)
  assert.match(h.lastError, /ECONNREFUSED/)
  assert.equal(h.counters.fallbacks, 1)
  assert.ok(h.counters.memoryCommands >= 2)
})

test('kill -9 under load (concurrency 64): zero failed calls, memory then Redis, events once each', async () => {
  const s = await server()
  const r = client(s.url)
  const events = record(r)
  await r.ping()
  const load = traffic((w, i) => (i % 2 ? r.incr(`n:${w}`) : r.get(`n:${w}`)), 64)
  await waitFor(() => load.ok >= 3000, 'traffic on Redis')
  await s.kill()
  await waitFor(() => r.backend === 'memory', 'the fallback')
  const atFallback = load.ok
  await waitFor(() => load.ok >= atFallback + 4000, 'traffic on memory')
  await s.restart()
  await waitFor(() => r.backend === 'redis', 'the recovery')
  const atRecover = load.ok
  await waitFor(() => load.ok >= atRecover + 3000, 'traffic on Redis again')
  const stats = await load.stop()
  assert.deepEqual(stats.failed, [])
  assert.ok(stats.ok >= 10_000, `calls: ${stats.ok}`)
  assert.deepEqual(events, ['fallback', 'recover'])
  // The restarted server lost everything (no persistence); the counters it has now
  // were replayed from memory and continued there.
  const d = direct(s)
  const n0 = Number(await d.get('n:0'))
  assert.ok(n0 > 0, `n:0 = ${n0}`)
  const h = await r.health()
  assert.equal(h.status, 'healthy')
  assert.equal(h.counters.recoveries, 1)
  assert.ok(h.counters.replayedKeys >= 64)
})

test('SIGSTOP (hung Redis): calls are answered from memory; SIGCONT: back to Redis', async () => {
  const s = await server()
  const r = client(s.url, { fallbackTimeout: 200 })
  const events = record(r)
  await r.set('before', '1')
  const load = traffic((w) => r.incr(`c:${w}`), 16)
  await waitFor(() => load.ok >= 1000, 'traffic on Redis')
  s.pause()
  try {
    await waitFor(() => r.backend === 'memory', 'the fallback')
    const atFallback = load.ok
    await waitFor(() => load.ok >= atFallback + 2000, 'traffic on memory')
  } finally {
    s.resume()
  }
  await waitFor(() => r.backend === 'redis', 'the recovery')
  const stats = await load.stop()
  assert.deepEqual(stats.failed, [])
  assert.deepEqual(events, ['fallback', 'recover'])
  const h = await r.health()
  assert.equal(h.counters.fallbacks, 1)
  assert.match(h.lastError, /did not answer within 200 ms/)
  // The hung server kept its data; the outage's counters were written over it.
  assert.equal(await direct(s).get('before'), '1')
})

test('restart: the outage writes are replayed to Redis with their TTLs (read by a second client)', async () => {
  const s = await server()
  const r = client(s.url)
  await r.set('keep', 'from-redis')
  await r.set('doomed', 'x')
  await s.kill()
  await waitFor(() => r.backend === 'memory', 'the fallback')
  await r.set('str', 'v', 'PX', 60_000)
  await r.hset('hash', { a: '1', b: '2' })
  await r.rpush('list', 'x', 'y', 'z')
  await r.sadd('set', 'm1', 'm2')
  await r.zadd('zset', 1.5, 'one', 2, 'two')
  await r.incrby('counter', 41)
  await r.incr('counter')
  await r.set('tmp', '1')
  await r.del('tmp')
  await r.select(3)
  await r.set('in-db3', 'yes')
  await r.select(0)
  const recovered = new Promise((resolve) => r.once('recover', resolve))
  await s.restart()
  await recovered
  const d = direct(s)
  assert.equal(await d.get('str'), 'v')
  const pttl = await d.pttl('str')
  assert.ok(pttl > 0 && pttl <= 60_000, `pttl ${pttl}`)
  assert.deepEqual(await d.hgetall('hash'), { a: '1', b: '2' })
  assert.deepEqual(await d.lrange('list', 0, -1), ['x', 'y', 'z'])
  assert.deepEqual((await d.smembers('set')).sort(), ['m1', 'm2'])
  assert.deepEqual(await d.zrange('zset', 0, -1, 'WITHSCORES'), ['one', '1.5', 'two', '2'])
  assert.equal(await d.get('counter'), '42')
  assert.equal(await d.ttl('hash'), -1)
  assert.equal(await d.exists('tmp'), 0)
  // The restarted server starts empty: what only Redis had before is gone.
  assert.equal(await d.get('keep'), null)
  await d.select(3)
  assert.equal(await d.get('in-db3'), 'yes')
  // The client reads Redis again, and the memory engine was emptied.
  assert.equal(await r.get('counter'), '42')
  assert.equal((await r.health()).memory.keys, 0)
})

test('the last SELECT that succeeded is kept: selected again after a reconnect, used by an outage and its replay', async () => {
  const s = await server()
  const r = client(s.url)
  const selects = []
  r.on('select', (db) => selects.push(db))
  await r.select(2)
  await r.select(2)
  await r.set('where', 'db2')
  // Refused by Redis: the event fires as in ioredis, but db 2 stays the one to reconnect to.
  await assert.rejects(r.select(99), /DB index is out of range/)
  assert.deepEqual(selects, [2, 99])
  const ready = new Promise((resolve) => r.once('ready', resolve))
  await direct(s).client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
  await ready
  assert.equal(await r.get('where'), 'db2')
  await s.kill()
  await waitFor(() => r.backend === 'memory', 'the fallback')
  await r.set('outage', 'in-db2')
  assert.equal(await r.get('outage'), 'in-db2')
  const recovered = new Promise((resolve) => r.once('recover', resolve))
  await s.restart()
  await recovered
  const d = direct(s)
  assert.equal(await d.get('outage'), null, 'replayed into db 0')
  await d.select(2)
  assert.equal(await d.get('outage'), 'in-db2')
  // The client's new connection is on db 2 too.
  assert.equal(await r.get('outage'), 'in-db2')
})

test("recovery: 'discard' leaves Redis as it was", async () => {
  const s = await server()
  const r = client(s.url, { recovery: 'discard' })
  await s.kill()
  await waitFor(() => r.backend === 'memory', 'the fallback')
  await r.set('outage-only', '1')
  const recovered = new Promise((resolve) => r.once('recover', resolve))
  await s.restart()
  await recovered
  assert.equal(await direct(s).get('outage-only'), null)
  const h = await r.health()
  assert.equal(h.counters.discardedKeys, 1)
  assert.equal(h.memory.keys, 0)
})

test('CLIENT KILL and disconnect(true) are not outages: no fallback, commands go on on Redis', async () => {
  const s = await server()
  const r = client(s.url, { connectionName: 'victim' })
  const events = record(r)
  await r.set('a', '1')
  const load = traffic(() => r.incr('kills'), 8)
  await waitFor(() => load.ok >= 500, 'traffic')
  const d = direct(s)
  await d.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
  r.disconnect(true)
  await sleep(300)
  const stats = await load.stop()
  assert.deepEqual(stats.failed, [])
  assert.deepEqual(events, [])
  assert.equal(r.backend, 'redis')
  // Commands in flight at a kill may have run before the reply was lost and run again
  // on the new connection (at least once, as ioredis resends them): at most 8 per kill.
  const onRedis = Number(await d.get('kills'))
  assert.ok(onRedis >= stats.ok && onRedis <= stats.ok + 16, `${onRedis} on Redis for ${stats.ok} calls`)
})

test('quit() and disconnect() never fall back: later calls fail as in ioredis', async () => {
  const s = await server()
  const r = client(s.url)
  const events = record(r)
  await r.set('x', '1')
  const pending = r.get('x')
  assert.equal(await r.quit(), 'OK')
  assert.equal(await pending, '1')
  await assert.rejects(r.get('x'), /Connection is closed/)
  const r2 = client(s.url)
  const events2 = record(r2)
  await r2.ping()
  r2.disconnect()
  await assert.rejects(r2.get('x'), /Connection is closed/)
  await sleep(400)
  assert.deepEqual(events, [])
  assert.deepEqual(events2, [])
  // Down and then quit: quit still resolves, nothing falls back afterwards.
  const r3 = client(s.url)
  await r3.ping()
  await s.kill()
  await waitFor(() => r3.backend === 'memory', 'the fallback')
  assert.equal(await r3.quit(), 'OK')
  await assert.rejects(r3.get('x'), /Connection is closed/)
})

test('pub/sub keeps working in-process during an outage and resubscribes on Redis after recovery', async () => {
  const s = await server()
  const pub = client(s.url)
  const sub = client(s.url)
  const got = []
  sub.on('message', (channel, message) => got.push(`${channel}:${message}`))
  await sub.subscribe('news')
  await pub.publish('news', 'on-redis')
  await waitFor(() => got.includes('news:on-redis'), 'the message on Redis')
  await s.kill()
  await waitFor(async () => {
    await pub.publish('news', 'probe')
    return pub.backend === 'memory'
  }, 'the publisher on memory')
  await waitFor(async () => {
    await pub.publish('news', 'in-memory')
    return got.includes('news:in-memory')
  }, 'the message in memory')
  const recovered = new Promise((resolve) => pub.once('recover', resolve))
  await s.restart()
  await recovered
  // A publisher that never failed over, on the restarted server.
  const other = direct(s)
  await waitFor(async () => {
    await other.publish('news', 'after')
    return got.includes('news:after')
  }, 'the message on Redis after recovery')
})

test('memory:// never connects; clients of one name share data, other names are separate; REDIS_URL', async () => {
  const url = memoryUrl()
  const a = client(url)
  const errors = []
  a.on('error', (e) => errors.push(e))
  assert.equal(a.backend, 'memory')
  await new Promise((resolve) => a.once('ready', resolve))
  assert.equal(a.status, 'ready')
  await a.set('shared', '1')
  const b = client(url)
  assert.equal(await b.get('shared'), '1')
  assert.equal(await client(memoryUrl()).get('shared'), null)
  const db2 = client(`${url}/2`)
  assert.equal(await db2.get('shared'), null)
  await db2.set('only2', 'x')
  await a.select(2)
  assert.equal(await a.get('only2'), 'x')
  assert.deepEqual(errors, [])
  const h = await a.health()
  assert.equal(h.status, 'healthy')
  assert.equal(h.backend, 'memory')
  assert.equal(h.connected, false)
  // REDIS_URL names the server when the constructor does not.
  const saved = process.env.REDIS_URL
  process.env.REDIS_URL = url
  try {
    const fromEnv = client()
    assert.equal(fromEnv.backend, 'memory')
    assert.equal(await fromEnv.get('shared'), '1')
    assert.equal(client({ port: 1, host: '127.0.0.1', lazyConnect: true }).backend, 'redis')
  } finally {
    if (saved === undefined) delete process.env.REDIS_URL
    else process.env.REDIS_URL = saved
  }
  // Pipelines, transactions, scripts and pub/sub on memory://.
  assert.deepEqual(await a.pipeline().set('p', '1').incr('p').exec(), [
    [null, 'OK'],
    [null, 2],
  ])
  assert.deepEqual(await a.multi().incr('p').get('p').exec(), [
    [null, 3],
    [null, '3'],
  ])
  await assert.rejects(a.incr('only2'), /not an integer/)
  assert.equal(await a.eval('return redis.call("GET", KEYS[1])', 1, 'p'), '3')
  const got = []
  const sub = client(url)
  sub.on('message', (c, m) => got.push(m))
  await sub.subscribe('ch')
  assert.equal(await b.publish('ch', 'hi'), 1)
  await waitFor(() => got.length === 1, 'the message')
  assert.equal(await a.quit(), 'OK')
  await assert.rejects(a.get('p'), /Connection is closed/)
  // `a` had selected db 2; the data outlives the client that wrote it.
  await b.select(2)
  assert.equal(await b.get('p'), '3')
})

test('bounds: 1,000,000 distinct keys with maxKeys 100000 keep dbsize <= 100000, evictions counted', async () => {
  const r = client(memoryUrl(), { memory: { maxKeys: 100_000 } })
  const value = 'x'.repeat(32)
  for (let start = 0; start < 1_000_000; start += 20_000) {
    const writes = []
    for (let i = start; i < start + 20_000; i++) writes.push(r.set(`key:${i}`, value))
    await Promise.all(writes)
  }
  const size = await r.dbsize()
  assert.ok(size <= 100_000 && size > 90_000, `dbsize ${size}`)
  const h = await r.health()
  assert.ok(h.memory.evictions >= 900_000, `evictions ${h.memory.evictions}`)
  // About 100 bytes a key: bounded by the kept keys, not by the million written.
  assert.ok(h.memory.bytes < 100_000 * 200, `bytes ${h.memory.bytes}`)
  assert.equal(await r.get('key:999999'), value)
})

test('fallback: false keeps pure ioredis semantics (errors, no memory)', async () => {
  const port = await freePort()
  const r = client(port, '127.0.0.1', { fallback: false, maxRetriesPerRequest: 0, retryStrategy: () => 20 })
  const events = record(r)
  await assert.rejects(r.get('x'), (err) => err.name === 'MaxRetriesPerRequestError')
  assert.equal(r.backend, 'redis')
  assert.deepEqual(events, [])
  const h = await r.health()
  assert.equal(h.status, 'degraded')
  assert.equal(h.latencyMs, null)
  assert.deepEqual(h.counters, { fallbacks: 0, recoveries: 0, memoryCommands: 0, replayedKeys: 0, discardedKeys: 0, expiredKeys: 0 })
})

test('failover options: bad values get a TypeError naming the option', () => {
  const bad = [
    [{ fallback: 'yes' }, /"fallback"/],
    [{ fallback: true }, /"fallback"/],
    [{ fallbackTimeout: -1 }, /"fallbackTimeout"/],
    [{ fallbackTimeout: Number.NaN }, /"fallbackTimeout"/],
    [{ fallbackTimeout: 1.5 }, /"fallbackTimeout"/],
    [{ fallbackTimeout: 2 ** 40 }, /"fallbackTimeout"/],
    [{ fallbackTimeout: 'soon' }, /"fallbackTimeout"/],
    [{ recovery: 'merge' }, /"recovery"/],
    [{ memory: 5 }, /"memory"/],
    [{ memory: [] }, /"memory"/],
    [{ memory: { maxKeys: 0 } }, /"memory.maxKeys"/],
    [{ memory: { maxKeys: -5 } }, /"memory.maxKeys"/],
    [{ memory: { maxKeys: Number.POSITIVE_INFINITY } }, /"memory.maxKeys"/],
    [{ memory: { maxMemoryBytes: '1mb' } }, /"memory.maxMemoryBytes"/],
    [{ memory: { maxMemoryBytes: 2 ** 64 } }, /"memory.maxMemoryBytes"/],
  ]
  for (const [options, message] of bad) {
    assert.throws(() => new Redis({ lazyConnect: true, ...options }), (err) => err instanceof TypeError && message.test(err.message), JSON.stringify(options))
  }
  assert.throws(() => new Redis('memory://x/16'), /"db"/)
  assert.throws(() => new Redis('memory:x'), /memory URL/)
  assert.throws(() => new Redis('memory://x', { fallback: false }), /memory:\/\//)
  const ok = new Redis({ lazyConnect: true, fallback: false, fallbackTimeout: 0, recovery: 'discard', memory: { maxKeys: 10, maxMemoryBytes: null } })
  assert.equal(ok.options.memory.maxKeys, 10)
  ok.disconnect()
})
