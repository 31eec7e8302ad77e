// An Express route protected by a breaker around a local upstream HTTP server that can
// be made to fail and to hang.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const express = require('express')
const CircuitBreaker = require('bulwark/opossum')

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode, body }))
      })
      .on('error', reject)
  })
}

test('express route: upstream failures and hangs open the breaker, recovery closes it', async () => {
  let mode = 'ok'
  const hung = new Set()
  const upstream = http.createServer((req, res) => {
    if (mode === 'ok') res.end('upstream ok')
    else if (mode === 'fail') {
      res.statusCode = 500
      res.end('upstream error')
    } else hung.add(res) // hang: never answer
  })
  const upstreamPort = await listen(upstream)

  const callUpstream = () =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: upstreamPort, path: '/', agent: false }, (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => (res.statusCode >= 500 ? reject(new Error(`upstream ${res.statusCode}`)) : resolve(body)))
      })
      req.on('error', reject)
      breaker.getSignal()?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true })
    })
  const breaker = new CircuitBreaker(callUpstream, {
    timeout: 100,
    resetTimeout: 150,
    volumeThreshold: 2,
    errorThresholdPercentage: 50,
    autoRenewAbortController: true,
  })
  const events = []
  for (const e of ['open', 'halfOpen', 'close', 'timeout']) breaker.on(e, () => events.push(e))

  const app = express()
  app.get('/data', async (req, res) => {
    try {
      res.send(await breaker.fire())
    } catch (err) {
      res.status(err.code === 'EOPENBREAKER' ? 503 : 502).send(err.code || err.message)
    }
  })
  const server = http.createServer(app)
  const port = await listen(server)

  try {
    assert.deepEqual(await get(port, '/data'), { status: 200, body: 'upstream ok' })
    mode = 'fail'
    assert.equal((await get(port, '/data')).status, 502)
    assert.equal((await get(port, '/data')).status, 502)
    assert.equal(breaker.opened, true)
    assert.deepEqual(await get(port, '/data'), { status: 503, body: 'EOPENBREAKER' })

    // Half-open trial that hangs: times out and reopens.
    mode = 'hang'
    await new Promise((r) => breaker.once('halfOpen', r))
    assert.deepEqual(await get(port, '/data'), { status: 502, body: 'ETIMEDOUT' })
    assert.equal(breaker.opened, true)

    // Upstream recovers: the next trial closes the circuit.
    mode = 'ok'
    await new Promise((r) => breaker.once('halfOpen', r))
    assert.deepEqual(await get(port, '/data'), { status: 200, body: 'upstream ok' })
    assert.equal(breaker.closed, true)
    assert.deepEqual(events, ['open', 'halfOpen', 'timeout', 'open', 'halfOpen', 'close'])
    const stats = breaker.stats
    assert.equal(stats.timeouts, 1)
    assert.equal(stats.rejects, 1)
    assert.equal(stats.successes, 2)
  } finally {
    breaker.shutdown()
    for (const res of hung) res.destroy()
    await new Promise((r) => server.close(r))
    await new Promise((r) => upstream.close(r))
  }
})
