// The express-rate-limit store on a real redis-server: exact limits across two Express
// apps, data interop with rate-limit-redis (over ioredis) both ways, resetAll by SCAN,
// NOSCRIPT handling and bad input.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createRequire } from 'node:module'
import { startRedis, rawCommand } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const { rateLimit } = require('express-rate-limit')
const IORedis = require('ioredis')
const OriginalRedisStore = require('rate-limit-redis').default
const RedisStore = require('bulwark/rate-limit-redis')
const { RateLimitStore, Redis } = require('bulwark')

let redis
const clients = []
before(async () => {
  redis = await startRedis()
})
after(async () => {
  for (const c of clients) c.disconnect()
  await redis.stop()
})

function ioredis() {
  const c = new IORedis(redis.port, '127.0.0.1')
  clients.push(c)
  return c
}
function bulwarkClient() {
  const c = new Redis(redis.port, '127.0.0.1')
  clients.push(c)
  return c
}
const viaIoredis = (c) => ({ sendCommand: (command, ...args) => c.call(command, ...args) })

function listen(app) {
  return new Promise((resolve) => {
    const server = http.createServer(app)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
function get(port, path = '/') {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res))
      })
      .on('error', reject)
  })
}

/** express-rate-limit logs its validation failures; collect them to assert there are none. */
function captureErlLogs() {
  const seen = []
  const { error, warn } = console
  console.error = (...args) => seen.push(args.map(String).join(' '))
  console.warn = console.error
  return {
    seen,
    restore() {
      console.error = error
      console.warn = warn
    },
  }
}

function app(store, limit) {
  const a = express()
  a.use(rateLimit({ windowMs: 60_000, limit, store, keyGenerator: () => 'shared', standardHeaders: 'draft-7' }))
  a.get('/', (req, res) => res.send('ok'))
  return a
}

test('two Express apps sharing one redis-server admit exactly the limit under concurrent load', async () => {
  const logs = captureErlLogs()
  const prefix = 'rl-two-apps:'
  const limit = 57
  const servers = [
    await listen(app(new RedisStore({ ...viaIoredis(ioredis()), prefix }), limit)),
    await listen(app(new RateLimitStore({ client: bulwarkClient(), prefix }), limit)),
  ]
  try {
    const responses = await Promise.all(Array.from({ length: 400 }, (_, i) => get(servers[i % 2].address().port)))
    const counts = {}
    for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] || 0) + 1
    assert.deepEqual(counts, { 200: limit, 429: 400 - limit })
    // Blocked hits are counted too, like rate-limit-redis.
    assert.equal(await rawCommand(redis.port, `GET ${prefix}shared`), '$3\r\n400')
    const limited = responses.find((r) => r.statusCode === 429)
    assert.match(limited.headers.ratelimit, /^limit=57, remaining=0, reset=\d+$/)
    assert.ok(Number(limited.headers['retry-after']) > 0)
  } finally {
    logs.restore()
    for (const s of servers) s.close()
  }
  assert.deepEqual(logs.seen, [])
})

test('keys written by rate-limit-redis are continued by bulwark and the other way round', async () => {
  const c = ioredis()
  const original = new OriginalRedisStore({ ...viaIoredis(c), prefix: 'interop:' })
  const ours = new RedisStore({ client: bulwarkClient(), prefix: 'interop:' })
  await original.init({ windowMs: 30_000 })
  ours.init({ windowMs: 30_000 })

  for (let i = 1; i <= 3; i++) assert.equal((await original.increment('a')).totalHits, i)
  const continued = await ours.increment('a')
  assert.equal(continued.totalHits, 4)
  // Same window: the TTL set by rate-limit-redis is kept.
  const left = continued.resetTime.getTime() - Date.now()
  assert.ok(left > 25_000 && left <= 30_000, `${left}`)
  assert.equal((await original.get('a')).totalHits, 4)

  for (let i = 1; i <= 2; i++) assert.equal((await ours.increment('b')).totalHits, i)
  assert.equal((await original.increment('b')).totalHits, 3)
  assert.equal((await ours.get('b')).totalHits, 3)
  // The same string value with a PX TTL.
  assert.equal(await c.type('interop:b'), 'string')
  assert.equal(await c.get('interop:b'), '3')
  const pttl = await c.pttl('interop:b')
  assert.ok(pttl > 25_000 && pttl <= 30_000, `${pttl}`)

  await original.decrement('b')
  await ours.decrement('b')
  assert.equal(await c.get('interop:b'), '1')
  await ours.resetKey('b')
  assert.equal(await c.exists('interop:b'), 0)
  assert.equal(await ours.get('b'), undefined)
})

