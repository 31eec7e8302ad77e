// The fallback outlives a retry strategy that gives up. Options copied from a real
// backend: `retryStrategy` returns null after 3 attempts, `maxRetriesPerRequest: 3`.
// Behind a real Express app, with Redis absent at start and killed mid-traffic, no
// request may fail: memory answers until quit(), and connect() goes back to Redis and
// replays what was written meanwhile. With `fallback: false`, ioredis's behaviour.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import express from 'express'
import { RedisServer, freePort, rawCommand, startRedis } from './helpers/redis-server.mjs'

const Redis = createRequire(import.meta.url)('../lib/ioredis.js')

const SEED_OPTIONS = { maxRetriesPerRequest: 3, retryStrategy: (times) => (times > 3 ? null : Math.min(times * 100, 3000)) }

/** Resolves on the next `event` (events.once would reject on the client's `error` events). */
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)))

const errorsSeen = []

/** An Express app counting visits per page in Redis; resolves with its base URL and a closer. */
async function app(redis) {
  const server = express()
  server.get('/visit/:page', async (req, res) => {
    try {
      const count = await redis.incr(`visits:${req.params.page}`)
      await redis.set(`last:${req.params.page}`, String(count))
      res.json({ count, last: await redis.get(`last:${req.params.page}`) })
    } catch (err) {
      errorsSeen.push(err.message)
      res.status(500).json({ error: err.message })
    }
  })
  const listener = server.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  return { url: `http://127.0.0.1:${listener.address().port}`, close: () => new Promise((resolve) => listener.close(resolve)) }
}

/** Sends `n` requests spaced `gapMs` apart; resolves with every status. */
async function traffic(url, n, gapMs) {
  const statuses = []
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/visit/p${i % 3}`)
    await res.json()
    statuses.push(res.status)
    await sleep(gapMs)
  }
  return statuses
}

test('Redis absent at start: after the strategy gives up memory keeps answering; connect() replays to Redis', async () => {
  const port = await freePort()
  const redis = new Redis({ port, host: '127.0.0.1', ...SEED_OPTIONS })
  redis.on('error', () => {})
  const ended = once(redis, 'end')
  const web = await app(redis)
  try {
    // ~2 s of traffic: the strategy gives up after its 4th attempt (< 1 s).
    const statuses = await traffic(web.url, 40, 50)
    await ended
    assert.deepEqual(statuses.filter((s) => s !== 200), [])
    const health = await redis.health()
    assert.equal(health.backend, 'memory')
    assert.equal(health.status, 'degraded')
    assert.match(health.reason, /retryStrategy/)
    assert.equal(redis.status, 'end')
    // Redis appears; connect() goes back to it and writes the outage's keys there.
    const server = new RedisServer({ port })
    await server.start()
    try {
      const recovered = once(redis, 'recover')
      await redis.connect()
      await recovered
      assert.equal(redis.backend, 'redis')
      assert.equal(redis.status, 'ready')
      const onRedis = await rawCommand(port, 'GET visits:p0')
      assert.match(onRedis, /^\$\d+\r\n14$/)
      assert.deepEqual((await traffic(web.url, 6, 0)).filter((s) => s !== 200), [])
      assert.equal((await redis.health()).status, 'healthy')
      assert.equal(await redis.quit(), 'OK')
    } finally {
      await server.stop()
    }
  } finally {
    redis.disconnect()
    await web.close()
  }
})

test('Redis killed mid-traffic: zero failed requests through and after the give-up; quit() ends it', async () => {
  const server = await startRedis()
  const redis = new Redis({ port: server.port, host: '127.0.0.1', ...SEED_OPTIONS })
  redis.on('error', () => {})
  const web = await app(redis)
  try {
    await once(redis, 'ready')
    const before = traffic(web.url, 60, 30)
    await sleep(300)
    await server.kill()
    const statuses = await before
    assert.deepEqual(statuses.filter((s) => s !== 200), [], JSON.stringify(errorsSeen))
    assert.equal(redis.backend, 'memory')
    assert.equal(redis.status, 'end')
    // Counting goes on in memory (which starts from what the outage wrote: the killed
    // server's keys were never copied).
    const res = await fetch(`${web.url}/visit/p0`)
    assert.equal(res.status, 200)
    const body = await res.json()
    assert.ok(body.count > 1 && body.last === String(body.count), JSON.stringify(body))
    assert.equal(await redis.quit(), 'OK')
    await assert.rejects(redis.get('visits:p0'), /Connection is closed/)
  } finally {
    redis.disconnect()
    await web.close()
    await server.stop()
  }
})

test('fallback: false keeps ioredis semantics: once the strategy gives up, calls reject "Connection is closed."', async () => {
  const port = await freePort()
  const redis = new Redis({ port, host: '127.0.0.1', fallback: false, ...SEED_OPTIONS })
  redis.on('error', () => {})
  // Listening first: 'end' may come before the rejection is seen.
  const ended = once(redis, 'end')
  const first = redis.get('k')
  await assert.rejects(first, (err) => err.name === 'MaxRetriesPerRequestError' || /Connection is closed/.test(err.message))
  await ended
  await assert.rejects(redis.get('k'), /Connection is closed/)
  assert.equal((await redis.health()).status, 'degraded')
  redis.disconnect()
})
