// health() and healthHandler(): pass → warn → pass across a kill -9 and restart of a
// REAL redis-server, served by a real Express app (200 for warn, 503 only for fail).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { startRedis, redisServerAvailable, freePort } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const bulwark = require('../lib/index.js')
const { Redis, CircuitBreaker } = bulwark

const cleanups = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function waitFor(condition, what, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function serve(app) {
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${server.address().port}`
}

async function get(url) {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), body: await res.json() }
}

test('pass → warn (answering from memory, HTTP 200) → pass across kill -9 and restart', { skip: !redisServerAvailable() && 'redis-server is not installed' }, async () => {
  const s = await startRedis()
  cleanups.push(() => s.stop())
  const r = new Redis(s.url, { connectionName: 'health-client', fallbackTimeout: 200, retryStrategy: () => 50 })
  r.on('error', () => {})
  cleanups.push(() => r.disconnect())
  const breaker = new CircuitBreaker(async () => 'ok', { name: 'health-breaker' })
  cleanups.push(() => breaker.shutdown())
  await waitFor(() => r.status === 'ready', 'ready')

  const app = express()
  app.get('/health', bulwark.healthHandler())
  app.get('/ready', bulwark.healthHandler({ readiness: { requireRedis: true } }))
  const base = await serve(app)

  let res = await get(`${base}/health`)
  assert.equal(res.status, 200)
  assert.equal(res.type, 'application/health+json')
  assert.equal(res.cache, 'no-store')
  assert.equal(res.body.status, 'pass')
  assert.equal(res.body.output, undefined, 'no output on pass')
  const conn = res.body.checks['redis:connections'].find((c) => c.componentId === 'health-client')
  assert.deepEqual([conn.status, conn.observedValue, conn.componentType], ['pass', 'redis', 'datastore'])
  const rt = res.body.checks['redis:responseTime'].find((c) => c.componentId === 'health-client')
  assert.equal(rt.observedUnit, 'ms')
  assert.equal(typeof rt.observedValue, 'number')
  assert.deepEqual(
    res.body.checks['circuit:state'].map((c) => [c.componentId, c.observedValue, c.status]),
    [['health-breaker', 'closed', 'pass']],
  )

  await s.kill()
  await waitFor(() => r.backend === 'memory', 'the fallback')
  res = await get(`${base}/health`)
  assert.equal(res.status, 200, 'an outage answered from memory is not a failure')
  assert.equal(res.body.status, 'warn')
  const warned = res.body.checks['redis:connections'].find((c) => c.componentId === 'health-client')
  assert.deepEqual([warned.status, warned.observedValue], ['warn', 'memory'])
  assert.match(res.body.output, /health-client: answering from memory/)
  const ready = await get(`${base}/ready`)
  assert.equal(ready.status, 503, 'readiness that requires Redis fails')
  assert.equal(ready.body.status, 'fail')

  await s.restart()
  await waitFor(() => r.backend === 'redis', 'the recovery')
  res = await get(`${base}/health`)
  assert.equal(res.status, 200)
  assert.equal(res.body.status, 'pass')
  assert.equal((await get(`${base}/ready`)).status, 200)
})

test('a client with ioredis semantics (fallback: false) and Redis down is fail: 503', async () => {
  const port = await freePort()
  const r = new Redis({ host: '127.0.0.1', port, fallback: false, connectionName: 'no-fallback', maxRetriesPerRequest: 0, retryStrategy: () => 100 })
  r.on('error', () => {})
  cleanups.push(() => r.disconnect())
  const report = await bulwark.health()
  assert.equal(report.status, 'fail')
  const check = report.checks['redis:connections'].find((c) => c.componentId === 'no-fallback')
  assert.equal(check.status, 'fail')
  const app = express()
  app.get('/health', bulwark.healthHandler())
  const res = await get(`${await serve(app)}/health`)
  assert.equal(res.status, 503)
  r.disconnect()
  await waitFor(() => r.status === 'end', 'the end')
  assert.equal((await bulwark.health()).checks['redis:connections']?.some((c) => c.componentId === 'no-fallback') ?? false, false, 'a client the app closed leaves the report')
})

test('an open breaker is warn; memory:// clients pass; bad options are refused', async () => {
  const r = new Redis(`memory://health-${process.pid}`, { connectionName: 'mem' })
  cleanups.push(() => r.quit())
  const breaker = new CircuitBreaker(async () => 'ok', { name: 'forced-open' })
  cleanups.push(() => breaker.shutdown())
  breaker.open()
  const report = await bulwark.health()
  assert.equal(report.checks['redis:connections'].find((c) => c.componentId === 'mem').status, 'pass')
  assert.equal(report.checks['circuit:state'].find((c) => c.componentId === 'forced-open').status, 'warn')
  assert.equal(report.status, 'warn')
  assert.throws(() => bulwark.healthHandler({ readiness: 'yes' }), /readiness must be an object/)
  assert.throws(() => bulwark.healthHandler(null), /options must be an object/)
})