test('decrement never creates a negative or immortal key', async () => {
  const c = ioredis()
  const store = new RedisStore({ ...viaIoredis(c), prefix: 'dec:' })
  store.init({ windowMs: 10_000 })
  await store.decrement('missing')
  assert.equal(await c.exists('dec:missing'), 0)
  await store.increment('k')
  await store.decrement('k')
  await store.decrement('k')
  assert.equal(await c.get('dec:k'), '0')
  const next = await store.increment('k')
  assert.equal(next.totalHits, 1)
  // A key without a TTL (e.g. a bare DECR from an old instance) is healed by the next hit.
  await c.set('dec:noTtl', '-1')
  await store.decrement('noTtl')
  assert.equal(await c.get('dec:noTtl'), '-1')
  const healed = await store.increment('noTtl')
  assert.equal(healed.totalHits, 1)
  assert.ok((await c.pttl('dec:noTtl')) > 0)
})

test('resetAll removes only keys under the prefix, matched literally, by SCAN', async () => {
  const c = ioredis()
  const store = new RedisStore({ ...viaIoredis(c), prefix: 'ra[1]*:' })
  store.init({ windowMs: 60_000 })
  for (let i = 0; i < 2500; i++) await c.set(`ra[1]*:${i}`, '1')
  await c.set('ra1x:other', 'keep')
  await c.set('ra[1]*', 'keep too')
  const commands = []
  const monitor = await c.monitor()
  monitor.on('monitor', (_time, args) => commands.push(String(args[0]).toUpperCase()))
  await store.resetAll()
  // MONITOR lines arrive on their own connection: wait for a marker sent after resetAll.
  await c.echo('marker')
  for (let i = 0; i < 200 && !commands.includes('ECHO'); i++) await new Promise((r) => setTimeout(r, 10))
  monitor.disconnect()
  const seen = [...commands]
  assert.equal(await c.exists(...Array.from({ length: 2500 }, (_, i) => `ra[1]*:${i}`)), 0)
  assert.equal(await c.get('ra1x:other'), 'keep')
  assert.equal(await c.get('ra[1]*'), 'keep too')
  assert.ok(seen.includes('SCAN') && seen.includes('UNLINK'), String(seen))
  assert.ok(!seen.includes('KEYS') && !seen.includes('FLUSHALL') && !seen.includes('FLUSHDB'), String(seen))
})

test('after SCRIPT FLUSH the store reloads the script and counts once', async () => {
  const c = ioredis()
  const sent = []
  const store = new RedisStore({
    sendCommand: (...args) => {
      sent.push(args[0])
      return c.call(...args)
    },
    prefix: 'noscript:',
  })
  store.init({ windowMs: 60_000 })
  assert.equal((await store.increment('k')).totalHits, 1)
  await c.script('FLUSH')
  sent.length = 0
  assert.equal((await store.increment('k')).totalHits, 2)
  assert.deepEqual(sent, ['EVALSHA', 'EVAL'])
  sent.length = 0
  assert.equal((await store.increment('k')).totalHits, 3)
  assert.deepEqual(sent, ['EVALSHA'])
})

test('a reply error other than NOSCRIPT is not retried (no double count)', async () => {
  const c = ioredis()
  let calls = 0
  const store = new RedisStore({
    sendCommand: (...args) => {
      calls++
      return c.call(...args)
    },
    prefix: 'wrongtype:',
    whenDown: 'deny',
  })
  store.init({ windowMs: 60_000, limit: 5 })
  // INCR fails on a value that is not an integer.
  await c.set('wrongtype:k', 'abc', 'PX', 60_000)
  const info = await store.increment('k')
  assert.equal(calls, 1)
  assert.equal(info.totalHits, 6) // the deny policy: over the limit
})

