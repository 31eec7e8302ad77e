// RateLimiter: the three algorithms with controlled time in memory, the same decisions on
// a real redis-server with the server's clock, penalty/reward/block, headers, bad input.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createRequire } from 'node:module'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const IORedis = require('ioredis')
const { RateLimiter, setRateLimitHeaders, Redis } = require('bulwark')

let redis
let client
let io
before(async () => {
  redis = await startRedis()
  client = new Redis(redis.port, '127.0.0.1')
  io = new IORedis(redis.port, '127.0.0.1')
})
after(async () => {
  client.disconnect()
  io.disconnect()
  await redis.stop()
})

/** A memory limiter on a clock the test moves. */
function atClock(options) {
  const clock = { now: 0 }
  const limiter = new RateLimiter({ memory: true, clock: () => clock.now, ...options })
  return { limiter, clock }
}

async function at(l, t, key = 'k', cost = 1) {
  l.clock.now = t
  return l.limiter.consume(key, cost)
}

test('fixed window: limit per window from the first request, exact retry-after', async () => {
  const l = atClock({ algorithm: 'fixed-window', limit: 3, windowMs: 1000 })
  const d = []
  for (const t of [100, 200, 300, 400, 1099, 1100]) d.push(await at(l, t))
  assert.deepEqual(
    d.map((r) => r.allowed),
    [true, true, true, false, false, true],
  )
  assert.deepEqual(
    d.map((r) => r.remaining),
    [2, 1, 0, 0, 0, 2],
  )
  assert.deepEqual(d[0], { allowed: true, limit: 3, remaining: 2, resetMs: 1000, retryAfterMs: 0 })
  assert.deepEqual(d[3], { allowed: false, limit: 3, remaining: 0, resetMs: 700, retryAfterMs: 700 })
  assert.equal(d[4].retryAfterMs, 1)
})

test('sliding window: the previous window weighs in proportion to its overlap', async () => {
  const l = atClock({ algorithm: 'sliding-window', limit: 10, windowMs: 1000 })
  for (let t = 900; t < 910; t++) assert.equal((await at(l, t)).allowed, true)
  const denied = await at(l, 950)
  assert.equal(denied.allowed, false)
  // 1 ms into the next window the 10 old hits weigh floor(10 × 999/1000) = 9: one fits.
  assert.equal(denied.retryAfterMs, 51)
  const later = await at(l, 1250)
  assert.deepEqual(later, { allowed: true, limit: 10, remaining: 2, resetMs: 1750, retryAfterMs: 0 })
})

test('token bucket (GCRA): bursts to the limit, then one token per window/limit', async () => {
  const l = atClock({ algorithm: 'token-bucket', limit: 4, windowMs: 1000 })
  const d = []
  for (const t of [0, 0, 0, 0, 0, 249, 250, 250]) d.push(await at(l, t))
  assert.deepEqual(
    d.map((r) => r.allowed),
    [true, true, true, true, false, false, true, false],
  )
  assert.equal(d[4].retryAfterMs, 250)
  assert.equal(d[5].retryAfterMs, 1)
  assert.equal(d[3].resetMs, 1000)
})

test('costs, peeks and requests larger than the limit', async () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const l = atClock({ algorithm, limit: 5, windowMs: 1000 })
    assert.deepEqual(await at(l, 0, 'k', 6), { allowed: false, limit: 5, remaining: 5, resetMs: 0, retryAfterMs: 1000 }, algorithm)
    assert.equal((await at(l, 0, 'k', 3)).remaining, 2, algorithm)
    assert.equal((await l.limiter.get('k')).remaining, 2, algorithm)
    assert.equal((await l.limiter.get('k')).remaining, 2, algorithm)
    assert.equal((await at(l, 0, 'k', 3)).allowed, false, algorithm)
    assert.equal((await at(l, 0, 'k', 2)).remaining, 0, algorithm)
    await l.limiter.reset('k')
    assert.equal((await l.limiter.get('k')).remaining, 5, algorithm)
  }
})

