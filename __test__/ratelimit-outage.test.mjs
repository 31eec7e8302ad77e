// Redis killed (kill -9) under traffic: the store and the limiter apply their whenDown
// policy, never answer 500 or hang, and count on Redis again once it is back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const { rateLimit } = require('express-rate-limit')
const IORedis = require('ioredis')
const { RateLimitStore, RateLimiter, Redis } = require('bulwark')

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
function get(port, key) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/?key=${key}`, agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
      })
      .on('error', reject)
  })
}

function listen(app) {
  return new Promise((resolve) => {
    const server = http.createServer(app)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

const LIMIT = 5

async function appWith(store) {
  const app = express()
  app.use(rateLimit({ windowMs: 60_000, limit: LIMIT, store, keyGenerator: (req) => req.query.key, validate: false }))
  app.get('/', (req, res) => res.send('ok'))
  // Express's default error handler would answer 500; count any that slip through.
  const server = await listen(app)
  return { server, port: server.address().port }
}

async function waitFor(check, what) {
  for (let i = 0; i < 500; i++) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

for (const whenDown of ['local', 'allow', 'deny']) {
  test(`kill -9 mid-traffic with whenDown '${whenDown}': no 500s, the policy applies, Redis counts again after restart`, async () => {
    const redis = await startRedis()
    const io = new IORedis(redis.port, '127.0.0.1', { retryStrategy: () => 50 })
    io.on('error', () => {})
    const store = new RateLimitStore({ sendCommand: (c, ...a) => io.call(c, ...a), whenDown, timeoutMs: 200, retryMs: 300, prefix: 'out:' })
    const { server, port } = await appWith(store)
    try {
      // Traffic on many keys while the server dies.
      const statuses = []
      let stop = false
      const traffic = Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; !stop; i++) statuses.push(await get(port, `bg${w}-${i % 3}`))
        }),
      )
      await sleep(100)
      await redis.kill()
      await sleep(600)
      // A fresh key while Redis is down.
      const down = []
      for (let i = 0; i < LIMIT + 3; i++) down.push(await get(port, 'fresh'))
      stop = true
      await traffic
      assert.ok(statuses.length > 0)
      assert.deepEqual(
        statuses.filter((s) => s !== 200 && s !== 429),
        [],
      )
      if (whenDown === 'local') assert.deepEqual(down, [...Array(LIMIT).fill(200), 429, 429, 429])
      if (whenDown === 'allow') assert.deepEqual(down, Array(LIMIT + 3).fill(200))
      if (whenDown === 'deny') assert.deepEqual(down, Array(LIMIT + 3).fill(429))

      await redis.restart()
      await waitFor(async () => (await io.ping().catch(() => null)) === 'PONG', 'ioredis to reconnect')
      await sleep(350) // past retryMs: the store tries Redis again
      await waitFor(async () => (await get(port, 'after')) && (await io.exists('out:after')) === 1, 'a count on Redis')
      const before = Number(await io.get('out:after'))
      assert.equal(await get(port, 'after'), before + 1 <= LIMIT ? 200 : 429)
      assert.equal(Number(await io.get('out:after')), before + 1)
    } finally {
      server.close()
      io.disconnect()
      await redis.stop()
    }
  })
}

test('a bulwark client without failover: rejected or timed-out calls apply the policy', async () => {
  const redis = await startRedis()
  const client = new Redis(redis.port, '127.0.0.1', { fallback: false, retryStrategy: () => 50 })
  client.on('error', () => {})
  const limiter = new RateLimiter({ client, algorithm: 'token-bucket', limit: 3, windowMs: 60_000, timeoutMs: 200, retryMs: 300 })
  try {
    assert.equal((await limiter.consume('k')).remaining, 2)
    await redis.kill()
    // 'local': the same algorithm in process, from a fresh state.
    const local = []
    for (let i = 0; i < 4; i++) local.push((await limiter.consume('k')).allowed)
    assert.deepEqual(local, [true, true, true, false])
    await redis.restart()
    await waitFor(async () => (await client.ping().catch(() => null)) === 'PONG', 'the client to reconnect')
    await sleep(350)
    // Redis lost its data (no persistence): a full bucket again, counted on Redis.
    await waitFor(async () => (await limiter.consume('k2')).remaining === 2, 'a decision from Redis')
    assert.ok((await client.exists('bulwark:token-bucket:k2')) === 1)
  } finally {
    client.disconnect()
    await redis.stop()
  }
})

for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
  test(`real failover (${algorithm}): the limiter's script runs in the memory engine during the outage, counts are replayed`, async () => {
    const redis = await startRedis()
    const client = new Redis(redis.port, '127.0.0.1')
    client.on('error', () => {})
    const limiter = new RateLimiter({ client, algorithm, limit: 4, windowMs: 60_000 })
    const store = new RateLimitStore({ client, prefix: 'fo:' })
    store.init({ windowMs: 60_000, limit: 4 })
    try {
      assert.equal((await limiter.consume('before')).remaining, 3)
      const fellBack = new Promise((resolve) => client.once('fallback', resolve))
      await redis.kill()
      // The first call waits for the failover timeout, then memory answers.
      const during = []
      for (let i = 0; i < 6; i++) during.push((await limiter.consume('k')).allowed)
      await fellBack
      assert.equal(client.backend, 'memory')
      assert.deepEqual(during, [true, true, true, true, false, false])
      // The block script runs in the memory engine too.
      await limiter.block('blocked', 60_000)
      assert.equal((await limiter.consume('blocked')).allowed, false)
      assert.deepEqual((await store.increment('s')).totalHits, 1)
      assert.deepEqual((await store.increment('s')).totalHits, 2)
      const recovered = new Promise((resolve) => client.once('recover', resolve))
      await redis.restart()
      await recovered
      // Replayed: Redis continues the outage's counts and block.
      assert.equal((await limiter.consume('k')).allowed, false)
      const blocked = await limiter.consume('blocked')
      assert.equal(blocked.allowed, false)
      assert.ok(blocked.retryAfterMs > 30_000 && blocked.retryAfterMs <= 60_000, `${blocked.retryAfterMs}`)
      assert.equal((await store.increment('s')).totalHits, 3)
      const direct = new Redis(redis.port, '127.0.0.1', { fallback: false })
      assert.equal(await direct.get('fo:s'), '3')
      await direct.quit()
    } finally {
      client.disconnect()
      await redis.stop()
    }
  })
}

