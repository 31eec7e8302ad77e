// `npm run demo` serves the example backend: start it as the script does and use every
// part of it, on memory://, on a REAL redis-server, and through a kill -9 of that Redis
// under load (zero failed requests).
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, startRedis, redisServerAvailable } from './helpers/redis-server.mjs'
import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.mjs'

const server = fileURLToPath(new URL('../examples/server.js', import.meta.url))
const noRedis = !redisServerAvailable() && 'redis-server is not installed'

/** Starts the demo as `npm run demo` does; resolves with its two instance URLs once it printed them. */
async function startDemo(t, extraEnv = {}) {
  const port = await freePort()
  const portB = await freePort()
  const env = { ...process.env, PORT: String(port), PORT_B: String(portB), ...extraEnv }
  if (!('REDIS_URL' in extraEnv)) delete env.REDIS_URL
  const child = spawn(process.execPath, [server], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  t.after(() => child.kill('SIGKILL'))
  let out = ''
  while (!/metrics:\s+\S+/.test(out)) {
    const [chunk] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => [null])])
    if (chunk === null) throw new Error(`the demo exited:\n${stderr}`)
    out += chunk
  }
  assert.match(out, new RegExp(`listening on http://127.0.0.1:${port}`))
  assert.match(out, new RegExp(`second instance: http://127.0.0.1:${portB}`))
  assert.match(out, new RegExp(`status page: +http://127.0.0.1:${port}/bulwark/`))
  return { a: `http://127.0.0.1:${port}`, b: `http://127.0.0.1:${portB}`, child, stderr: () => stderr }
}

async function json(url, init) {
  const res = await fetch(url, init)
  return { status: res.status, headers: res.headers, body: await res.json() }
}

const post = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) })

/** Every part of the demo once; `backend` is where the client should answer. */
async function exercise({ a, b }, backend) {
  const health = await json(`${a}/health`)
  assert.equal(health.status, 200)
  assert.equal(health.body.status, 'pass')
  assert.equal(health.headers.get('content-type'), 'application/health+json')
  assert.deepEqual(
    health.body.checks['redis:connections'].filter((c) => c.componentId === 'demo-a').map((c) => c.observedValue),
    [backend],
  )

  for (const expected of [1, 2]) {
    const visit = await json(`${a}/api/visits`, { method: 'POST' })
    assert.deepEqual(visit.body, { visits: expected, backend, instance: 'a' })
    assert.match(visit.headers.get('ratelimit-policy'), /q=20; w=60/)
  }

  const login = await fetch(`${a}/login`, post({ user: 'ada' }))
  assert.equal(login.status, 200)
  const cookie = login.headers.get('set-cookie').split(';')[0]
  assert.deepEqual((await json(`${b}/me`, { headers: { cookie } })).body, { user: 'ada', instance: 'b' }, 'the session is shared by both instances')

  const miss = await json(`${a}/api/report`)
  assert.equal(miss.headers.get('x-cache-status'), 'MISS')
  const hit = await json(`${b}/api/report`)
  assert.equal(hit.headers.get('x-cache-status'), 'HIT')
  assert.deepEqual(hit.body, miss.body)

  const quote = await json(`${a}/api/quote`)
  assert.equal(quote.status, 200)
  assert.equal(typeof quote.body.quote, 'string')

  const sent = await json(`${a}/api/broadcast`, post({ message: 'hello from a' }))
  assert.equal(sent.body.receivers, 2, 'both instances are subscribed')
  let events
  for (let i = 0; i < 100; i++) {
    events = (await json(`${b}/api/events`)).body
    if (events.received.length > 0) break
    await sleep(20)
  }
  assert.deepEqual(events.received.map((e) => [e.message, e.from]), [['hello from a', 'a']])

  const metrics = await fetch(`${a}/metrics`)
  assert.match(metrics.headers.get('content-type'), /^text\/plain; version=0.0.4/)
  const families = parsePrometheusText(await metrics.text())
  assert.equal(sampleValue(families, 'bulwark_ratelimit_decisions_total', { limiter: 'visits', decision: 'allowed' }), 2)
  assert.equal(sampleValue(families, 'bulwark_cache_requests_total', { cache: 'reports-a', result: 'miss', tier: 'all' }), 1)
  assert.equal(sampleValue(families, 'bulwark_cache_requests_total', { cache: 'reports-b', result: 'hit', tier: 'l2' }), 1)
  assert.equal(sampleValue(families, 'bulwark_session_operations_total', { store: 'sessions-a', operation: 'written' }), 1)
  assert.equal(sampleValue(families, 'bulwark_session_operations_total', { store: 'sessions-b', operation: 'read' }), 1)
  assert.equal(sampleValue(families, 'bulwark_redis_commands_total', { client: 'demo-a', command: 'incr', backend }), 2)
  assert.equal(sampleValue(families, 'bulwark_circuit_events_total', { name: 'upstream-a', event: 'fire' }), 1)

  const page = await fetch(`${a}/bulwark/`)
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<title>bulwark status<\/title>/)
  const status = (await json(`${a}/bulwark/api/status`)).body
  const names = status.clients.map((c) => c.name)
  for (const name of ['demo-a', 'demo-a-subscriber', 'demo-b', 'demo-b-subscriber']) assert.ok(names.includes(name), `${name} in ${names}`)
  assert.deepEqual(status.caches.map((c) => c.name).sort(), ['reports-a', 'reports-b'])
  assert.deepEqual(status.sessions.map((c) => c.name).sort(), ['sessions-a', 'sessions-b'])
}

