// cache.middleware() in a REAL express app over HTTP, with a REAL redis-server behind the cache:
// X-Cache-Status HIT / MISS / STALE, one route run for concurrent requests, what is not cached.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const { Cache, Redis } = require('../lib/index.js')

let server
let redis
let cache
let http
let base
const runs = new Map()
let failNext = false

before(async () => {
  server = await startRedis()
  redis = new Redis(server.url, { fallbackTimeout: 2000 }) // no faked outage on a loaded machine
  redis.on('error', () => {})
  cache = new Cache({ client: redis, prefix: 'http:', ttl: '1h' })
  const app = express()
  const count = (name) => runs.set(name, (runs.get(name) ?? 0) + 1)
  app.use('/cached', cache.middleware())
  app.use('/short', cache.middleware({ ttl: 50, grace: '1h' }))
  app.get('/cached/user/:id', async (req, res) => {
    count(`user:${req.params.id}`)
    await sleep(50)
    res.json({ id: req.params.id, name: `user ${req.params.id}` })
  })
  app.get('/cached/missing', (req, res) => {
    count('missing')
    res.status(404).json({ error: 'not found' })
  })
  app.get('/cached/text', (req, res) => {
    count('text')
    res.send('plain text')
  })
  app.get('/cached/throws', () => {
    count('throws')
    throw new Error('route failed')
  })
  app.post('/cached/user/:id', (req, res) => {
    count('post')
    res.json({ posted: true })
  })
  app.get('/short/flaky', (req, res) => {
    count('flaky')
    if (failNext) res.status(503).json({ error: 'backend down' })
    else res.json({ version: runs.get('flaky') })
  })
  app.use((err, req, res, next) => res.status(500).json({ error: err.message }))
  await new Promise((resolve) => {
    http = app.listen(0, '127.0.0.1', resolve)
  })
  base = `http://127.0.0.1:${http.address().port}`
})

after(async () => {
  await new Promise((resolve) => http.close(resolve))
  cache.close()
  redis.disconnect()
  await server.stop()
})

async function get(path, init) {
  const res = await fetch(base + path, init)
  const text = await res.text()
  return { status: res.status, cache: res.headers.get('x-cache-status'), type: res.headers.get('content-type'), body: text }
}

test('MISS then HIT: the route runs once, the cached JSON is the same response', async () => {
  const first = await get('/cached/user/1')
  assert.equal(first.status, 200)
  assert.equal(first.cache, 'MISS')
  assert.deepEqual(JSON.parse(first.body), { id: '1', name: 'user 1' })
  const second = await get('/cached/user/1')
  assert.equal(second.status, 200)
  assert.equal(second.cache, 'HIT')
  assert.equal(second.body, first.body)
  assert.match(second.type, /application\/json/)
  assert.equal(runs.get('user:1'), 1)
  assert.match(await redis.get('http:k:GET /cached/user/1'), /"user 1"/)
})

test('50 concurrent requests for a cold URL run the route once', async () => {
  const all = await Promise.all(Array.from({ length: 50 }, () => get('/cached/user/2')))
  assert.equal(runs.get('user:2'), 1)
  for (const r of all) {
    assert.equal(r.status, 200)
    assert.deepEqual(JSON.parse(r.body), { id: '2', name: 'user 2' })
    // Requests that arrive after the fill are plain hits.
    assert.ok(r.cache === 'MISS' || r.cache === 'HIT', r.cache)
  }
  assert.ok(all.some((r) => r.cache === 'MISS'))
})

test('not cached: non-200 JSON, responses not sent with res.json, errors, POST', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await get('/cached/missing')
    assert.equal(r.status, 404)
    assert.equal(r.cache, 'MISS')
    assert.deepEqual(JSON.parse(r.body), { error: 'not found' })
  }
  assert.equal(runs.get('missing'), 2)
  for (let i = 0; i < 2; i++) assert.equal((await get('/cached/text')).body, 'plain text')
  assert.equal(runs.get('text'), 2)
  for (let i = 0; i < 2; i++) {
    const r = await get('/cached/throws')
    assert.equal(r.status, 500)
    assert.deepEqual(JSON.parse(r.body), { error: 'route failed' })
  }
  assert.equal(runs.get('throws'), 2)
  for (let i = 0; i < 2; i++) {
    const r = await get('/cached/user/1', { method: 'POST' })
    assert.deepEqual(JSON.parse(r.body), { posted: true })
    assert.equal(r.cache, null)
  }
  assert.equal(runs.get('post'), 2)
  assert.equal(await cache.get('GET /cached/missing'), undefined)
  assert.equal(await cache.get('GET /cached/text'), undefined)
})

test('STALE: when the route fails after expiry, the last good JSON answers within grace', async () => {
  const fresh = await get('/short/flaky')
  assert.equal(fresh.cache, 'MISS')
  await sleep(80)
  failNext = true
  const stale = await get('/short/flaky')
  assert.equal(stale.status, 200)
  assert.equal(stale.cache, 'STALE')
  assert.equal(stale.body, fresh.body)
  failNext = false
  await sleep(80)
  const again = await get('/short/flaky')
  // The failed refresh backs off (graceBackoff, 10 s): still the stale copy, no route run.
  assert.equal(again.cache, 'STALE')
  assert.equal(runs.get('flaky'), 2)
})

test('bad middleware options are TypeErrors/RangeErrors', () => {
  assert.throws(() => cache.middleware({ key: 'url' }), { name: 'TypeError', message: /options.key/ })
  assert.throws(() => cache.middleware({ ttl: -1 }), { name: 'RangeError', message: /ttl/ })
  assert.throws(() => cache.middleware(null), { name: 'TypeError' })
})