test("a client that reports backend 'memory' keeps being called for 'local' and is skipped for 'allow'/'deny'", async () => {
  const redis = await startRedis()
  // Simulates the failover client (client.backend === 'memory') on a live server, so what
  // reaches it is visible.
  const client = new Redis(redis.port, '127.0.0.1')
  Object.defineProperty(client, 'backend', { value: 'memory', configurable: true })
  try {
    const local = new RateLimitStore({ client, whenDown: 'local', prefix: 'mem-local:' })
    local.init({ windowMs: 10_000, limit: 2 })
    assert.equal((await local.increment('k')).totalHits, 1)
    assert.equal((await local.increment('k')).totalHits, 2)
    assert.equal(await client.get('mem-local:k'), '2')

    const deny = new RateLimitStore({ client, whenDown: 'deny', prefix: 'mem-deny:' })
    deny.init({ windowMs: 10_000, limit: 2 })
    assert.equal((await deny.increment('k')).totalHits, 3)
    const allow = new RateLimitStore({ client, whenDown: 'allow', prefix: 'mem-allow:' })
    allow.init({ windowMs: 10_000, limit: 2 })
    assert.equal((await allow.increment('k')).totalHits, 1)
    assert.equal(await client.exists('mem-deny:k', 'mem-allow:k'), 0)

    const limiter = new RateLimiter({ client, whenDown: 'deny', limit: 2, windowMs: 10_000, retryMs: 700 })
    assert.deepEqual(await limiter.consume('k'), { allowed: false, limit: 2, remaining: 0, resetMs: 700, retryAfterMs: 700 })
    // Back on Redis: decisions are Redis's again.
    Object.defineProperty(client, 'backend', { value: 'redis' })
    assert.equal((await limiter.consume('k')).allowed, true)
  } finally {
    client.disconnect()
    await redis.stop()
  }
})

test('a Redis call that never answers is cut at timeoutMs and the policy answers', async () => {
  const calls = []
  const hang = (...args) => {
    calls.push(args[0])
    return new Promise(() => {})
  }
  const store = new RateLimitStore({ sendCommand: hang, whenDown: 'deny', timeoutMs: 50, retryMs: 60_000 })
  store.init({ windowMs: 1000, limit: 3 })
  const info = await store.increment('k')
  assert.equal(info.totalHits, 4)
  assert.ok(info.resetTime instanceof Date)
  // Within retryMs Redis is not tried again: the answer comes at once.
  assert.equal((await store.increment('k')).totalHits, 4)
  assert.deepEqual(calls, ['EVALSHA'])

  const limiter = new RateLimiter({ sendCommand: hang, limit: 2, windowMs: 1000, timeoutMs: 50 })
  const results = []
  for (let i = 0; i < 3; i++) results.push((await limiter.consume('k')).allowed)
  assert.deepEqual(results, [true, true, false])
  // decrement never throws, even when Redis hangs.
  await store.decrement('k')
})