test('constructor and arguments are checked with clear errors', async () => {
  const send = viaIoredis(ioredis())
  assert.throws(() => new RedisStore(), { name: 'TypeError', message: /options object is required/ })
  assert.throws(() => new RedisStore({}), { name: 'TypeError', message: /exactly one of client, sendCommand/ })
  assert.throws(() => new RedisStore({ ...send, client: bulwarkClient() }), { name: 'TypeError', message: /exactly one/ })
  assert.throws(() => new RedisStore({ ...send, resetExpiryOnChange: true }), { name: 'TypeError', message: /removed in v6/ })
  assert.throws(() => new RedisStore({ sendCommand: 'nope' }), { name: 'TypeError', message: /sendCommand/ })
  assert.throws(() => new RedisStore({ client: {} }), { name: 'TypeError', message: /client must be/ })
  assert.throws(() => new RedisStore({ ...send, prefix: 5 }), { name: 'TypeError', message: /prefix must be a string/ })
  assert.throws(() => new RedisStore({ ...send, whenDown: 'open' }), { name: 'TypeError', message: /whenDown must be/ })
  assert.throws(() => new RedisStore({ ...send, timeoutMs: 0 }), { name: 'RangeError', message: /timeoutMs must be an integer/ })
  assert.throws(() => new RedisStore({ ...send, timeoutMs: NaN }), { name: 'RangeError', message: /timeoutMs/ })
  assert.throws(() => new RedisStore({ ...send, maxKeys: -1 }), { name: 'RangeError', message: /maxKeys/ })
  const store = new RedisStore({ ...send, prefix: 'bad:' })
  assert.throws(() => store.init({ windowMs: 0 }), { name: 'RangeError', message: /windowMs must be an integer from 1/ })
  assert.throws(() => store.init({ windowMs: -5 }), { name: 'RangeError', message: /windowMs/ })
  assert.throws(() => store.init({ windowMs: Infinity }), { name: 'RangeError', message: /windowMs/ })
  assert.throws(() => store.init({ windowMs: '1000' }), { name: 'TypeError', message: /windowMs must be a number/ })
  assert.throws(() => store.init(null), { name: 'TypeError' })
  store.init({ windowMs: 1000 })
  for (const key of [undefined, null, 5, {}, Symbol('k')]) {
    await assert.rejects(store.increment(key), { name: 'TypeError', message: /key must be a string/ })
    await assert.rejects(store.get(key), { name: 'TypeError' })
    await assert.rejects(store.decrement(key), { name: 'TypeError' })
    await assert.rejects(store.resetKey(key), { name: 'TypeError' })
  }
  // Empty and huge keys are valid keys.
  assert.equal((await store.increment('')).totalHits, 1)
  assert.equal((await store.increment('x'.repeat(100_000))).totalHits, 1)
})

test('the class keeps rate-limit-redis names and methods on the prototype', () => {
  assert.equal(RedisStore.name, 'RedisStore')
  assert.equal(RedisStore.default, RedisStore)
  assert.equal(RedisStore.RedisStore, RedisStore)
  assert.equal(RateLimitStore, RedisStore)
  for (const m of ['init', 'increment', 'decrement', 'get', 'resetKey', 'resetAll', 'shutdown']) {
    assert.equal(typeof RedisStore.prototype[m], 'function', m)
  }
})

test('ESM named imports work as with rate-limit-redis', async () => {
  const sub = await import('bulwark/rate-limit-redis')
  assert.equal(sub.RedisStore, RedisStore)
  assert.equal(sub.default, RedisStore)
  const main = await import('bulwark')
  assert.equal(main.RateLimitStore, RedisStore)
  assert.equal(typeof main.RateLimiter, 'function')
  assert.equal(typeof main.setRateLimitHeaders, 'function')
})