test('penalty, reward and block in memory', async () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const l = atClock({ algorithm, limit: 4, windowMs: 1000 })
    l.clock.now = 10
    await l.limiter.penalty('k', 4)
    assert.equal((await at(l, 10)).allowed, false, algorithm)
    await l.limiter.reward('k', 2)
    assert.deepEqual(
      [(await at(l, 10)).allowed, (await l.limiter.get('k')).remaining],
      [true, 1],
      algorithm,
    )
    await l.limiter.reward('k', 4)
    assert.equal((await l.limiter.get('k')).remaining, 4, algorithm)
  }
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const l = atClock({ algorithm, limit: 4, windowMs: 1000 })
    l.clock.now = 100
    await l.limiter.block('k', 5000)
    const denied = await at(l, 5099)
    assert.equal(denied.allowed, false, algorithm)
    assert.equal(denied.retryAfterMs, 1, algorithm)
    assert.equal((await at(l, 5100)).allowed, true, algorithm)
  }
})

test('sliding window block in memory: exact end, peeks, penalty and reward during it, fresh counts after', async () => {
  const l = atClock({ algorithm: 'sliding-window', limit: 4, windowMs: 1000 })
  for (const t of [900, 901, 902]) await at(l, t)
  l.clock.now = 950
  await l.limiter.block('k', 2000)
  const blocked = { allowed: false, limit: 4, remaining: 0, resetMs: 1500, retryAfterMs: 1500 }
  assert.deepEqual(await at(l, 1450), blocked)
  assert.deepEqual(await l.limiter.get('k'), blocked)
  // A cost above the limit never fits: a full window, as without a block.
  assert.equal((await at(l, 1450, 'k', 5)).retryAfterMs, 1000)
  // Reward and penalty during the block keep its end.
  await l.limiter.reward('k', 4)
  assert.deepEqual(await at(l, 2949), { ...blocked, resetMs: 1, retryAfterMs: 1 })
  l.clock.now = 2900
  await l.limiter.penalty('k', 2)
  assert.deepEqual(await at(l, 2949), { ...blocked, resetMs: 1, retryAfterMs: 1 })
  // After it the hits before the block are gone; the penalty of window 2 counts.
  assert.deepEqual(await at(l, 2950), { allowed: true, limit: 4, remaining: 1, resetMs: 1050, retryAfterMs: 0 })
  // A block replaces the counts: right after it all 4 fit (window 2's 3 would weigh 2).
  l.clock.now = 3000
  await l.limiter.block('k', 10)
  assert.equal((await at(l, 3010, 'k', 4)).allowed, true)
})

test('the in-process limiter holds at most maxKeys keys', async () => {
  const l = atClock({ limit: 5, windowMs: 60_000, maxKeys: 100 })
  for (let i = 0; i < 10_000; i++) await at(l, i, `ip-${i}`)
  assert.ok(l.limiter.local.size <= 100, `${l.limiter.local.size}`)
  // The most recent keys are still limited.
  assert.equal((await at(l, 10_000, 'ip-9999')).remaining, 3)
})

test('on Redis the algorithms decide as in memory', async () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const limiter = new RateLimiter({ client, algorithm, limit: 4, windowMs: 60_000, prefix: `same:${algorithm}:` })
    const memory = new RateLimiter({ memory: true, algorithm, limit: 4, windowMs: 60_000 })
    const costs = [1, 2, 0, 2, 1, 1, 5]
    const remote = []
    const local = []
    for (const cost of costs) {
      remote.push(await limiter.consume('k', cost))
      local.push(await memory.consume('k', cost))
    }
    const shape = (r) => [r.allowed, r.remaining]
    assert.deepEqual(remote.map(shape), local.map(shape), algorithm)
    const denied = remote[3]
    assert.equal(denied.allowed, false)
    assert.ok(denied.retryAfterMs > 0 && denied.retryAfterMs <= 60_000, `${algorithm} ${denied.retryAfterMs}`)
    assert.ok(remote[0].resetMs > 0 && remote[0].resetMs <= 120_000)
    if (algorithm === 'token-bucket') assert.ok(denied.retryAfterMs > 14_000 && denied.retryAfterMs <= 15_000, `${denied.retryAfterMs}`)
    if (algorithm === 'fixed-window') assert.equal(denied.retryAfterMs, denied.resetMs)
  }
})