async function stop(child) {
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, 'SIGTERM closes both instances and exits cleanly')
}

test('the example backend on memory:// (no REDIS_URL): every part answers', async (t) => {
  const demo = await startDemo(t)
  await exercise(demo, 'memory')
  await stop(demo.child)
})

test('the example backend on a real Redis', { skip: noRedis }, async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const demo = await startDemo(t, { REDIS_URL: redis.url })
  await exercise(demo, 'redis')
  await stop(demo.child)
})

test('the example backend through kill -9 and restart of Redis under load: zero failed requests, nobody logged out', { skip: noRedis }, async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const demo = await startDemo(t, { REDIS_URL: redis.url, DEMO_RATE_LIMIT: '1000000000' })
  const login = await fetch(`${demo.a}/login`, post({ user: 'grace' }))
  const cookie = login.headers.get('set-cookie').split(';')[0]
  const requests = [
    [`${demo.a}/api/visits`, { method: 'POST' }],
    [`${demo.b}/api/visits`, { method: 'POST' }],
    [`${demo.a}/me`, { headers: { cookie } }],
    [`${demo.b}/api/report`],
    [`${demo.a}/api/quote`],
    [`${demo.b}/api/broadcast`, post({ message: 'tick' })],
    [`${demo.a}/health`],
  ]
  const failures = []
  let done = 0
  let running = true
  const loops = Array.from({ length: 8 }, async (_, worker) => {
    for (let i = worker; running; i++) {
      const [url, init] = requests[i % requests.length]
      try {
        const res = await fetch(url, init)
        const body = await res.text()
        if (res.status !== 200) failures.push(`${url} → ${res.status}`)
        else if (url.endsWith('/me') && JSON.parse(body).user !== 'grace') failures.push(`${url} → logged out: ${body}`)
      } catch (err) {
        failures.push(`${url} → ${err.message}`)
      }
      done++
    }
  })
  const backend = async () => (await json(`${demo.a}/bulwark/api/status`)).body.clients.find((c) => c.name === 'demo-a').backend
  const waitBackend = async (want) => {
    for (let i = 0; i < 300 && (await backend()) !== want; i++) await sleep(50)
    assert.equal(await backend(), want)
  }
  await sleep(500)
  await redis.kill()
  await waitBackend('memory')
  const warn = await json(`${demo.a}/health`)
  assert.deepEqual([warn.status, warn.body.status], [200, 'warn'])
  await sleep(700)
  await redis.restart()
  await waitBackend('redis')
  await sleep(500)
  running = false
  await Promise.all(loops)
  assert.deepEqual(failures, [], demo.stderr())
  assert.ok(done > 50, `traffic ran (${done} requests)`)
  const families = parsePrometheusText(await (await fetch(`${demo.a}/metrics`)).text())
  assert.equal(sampleValue(families, 'bulwark_backend_failovers_total', { client: 'demo-a' }), 1)
  assert.equal(sampleValue(families, 'bulwark_backend_recoveries_total', { client: 'demo-a' }), 1)
  assert.ok(sampleValue(families, 'bulwark_redis_commands_total', { client: 'demo-a', command: 'incr', backend: 'memory' }) > 0, 'the outage was answered from memory')
  await stop(demo.child)
})

test('a bad PORT is refused with a clear message', async () => {
  const child = spawn(process.execPath, [server], { env: { ...process.env, PORT: 'abc' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const [code] = await once(child, 'exit')
  assert.equal(code, 1)
  assert.match(stderr, /PORT must be an integer/)
})