test('express-rate-limit skipFailedRequests, getKey and resetKey go through the store', async () => {
  const c = ioredis()
  const store = new RedisStore({ client: bulwarkClient(), prefix: 'erl-skip:' })
  const limiter = rateLimit({ windowMs: 60_000, limit: 3, store, keyGenerator: () => 'u', skipFailedRequests: true })
  const a = express()
  a.use(limiter)
  a.get('/ok', (req, res) => res.send('ok'))
  a.get('/fail', (req, res) => res.status(500).send('failed'))
  const server = await listen(a)
  const port = server.address().port
  try {
    assert.equal((await get(port, '/ok')).statusCode, 200)
    assert.equal((await get(port, '/fail')).statusCode, 500)
    // The failed request was taken back (decrement runs on 'finish').
    for (let i = 0; i < 50 && (await c.get('erl-skip:u')) !== '1'; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(await c.get('erl-skip:u'), '1')
    assert.equal((await limiter.getKey('u')).totalHits, 1)
    assert.equal((await get(port, '/ok')).statusCode, 200)
    assert.equal((await get(port, '/ok')).statusCode, 200)
    assert.equal((await get(port, '/ok')).statusCode, 429)
    await limiter.resetKey('u')
    assert.equal(await limiter.getKey('u'), undefined)
    assert.equal((await get(port, '/ok')).statusCode, 200)
  } finally {
    server.close()
  }
})

test('sendCommandCluster: every command carries its key and read-only flag, as rate-limit-redis sends them', async () => {
  const c = ioredis()
  const seen = []
  const store = new RedisStore({
    prefix: 'cl:',
    // rate-limit-redis 4.3's cluster signature; `this` is the store.
    sendCommandCluster(request) {
      assert.ok(this instanceof RedisStore)
      seen.push(request)
      return c.call(...request.command)
    },
  })
  store.init({ windowMs: 60_000 })
  // From an empty script cache, the first use of each script goes EVALSHA, NOSCRIPT, EVAL.
  await c.script('FLUSH')
  await store.increment('warm')
  await store.get('warm')
  await store.decrement('warm')
  assert.deepEqual(
    seen.map(({ key, isReadOnly, command }) => [command[0], key, isReadOnly]),
    [
      ['EVALSHA', 'cl:warm', false],
      ['EVAL', 'cl:warm', false],
      ['EVALSHA', 'cl:warm', true],
      ['EVAL', 'cl:warm', true],
      ['EVALSHA', 'cl:warm', false],
      ['EVAL', 'cl:warm', false],
    ],
  )
  seen.length = 0
  assert.equal((await store.increment('a')).totalHits, 1)
  assert.equal((await store.increment('a')).totalHits, 2)
  assert.equal((await store.get('a')).totalHits, 2)
  await store.decrement('a')
  assert.equal(await c.get('cl:a'), '1')
  await store.resetKey('a')
  assert.equal(await c.exists('cl:a'), 0)
  const shapes = seen.map(({ key, isReadOnly, command }) => [command[0], key, isReadOnly])
  assert.deepEqual(shapes, [
    ['EVALSHA', 'cl:a', false],
    ['EVALSHA', 'cl:a', false],
    ['EVALSHA', 'cl:a', true],
    ['EVALSHA', 'cl:a', false],
    ['DEL', 'cl:a', false],
  ])
  for (const { command } of seen) assert.ok(command.every((part) => typeof part === 'string'), JSON.stringify(command))
})

/** evalsha calls of each script, by counting what the client sends. */
function countingClient() {
  const c = bulwarkClient()
  const calls = []
  const evalsha = c.evalsha.bind(c)
  c.evalsha = (sha, numkeys, ...rest) => {
    calls.push(Number(numkeys))
    return evalsha(sha, numkeys, ...rest)
  }
  return { client: c, calls }
}

test('increments of one turn go as one script run, each key counted in order as rate-limit-redis counts it', async () => {
  const c = ioredis()
  const { client, calls } = countingClient()
  const ours = new RedisStore({ client, prefix: 'batch:' })
  const original = new OriginalRedisStore({ ...viaIoredis(c), prefix: 'batch:' })
  ours.init({ windowMs: 30_000 })
  await original.init({ windowMs: 30_000 })
  await original.increment('old')
  // A counter without a number under one key, with a TTL: its INCR fails.
  await c.set('batch:foreign', 'abc', 'PX', 60_000)

  // A lone decision runs rate-limit-redis's own script (one key).
  assert.equal((await ours.increment('lone')).totalHits, 1)
  assert.deepEqual(calls, [1])
  calls.length = 0

  const keys = ['a', 'b', 'a', 'old', 'foreign', 'c', 'a']
  const results = await Promise.all(keys.map((k) => ours.increment(k)))
  assert.deepEqual(calls, [keys.length], 'one EVALSHA for the whole turn')
  // The foreign value fails only its own decision (the outage policy counts it locally).
  assert.deepEqual(
    results.map((r) => r.totalHits),
    [1, 1, 2, 2, 1, 1, 3],
  )
  assert.equal(await c.get('batch:foreign'), 'abc')
  for (const r of results) assert.ok(r.resetTime instanceof Date && r.resetTime.getTime() > Date.now())
  // Stored as rate-limit-redis stores them, and it continues them.
  assert.equal(await c.get('batch:a'), '3')
  const pttl = await c.pttl('batch:a')
  assert.ok(pttl > 25_000 && pttl <= 30_000, `${pttl}`)
  assert.equal((await original.increment('a')).totalHits, 4)
  assert.equal((await original.increment('old')).totalHits, 3)
})

test('a turn of more increments than one run holds goes as several runs, in order, each key counted once per call', async () => {
  const { client, calls } = countingClient()
  const store = new RedisStore({ client, prefix: 'batchsplit:' })
  store.init({ windowMs: 60_000 })
  // 100 calls over 7 keys: the counts each call sees must be 1, 2, 3… per key, in call order.
  const keys = Array.from({ length: 100 }, (_, i) => `k${i % 7}`)
  const results = await Promise.all(keys.map((k) => store.increment(k)))
  assert.ok(calls.length > 1, `several runs: ${calls}`)
  assert.equal(
    calls.reduce((a, b) => a + b, 0),
    keys.length,
    'every call in exactly one run',
  )
  assert.ok(Math.max(...calls) < keys.length, `no run holds the whole turn: ${calls}`)
  assert.deepEqual(
    results.map((r) => r.totalHits),
    keys.map((_, i) => Math.floor(i / 7) + 1),
  )
  const c = ioredis()
  assert.equal(await c.get('batchsplit:k0'), String(Math.ceil(100 / 7)))
})

test('a coalesced run after SCRIPT FLUSH is sent once more by EVAL and counts each key once', async () => {
  const c = ioredis()
  const store = new RedisStore({ client: bulwarkClient(), prefix: 'batchflush:' })
  store.init({ windowMs: 60_000 })
  await Promise.all([store.increment('x'), store.increment('y')])
  await c.script('FLUSH')
  const results = await Promise.all([store.increment('x'), store.increment('y'), store.increment('x')])
  assert.deepEqual(
    results.map((r) => r.totalHits),
    [2, 2, 3],
  )
})

test("rate-limit-redis and rate-limiter-flexible on a memory:// client (native known scripts) count as on redis-server", async () => {
  const { RateLimiterRedis } = require('rate-limiter-flexible')
  const memory = new Redis('memory://ratelimit-known-scripts')
  clients.push(memory)
  const server = ioredis()
  const outcomes = []
  for (const c of [memory, server]) {
    const original = new OriginalRedisStore({ ...viaIoredis(c), prefix: 'known:' })
    await original.init({ windowMs: 30_000 })
    const hits = []
    for (let i = 0; i < 3; i++) hits.push((await original.increment('a')).totalHits)
    const flexible = new RateLimiterRedis({ storeClient: c, points: 2, duration: 60, keyPrefix: 'knownflx' })
    const consumed = []
    for (let i = 0; i < 3; i++) {
      consumed.push(
        await flexible.consume('a').then(
          (r) => r.remainingPoints,
          (r) => `rejected ${r.remainingPoints}`,
        ),
      )
    }
    const pttl = await c.pttl('known:a')
    assert.ok(pttl > 25_000 && pttl <= 30_000, `${pttl}`)
    outcomes.push({ hits, consumed, value: await c.get('known:a'), flexibleValue: await c.get('knownflx:a') })
  }
  assert.deepEqual(outcomes[0], { hits: [1, 2, 3], consumed: [1, 0, 'rejected 0'], value: '3', flexibleValue: '3' })
  assert.deepEqual(outcomes[0], outcomes[1])
})