test('penalty, reward, block and reset on Redis', async () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const limiter = new RateLimiter({ client, algorithm, limit: 4, windowMs: 60_000, prefix: `adj:${algorithm}:` })
    await limiter.penalty('k', 4)
    assert.equal((await limiter.consume('k')).allowed, false, algorithm)
    await limiter.reward('k', 2)
    assert.equal((await limiter.consume('k')).allowed, true, algorithm)
    assert.equal((await limiter.get('k')).remaining, 1, algorithm)
    await limiter.reset('k')
    assert.equal(await io.exists(`adj:${algorithm}:k`), 0)
    assert.equal((await limiter.get('k')).remaining, 4, algorithm)
    await limiter.block('k', 30_000)
    const blocked = await limiter.consume('k')
    assert.equal(blocked.allowed, false, algorithm)
    assert.ok(blocked.retryAfterMs > 29_000 && blocked.retryAfterMs <= 30_000, `${algorithm} ${blocked.retryAfterMs}`)
  }
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('sliding window block on Redis gives the same outcomes as in memory', async () => {
  // Windows of 2^40 ms: no window boundary falls within the test, so the outcomes do not
  // depend on when it runs; Redis's clock and the process's are the same machine's.
  const options = { algorithm: 'sliding-window', limit: 4, windowMs: 2 ** 40 }
  const limiters = [new RateLimiter({ client, ...options, prefix: 'swblock:' }), new RateLimiter({ memory: true, ...options })]
  const each = async (fn) => {
    const results = []
    for (const limiter of limiters) results.push(await fn(limiter))
    return results
  }
  const BLOCK = 600
  /** Denied by a block that has at most BLOCK ms left (and more than half of it). */
  const assertBlocked = (results, what) => {
    for (const [i, r] of results.entries()) {
      const where = `${what} ${i ? 'memory' : 'redis'} ${JSON.stringify(r)}`
      assert.equal(r.allowed, false, where)
      assert.equal(r.remaining, 0, where)
      assert.ok(r.retryAfterMs > BLOCK / 2 && r.retryAfterMs <= BLOCK, where)
      assert.equal(r.resetMs, r.retryAfterMs, where)
    }
  }
  const shape = (results) => results.map((r) => [r.allowed, r.remaining])

  assert.deepEqual(shape(await each((l) => l.consume('k', 3))), [
    [true, 1],
    [true, 1],
  ])
  await each((l) => l.block('k', BLOCK))
  assertBlocked(await each((l) => l.consume('k')), 'consume')
  assertBlocked(await each((l) => l.get('k')), 'get')
  for (const r of await each((l) => l.consume('k', 5))) assert.equal(r.retryAfterMs, 2 ** 40)
  // With short windows, the key lives on Redis until the block ends, not with its counts.
  const short = new RateLimiter({ client, algorithm: 'sliding-window', limit: 4, windowMs: 100, prefix: 'swblock-short:' })
  await short.block('k', 5000)
  const pttl = await io.pttl('swblock-short:k')
  assert.ok(pttl > 4000 && pttl <= 5000, `pttl ${pttl}`)
  await sleep(BLOCK + 50)
  // Counting starts afresh: the 3 hits before the block are gone.
  assert.deepEqual(shape(await each((l) => l.consume('k'))), [
    [true, 3],
    [true, 3],
  ])

  // A block over a penalty, then reward and penalty during it: the block holds, and the
  // last penalty counts once it is over.
  await each((l) => l.penalty('k', 4))
  await each((l) => l.block('k', BLOCK))
  assertBlocked(await each((l) => l.consume('k')), 'after penalty')
  await each((l) => l.reward('k', 4))
  assertBlocked(await each((l) => l.consume('k')), 'after reward')
  await each((l) => l.penalty('k', 2))
  assertBlocked(await each((l) => l.consume('k')), 'after second penalty')
  await sleep(BLOCK + 50)
  assert.deepEqual(shape(await each((l) => l.consume('k'))), [
    [true, 1],
    [true, 1],
  ])
  assert.deepEqual(shape(await each((l) => l.consume('k', 2))), [
    [false, 1],
    [false, 1],
  ])
})

test('a sliding window key written before blocks existed (no b field) still counts and can be blocked', async () => {
  const limiter = new RateLimiter({ client, algorithm: 'sliding-window', limit: 5, windowMs: 2 ** 40, prefix: 'swold:' })
  const [seconds] = await io.time()
  await io.hset('swold:k', { w: String(Math.floor((Number(seconds) * 1000) / 2 ** 40)), c: '3', p: '0' })
  const first = await limiter.consume('k')
  assert.deepEqual([first.allowed, first.remaining, first.retryAfterMs], [true, 1, 0])
  assert.equal((await limiter.get('k')).remaining, 1)
  await limiter.block('k', 60_000)
  assert.equal((await limiter.get('k')).allowed, false)
  assert.equal(await io.hget('swold:k', 'c'), '0')
})

