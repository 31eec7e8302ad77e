// The status page in a REAL headless Chromium: it loads from a real Express app, shows
// each client's backend, breaker and limiter, and updates live when a REAL redis-server
// is killed (-9) and comes back. Skips with a message when Chromium is not installed
// (Debian: apt-get install chromium; .ci/run installs it).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { startRedis, redisServerAvailable } from './helpers/redis-server.mjs'
import { Browser, findChromium } from './helpers/chromium.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const bulwark = require('../lib/index.js')
const { Redis, CircuitBreaker, RateLimiter, Cache } = bulwark

const chromium = findChromium()
const cleanups = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function waitFor(condition, what, ms = 20_000) {
  const deadline = Date.now() + ms
  let last
  while (!(last = await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
  return last
}

async function serve(app) {
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${server.address().port}`
}

test('the handler: loopback-only by default, auth hook, read-only, JSON feed, redirect to the slash', async () => {
  const app = express()
  app.use('/bulwark', bulwark.dashboard())
  app.use('/private', bulwark.dashboard({ auth: (req) => req.headers['x-token'] === 'let-me-in' }))
  const base = await serve(app)
  const redirect = await fetch(`${base}/bulwark`, { redirect: 'manual' })
  assert.equal(redirect.status, 308)
  assert.equal(redirect.headers.get('location'), '/bulwark/')
  const page = await fetch(`${base}/bulwark/`)
  assert.equal(page.status, 200)
  const html = await page.text()
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\//, 'self-contained: no external script, style or URL')
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'/)
  const feed = await (await fetch(`${base}/bulwark/api/status`)).json()
  assert.equal(feed.pid, process.pid)
  assert.ok(Array.isArray(feed.clients) && Array.isArray(feed.breakers) && Array.isArray(feed.limiters))
  assert.equal((await fetch(`${base}/bulwark/api/status`, { method: 'POST' })).status, 405)
  assert.equal((await fetch(`${base}/private/api/status`)).status, 403)
  assert.equal((await fetch(`${base}/private/api/status`, { headers: { 'x-token': 'let-me-in' } })).status, 200)
  assert.throws(() => bulwark.dashboard({ auth: 'open' }), /auth must be a function/)
  assert.throws(() => bulwark.dashboard({ pollIntervalMs: 10 }), /pollIntervalMs/)
})

test(
  'Chromium shows the backend, breaker and limiter and updates when Redis is killed and restarted',
  { skip: (!chromium && 'chromium is not installed (apt-get install -y chromium); skipping the browser test') || (!redisServerAvailable() && 'redis-server is not installed') },
  async () => {
    const s = await startRedis()
    cleanups.push(() => s.stop())
    const r = new Redis(s.url, { connectionName: 'dash-client', fallbackTimeout: 200, retryStrategy: () => 50 })
    r.on('error', () => {})
    cleanups.push(() => r.disconnect())
    const breaker = new CircuitBreaker(async () => 'ok', { name: 'dash-breaker' })
    cleanups.push(() => breaker.shutdown())
    const limiter = new RateLimiter({ client: r, limit: 1, windowMs: 60_000, name: 'dash-limiter' })
    await waitFor(() => r.status === 'ready', 'ready')
    await breaker.fire()
    await limiter.consume('someone')
    await limiter.consume('someone')
    const cache = new Cache({ client: r, name: 'dash-cache', prefix: `dash:${process.pid}:` })
    cleanups.push(() => cache.close())
    await cache.wrap('k', async () => 'v')
    await cache.wrap('k', async () => 'v')

    const app = express()
    app.use('/bulwark', bulwark.dashboard({ pollIntervalMs: 500 }))
    const base = await serve(app)

    const browser = Browser.launch(chromium)
    cleanups.push(() => browser.close())
    const page = await browser.open(`${base}/bulwark/`)
    const backend = () => page.evaluate(`document.querySelector('[data-client="dash-client"]')?.dataset.backend ?? null`)
    assert.equal(await waitFor(backend, 'the client card'), 'redis')
    assert.equal(await page.evaluate(`document.querySelector('[data-breaker="dash-breaker"]').dataset.state`), 'closed')
    const limiterRow = await page.evaluate(`[...document.querySelectorAll('[data-limiter="dash-limiter"] td')].map((td) => td.textContent)`)
    assert.deepEqual(limiterRow.slice(0, 4), ['dash-limiter', '1', '1', '50.0 %'])
    const cacheRow = await page.evaluate(`[...document.querySelectorAll('[data-cache="dash-cache"] td')].map((td) => td.textContent)`)
    assert.deepEqual(cacheRow, ['dash-cache', '1', '0', '0', '1', '50.0 %', '0.0 %', '50.0 %'])

    await s.kill()
    await waitFor(async () => (await backend()) === 'memory', 'the page to show memory')
    const card = await page.evaluate(`document.querySelector('[data-client="dash-client"]').textContent`)
    assert.match(card, /outages \/ recoveries1 \/ 0/)

    await s.restart()
    await waitFor(async () => (await backend()) === 'redis', 'the page to show redis again')
    assert.match(await page.evaluate(`document.querySelector('[data-client="dash-client"]').textContent`), /outages \/ recoveries1 \/ 1/)
    assert.equal(await page.evaluate(`document.getElementById('error').textContent`), '')
  },
)