test("two limiters with skewed local clocks agree: Redis's clock decides", async () => {
  const realNow = Date.now
  const a = new RateLimiter({ client, algorithm: 'sliding-window', limit: 10, windowMs: 60_000, prefix: 'skew:' })
  const b = new RateLimiter({ sendCommand: (c, ...args) => io.call(c, ...args), algorithm: 'sliding-window', limit: 10, windowMs: 60_000, prefix: 'skew:' })
  const results = []
  try {
    for (let i = 0; i < 30; i++) {
      // One process an hour ahead, the other an hour behind.
      Date.now = i % 2 ? () => realNow() + 3_600_000 : () => realNow() - 3_600_000
      results.push(await (i % 2 ? a : b).consume('shared'))
    }
  } finally {
    Date.now = realNow
  }
  assert.equal(results.filter((r) => r.allowed).length, 10)
  assert.deepEqual(
    results.slice(0, 10).map((r) => r.remaining),
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
  )
  for (const r of results) assert.ok(r.resetMs <= 120_000 && r.retryAfterMs <= 120_000)
})

test('setRateLimitHeaders sets RateLimit, RateLimit-Policy and Retry-After on an Express response', async () => {
  const limiter = new RateLimiter({ client, limit: 2, windowMs: 30_000, prefix: 'headers:' })
  const app = express()
  app.get('/', async (req, res) => {
    const result = await limiter.consume('ip')
    limiter.setHeaders(res, result)
    res.status(result.allowed ? 200 : 429).end()
  })
  const server = http.createServer(app).listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  const get = () =>
    new Promise((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: server.address().port, agent: false }, (res) => (res.resume(), res.on('end', () => resolve(res)))).on('error', reject),
    )
  try {
    const first = await get()
    assert.equal(first.statusCode, 200)
    assert.equal(first.headers.ratelimit, 'limit=2, remaining=1, reset=30')
    assert.equal(first.headers['ratelimit-policy'], '2;w=30')
    assert.equal(first.headers['retry-after'], undefined)
    await get()
    const third = await get()
    assert.equal(third.statusCode, 429)
    assert.match(third.headers.ratelimit, /^limit=2, remaining=0, reset=(29|30)$/)
    assert.match(third.headers['retry-after'], /^(29|30)$/)
  } finally {
    server.close()
  }
  const headers = {}
  setRateLimitHeaders({ setHeader: (k, v) => (headers[k] = v) }, { allowed: false, limit: 1, remaining: 0, resetMs: 1, retryAfterMs: 1 })
  assert.deepEqual(headers, { RateLimit: 'limit=1, remaining=0, reset=1', 'Retry-After': '1' })
  setRateLimitHeaders({ headersSent: true, setHeader: () => assert.fail('headers already sent') }, { allowed: true, limit: 1, remaining: 0, resetMs: 0, retryAfterMs: 0 })
  assert.throws(() => setRateLimitHeaders({}, {}), { name: 'TypeError', message: /res must be/ })
  assert.throws(() => setRateLimitHeaders({ setHeader() {} }, null), { name: 'TypeError', message: /result must be/ })
})

test('bad options and arguments are refused with errors naming them', async () => {
  const ok = { memory: true, limit: 5, windowMs: 1000 }
  assert.throws(() => new RateLimiter(), { name: 'TypeError', message: /options must be an object/ })
  assert.throws(() => new RateLimiter({ windowMs: 1000 }), { name: 'TypeError', message: /^limit must be a number/ })
  assert.throws(() => new RateLimiter({ limit: '5', windowMs: 1000 }), { name: 'TypeError', message: /^limit must be a number/ })
  assert.throws(() => new RateLimiter({ limit: 5 }), { name: 'TypeError', message: /^windowMs must be a number/ })
  for (const limit of [0, -1, 1.5, NaN, Infinity, 2 ** 41]) {
    assert.throws(() => new RateLimiter({ ...ok, limit }), { name: 'RangeError', message: /^limit must be an integer from 1 to/ }, String(limit))
  }
  for (const windowMs of [0, -1000, 0.5, NaN, -Infinity, 2 ** 48]) {
    assert.throws(() => new RateLimiter({ ...ok, windowMs }), { name: 'RangeError', message: /^windowMs must be an integer from 1 to/ }, String(windowMs))
  }
  assert.throws(() => new RateLimiter({ ...ok, limit: 2 ** 30, windowMs: 2 ** 30 }), { name: 'RangeError', message: /^limit × windowMs must be at most/ })
  assert.throws(() => new RateLimiter({ ...ok, algorithm: 'leaky-bucket' }), { name: 'TypeError', message: /^algorithm must be/ })
  assert.throws(() => new RateLimiter({ ...ok, prefix: 1 }), { name: 'TypeError', message: /^prefix must be a string/ })
  assert.throws(() => new RateLimiter({ ...ok, whenDown: 'open' }), { name: 'TypeError', message: /^whenDown must be/ })
  assert.throws(() => new RateLimiter({ ...ok, clock: 5 }), { name: 'TypeError', message: /^clock must be a function/ })
  assert.throws(() => new RateLimiter({ ...ok, memory: false, client: {} }), { name: 'TypeError', message: /^client must be/ })

  const sliding = { ...ok, algorithm: 'sliding-window' }
  for (const limiter of [
    new RateLimiter(ok),
    new RateLimiter({ ...ok, client, prefix: 'bad:' }),
    new RateLimiter(sliding),
    new RateLimiter({ ...sliding, client, prefix: 'bad-sliding:' }),
  ]) {
    for (const key of [undefined, null, 42, {}, ['k']]) {
      await assert.rejects(limiter.consume(key), { name: 'TypeError', message: /^key must be a string/ })
      await assert.rejects(limiter.get(key), { name: 'TypeError', message: /^key must be a string/ })
      await assert.rejects(limiter.reset(key), { name: 'TypeError', message: /^key must be a string/ })
      await assert.rejects(limiter.penalty(key, 1), { name: 'TypeError', message: /^key must be a string/ })
      await assert.rejects(limiter.block(key, 1000), { name: 'TypeError', message: /^key must be a string/ })
    }
    for (const cost of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 41]) {
      await assert.rejects(limiter.consume('k', cost), { name: 'RangeError', message: /^cost must be an integer from 0 to/ }, String(cost))
    }
    await assert.rejects(limiter.consume('k', '1'), { name: 'TypeError', message: /^cost must be a number/ })
    for (const points of [-1, 6, 0.5, NaN]) {
      await assert.rejects(limiter.penalty('k', points), { name: 'RangeError', message: /^points must be an integer from 0 to 5/ })
      await assert.rejects(limiter.reward('k', points), { name: 'RangeError', message: /^points/ })
    }
    for (const ms of [0, -5, 1.5, NaN, Infinity, 2 ** 48]) {
      await assert.rejects(limiter.block('k', ms), { name: 'RangeError', message: /^ms must be an integer from 1/ })
    }
    await assert.rejects(limiter.block('k', '1000'), { name: 'TypeError', message: /^ms must be a number/ })
    await assert.rejects(limiter.block('k'), { name: 'TypeError', message: /^ms must be a number/ })
    // Nothing was counted by the refused calls.
    assert.equal((await limiter.get('k')).remaining, 5)
  }
  const broken = new RateLimiter({ ...ok, clock: () => NaN })
  await assert.rejects(broken.consume('k'), { name: 'RangeError', message: /clock\(\) must return/ })
})

test('the native functions refuse bad handles and arguments with errors, never a crash', () => {
  const native = require('../lib/native.js')
  const consume = native.ratelimitConsumeFunction()
  assert.throws(() => consume(123456, 'k', 0, 1), /rate limiter handle 123456 is not live/)
  assert.throws(() => native.ratelimitCreate('nope', 1, 1, 10), /algorithm must be/)
  assert.throws(() => native.ratelimitCreate('fixed-window', 1.5, 1000, 10), /limit must be an integer/)
  assert.throws(() => native.ratelimitCheckPolicy('token-bucket', 5, NaN), /windowMs must be an integer/)
  assert.throws(() => native.ratelimitScript(''), /algorithm must be/)
  const h = native.ratelimitCreate('fixed-window', 5, 1000, 10)
  assert.throws(() => consume(h, 'k', 0, -1), /cost must be an integer/)
  assert.throws(() => consume(h, 'k', 0), /expected 4 arguments/)
  assert.throws(() => consume(h, 'k', 'now', 1), /now must be a number/)
  assert.throws(() => native.ratelimitAdjust(h, 'k', 0, 2 ** 41), /cost must be an integer/)
  assert.throws(() => native.ratelimitSetOutput(new Float64Array(2)), /out must hold 3 numbers/)
  assert.throws(() => consume(h, 42, 0, 1), /key must be a string/)
  assert.equal(consume(h, 'k', 0, 1), 1)
  native.ratelimitDrop(h)
  native.ratelimitDrop(h) // twice: ignored
  assert.throws(() => native.ratelimitSize(h), /not live/)
})

test('long and multi-byte keys stay distinct in memory (no truncation at any length)', async () => {
  const limiter = new RateLimiter({ memory: true, limit: 1, windowMs: 60_000 })
  const keys = []
  for (let n = 240; n <= 270; n++) {
    for (const tail of ['a', 'b', 'é', '😀', '😀a']) keys.push('x'.repeat(n) + tail)
  }
  keys.push('k'.repeat(100_000), 'k'.repeat(100_000) + 'z', '', 'é'.repeat(200))
  for (const key of keys) assert.equal((await limiter.consume(key)).allowed, true, `first ${key.length}`)
  for (const key of keys) assert.equal((await limiter.consume(key)).allowed, false, `second ${key.length}`)
  assert.equal(limiter.local.size, keys.length)
})

/** A turn's `together` decisions (the last for a key holding a list under `prefix`) are
 * what `oneByOne` decided, allowed as `allowed`; the foreign key went to the outage policy. */
async function assertLikeOneByOne(together, oneByOne, allowed, prefix, algorithm) {
  const shape = (r) => [r.allowed, r.remaining]
  assert.deepEqual(together.slice(0, -1).map(shape), oneByOne.map(shape), algorithm)
  assert.deepEqual(oneByOne.map((r) => r.allowed), allowed, algorithm)
  assert.equal(together.at(-1).allowed, true, 'the local policy decided the foreign key')
  assert.equal(await io.type(`${prefix}foreign`), 'list')
}

test('consumes of one turn on Redis go as one script run and decide each key in order as one by one', async () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const runs = []
    const sendCommand = (command, ...args) => {
      if (command === 'EVALSHA') runs.push(Number(args[1]))
      return io.call(command, ...args)
    }
    const batched = new RateLimiter({ sendCommand, algorithm, limit: 3, windowMs: 60_000, prefix: `batch:${algorithm}:` })
    const single = new RateLimiter({ client, algorithm, limit: 3, windowMs: 60_000, prefix: `one:${algorithm}:` })
    const requests = [
      ['a', 1],
      ['b', 2],
      ['a', 1],
      ['a', 2],
      ['b', 1],
      ['a', 0],
      ['b', 1],
    ]
    const oneByOne = []
    for (const [k, cost] of requests) oneByOne.push(await single.consume(k, cost))
    // A foreign value under one key fails only that decision (to the outage policy).
    await io.lpush(`batch:${algorithm}:foreign`, 'y')
    const together = await Promise.all([...requests, ['foreign', 1]].map(([k, cost]) => batched.consume(k, cost)))
    assert.deepEqual(runs, [requests.length + 1], `${algorithm}: one run`)
    await assertLikeOneByOne(together, oneByOne, [true, true, true, false, true, true, false], `batch:${algorithm}:`, algorithm)
  }
})

test('a turn of consumes with one cost sends that cost once and decides as one by one', async () => {
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const argCounts = []
    const sendCommand = (command, ...args) => {
      // EVALSHA sha numkeys key… arg…: the arguments after the keys.
      if (command === 'EVALSHA') argCounts.push(args.length - 2 - Number(args[1]))
      return io.call(command, ...args)
    }
    const batched = new RateLimiter({ sendCommand, algorithm, limit: 3, windowMs: 60_000, prefix: `shared:${algorithm}:` })
    const single = new RateLimiter({ client, algorithm, limit: 3, windowMs: 60_000, prefix: `shared-one:${algorithm}:` })
    const keys = ['a', 'b', 'a', 'a', 'a', 'b', 'c']
    const oneByOne = []
    for (const k of keys) oneByOne.push(await single.consume(k, 1))
    // A foreign value under one key fails only that decision (to the outage policy).
    await io.lpush(`shared:${algorithm}:foreign`, 'y')
    const together = await Promise.all([...keys, 'foreign'].map((k) => batched.consume(k)))
    // limit, window_ms and the one cost.
    assert.deepEqual(argCounts, [3], `${algorithm}: one run, one cost`)
    await assertLikeOneByOne(together, oneByOne, [true, true, true, true, false, true, true], `shared:${algorithm}:`, algorithm)
  }
})
