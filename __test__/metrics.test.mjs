// Prometheus metrics: exact values after known traffic on memory:// and on a REAL
// redis-server through a kill -9 and restart, the exposition parsed strictly, the same
// families through prom-client, bounded labels.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis, redisServerAvailable } from './helpers/redis-server.mjs'
import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.mjs'

const require = createRequire(import.meta.url)
const bulwark = require('../lib/index.js')
const { Redis, CircuitBreaker, RateLimiter } = bulwark
const promClient = require('prom-client')

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

async function waitFor(condition, what, ms = 15_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

const scrape = () => parsePrometheusText(bulwark.metrics.text())

test('memory:// commands are counted by command and backend, errors included', async () => {
  const r = client(`memory://metrics-${process.pid}`, { connectionName: 'mem-client' })
  await r.connect().catch(() => {})
  for (let i = 0; i < 10; i++) await r.set(`k${i}`, 'v')
  await Promise.all(Array.from({ length: 5 }, (_, i) => r.get(`k${i}`)))
  await r.set('s', 'text')
  await assert.rejects(r.incr('s'), /not an integer/)
  await r.call('frobnicate-nothing').catch(() => {})

  const m = scrape()
  const labels = (command) => ({ client: 'mem-client', command, backend: 'memory' })
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', labels('set')), 11)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', labels('get')), 5)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', labels('incr')), 1)
  assert.equal(sampleValue(m, 'bulwark_redis_command_errors_total', labels('incr')), 1)
  assert.equal(sampleValue(m, 'bulwark_redis_command_errors_total', labels('set')), 0)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', labels('other')), 1, 'an unknown command counts as other')
  // One command in 32 is timed: the histogram holds a sample, never more than the count.
  assert.ok(sampleValue(m, 'bulwark_redis_command_duration_seconds_count', labels('set')) <= 11)
  assert.ok(sampleValue(m, 'bulwark_redis_command_duration_seconds_bucket', { ...labels('get'), le: '+Inf' }) <= 5)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', { client: 'mem-client', backend: 'redis' }), undefined)
  assert.equal(sampleValue(m, 'bulwark_backend_state', { client: 'mem-client', state: 'memory' }), 1)
  assert.equal(sampleValue(m, 'bulwark_backend_state', { client: 'mem-client', state: 'redis' }), 0)
  assert.equal(sampleValue(m, 'bulwark_memory_engine_keys', { client: 'mem-client' }), 11)
  await r.quit()
})

test('labels stay bounded: 2000 distinct keys and made-up commands add no series', async () => {
  const r = client(`memory://bounded-${process.pid}`, { connectionName: 'bounded' })
  await r.set('warm', '1')
  await r.call('made-up-1').catch(() => {})
  const series = () =>
    bulwark.metrics
      .text()
      .split('\n')
      .filter((line) => line.includes('client="bounded"'))
      .map((line) => line.split(' ')[0])
  const before = series()
  for (let i = 0; i < 2000; i++) r.set(`key:${i}:${Math.random()}`, 'v')
  await r.set('last', '1')
  for (let i = 0; i < 50; i++) await r.call(`made-up-${i}`).catch(() => {})
  assert.deepEqual(series(), before, 'the same series')
  const text = bulwark.metrics.text()
  assert.doesNotMatch(text, /key:\d/)
  assert.equal(sampleValue(parsePrometheusText(text), 'bulwark_redis_commands_total', { client: 'bounded', command: 'set' }), 2002)
  await r.quit()
})

test('metrics: false records no command series for that client', async () => {
  const r = client(`memory://off-${process.pid}`, { connectionName: 'metrics-off', metrics: false })
  await r.set('a', '1')
  const m = scrape()
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', { client: 'metrics-off' }), undefined)
  assert.equal(sampleValue(m, 'bulwark_backend_state', { client: 'metrics-off', state: 'memory' }), 1, 'state is still reported')
  await r.quit()
})

test('breaker events, states and call latencies', async () => {
  let fail = false
  const breaker = new CircuitBreaker(async () => {
    if (fail) throw new Error('upstream down')
    return 'ok'
  }, { name: 'metrics-breaker', errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeout: 60_000 })
  for (let i = 0; i < 3; i++) await breaker.fire()
  fail = true
  let failures = 0
  while (!breaker.opened && failures < 10) {
    await assert.rejects(breaker.fire(), /upstream down/)
    failures++
  }
  assert.equal(breaker.opened, true)
  await assert.rejects(breaker.fire(), /Breaker is open/)
  const m = scrape()
  const ev = (event) => sampleValue(m, 'bulwark_circuit_events_total', { name: 'metrics-breaker', event })
  assert.equal(ev('fire'), 3 + failures + 1)
  assert.equal(ev('success'), 3)
  assert.equal(ev('failure'), failures)
  assert.equal(ev('reject'), 1)
  assert.equal(ev('open'), 1)
  assert.equal(ev('close'), 0)
  assert.equal(sampleValue(m, 'bulwark_circuit_state', { name: 'metrics-breaker', state: 'open' }), 1)
  assert.equal(sampleValue(m, 'bulwark_circuit_state', { name: 'metrics-breaker', state: 'closed' }), 0)
  assert.equal(sampleValue(m, 'bulwark_circuit_call_duration_seconds_count', { name: 'metrics-breaker', outcome: 'success' }), 3)
  assert.equal(sampleValue(m, 'bulwark_circuit_call_duration_seconds_count', { name: 'metrics-breaker', outcome: 'failure' }), failures)
  // opossum-prometheus's names, for dashboards built on them.
  const compat = parsePrometheusText(bulwark.metrics.text({ opossumCompat: { metricPrefix: 'app_' } }), { countersWithoutTotal: ['app_circuit'] })
  assert.equal(sampleValue(compat, 'app_circuit', { name: 'metrics-breaker', event: 'success' }), 3)
  assert.equal(sampleValue(compat, 'app_circuit', { name: 'metrics-breaker', event: 'open' }), 1)
  assert.equal(sampleValue(compat, 'app_circuit_perf_count', { name: 'metrics-breaker', event: 'failure' }), failures)
  assert.ok(sampleValue(compat, 'app_circuit_perf_sum', { name: 'metrics-breaker', event: 'success' }) >= 0)
  assert.equal(compat.get('app_circuit_perf').type, 'summary')
  assert.throws(() => bulwark.metrics.text({ opossumCompat: 'yes' }), /opossumCompat must be/)
  breaker.shutdown()
  assert.equal(sampleValue(scrape(), 'bulwark_circuit_state', { name: 'metrics-breaker', state: 'open' }), undefined, 'a shut-down breaker leaves the report')
})

test('breakers sharing a name get unique labels; thousands register quickly', () => {
  const breakers = Array.from({ length: 3000 }, () => new CircuitBreaker(async function lookup() {}))
  assert.deepEqual(
    breakers.slice(0, 3).map((b) => b.name),
    ['lookup', 'lookup', 'lookup'],
    'the breaker keeps its own name',
  )
  const names = parsePrometheusText(bulwark.metrics.text()).get('bulwark_circuit_state').samples.filter((s) => s.labels.state === 'closed' && s.labels.name.startsWith('lookup'))
  assert.equal(new Set(names.map((s) => s.labels.name)).size, 3000)
  assert.ok(names.some((s) => s.labels.name === 'lookup-3000'))
  for (const b of breakers) b.shutdown()
  assert.equal(sampleValue(scrape(), 'bulwark_circuit_state', { name: 'lookup' }), undefined)
})

test('rate-limit decisions by limiter, decision and backend (get() is not a decision)', async () => {
  const limiter = new RateLimiter({ memory: true, limit: 2, windowMs: 60_000, name: 'metrics-limiter' })
  for (let i = 0; i < 3; i++) await limiter.consume('ip-1')
  await limiter.get('ip-1')
  const m = scrape()
  assert.equal(sampleValue(m, 'bulwark_ratelimit_decisions_total', { limiter: 'metrics-limiter', decision: 'allowed', backend: 'memory' }), 2)
  assert.equal(sampleValue(m, 'bulwark_ratelimit_decisions_total', { limiter: 'metrics-limiter', decision: 'limited', backend: 'memory' }), 1)
  assert.doesNotMatch(bulwark.metrics.text(), /ip-1/)
})

test('caches and session stores count through the registry', () => {
  const cache = {}
  const entry = bulwark.registry.add('cache', cache, 'users')
  entry.count('hit', 'l1')
  entry.count('hit', 'l1')
  entry.count('miss', 'l2')
  const store = {}
  const sessions = bulwark.registry.add('session', store, 'sessions')
  sessions.count('read')
  const again = bulwark.registry.add('cache', {}, 'users')
  assert.equal(again.name, 'users-2', 'a taken name gets a suffix')
  const m = scrape()
  assert.equal(sampleValue(m, 'bulwark_cache_requests_total', { cache: 'users', result: 'hit', tier: 'l1' }), 2)
  assert.equal(sampleValue(m, 'bulwark_cache_requests_total', { cache: 'users', result: 'miss', tier: 'l2' }), 1)
  assert.equal(sampleValue(m, 'bulwark_session_operations_total', { store: 'sessions', operation: 'read' }), 1)
  bulwark.registry.remove(entry)
  bulwark.registry.remove(again)
  bulwark.registry.remove(sessions)
  assert.equal(sampleValue(scrape(), 'bulwark_cache_requests_total', { cache: 'users' }), undefined)
  assert.throws(() => bulwark.registry.add('widget', {}, 'x'), /kind must be one of/)
  assert.throws(() => bulwark.registry.add('cache', {}, ''), /name must be a non-empty string/)
})

test("bulwark's Cache and SessionStore are reported from their own counters", async () => {
  const r = client(`memory://cache-metrics-${process.pid}`)
  const cache = new bulwark.Cache({ client: r, name: 'products' })
  const factory = async () => ({ id: 1 })
  await cache.wrap('p1', factory)
  await cache.wrap('p1', factory)
  await cache.wrap('p1', factory)
  const store = new bulwark.SessionStore({ client: r, name: 'logins' })
  await store.set('sid-1', { cookie: { maxAge: 60_000 }, user: 'ada' })
  await store.get('sid-1')
  await store.get('sid-2')
  await store.destroy('sid-1')
  const m = scrape()
  assert.equal(sampleValue(m, 'bulwark_cache_requests_total', { cache: 'products', result: 'miss', tier: 'all' }), 1)
  assert.equal(sampleValue(m, 'bulwark_cache_requests_total', { cache: 'products', result: 'hit', tier: 'l1' }), 2)
  assert.equal(sampleValue(m, 'bulwark_cache_requests_total', { cache: 'products', result: 'hit', tier: 'l2' }), 0)
  assert.equal(sampleValue(m, 'bulwark_cache_factory_runs_total', { cache: 'products', outcome: 'ok' }), 1)
  assert.equal(sampleValue(m, 'bulwark_cache_l1_entries', { cache: 'products' }), 1)
  assert.equal(sampleValue(m, 'bulwark_session_operations_total', { store: 'logins', operation: 'written' }), 1)
  assert.equal(sampleValue(m, 'bulwark_session_operations_total', { store: 'logins', operation: 'read' }), 2)
  assert.equal(sampleValue(m, 'bulwark_session_operations_total', { store: 'logins', operation: 'destroyed' }), 1)
  assert.doesNotMatch(bulwark.metrics.text(), /sid-1|p1/, 'no keys or session ids in labels')
  cache.close()
  assert.equal(sampleValue(scrape(), 'bulwark_cache_requests_total', { cache: 'products' }), undefined, 'a closed cache leaves the report')
  await r.quit()
})

test('prom-client: register() adds the same samples, twice is a no-op, no default metrics', async () => {
  const r = client(`memory://prom-${process.pid}`, { connectionName: 'prom-client' })
  await r.set('a', '1')
  const registry = new promClient.Registry()
  bulwark.metrics.register(registry)
  bulwark.metrics.register(registry)
  const promText = await registry.metrics()
  const families = parsePrometheusText(promText)
  assert.equal(sampleValue(families, 'bulwark_redis_commands_total', { client: 'prom-client', command: 'set', backend: 'memory' }), 1)
  assert.ok(![...families.keys()].some((name) => name.startsWith('process_') || name.startsWith('nodejs_')), 'no default metrics')
  const ours = parsePrometheusText(bulwark.metrics.text())
  assert.deepEqual([...families.keys()].sort(), [...ours.keys()].sort())
  assert.equal(registry.contentType, bulwark.metrics.contentType)
  assert.throws(() => bulwark.metrics.register({}), /prom-client Registry/)
  assert.throws(() => bulwark.metrics.text({ prefix: 'bad prefix' }), /prefix/)
  await r.quit()
})

test('a real Redis: commands on redis, then memory through kill -9, failover, replay and recovery counted', { skip: !redisServerAvailable() && 'redis-server is not installed' }, async () => {
  const s = await startRedis()
  servers.push(s)
  const r = client(s.url, { connectionName: 'real', fallbackTimeout: 200, retryStrategy: () => 50 })
  await r.connect().catch(() => {})
  await waitFor(() => r.status === 'ready', 'ready')
  for (let i = 0; i < 20; i++) await r.set(`r${i}`, 'v')
  await Promise.all(Array.from({ length: 20 }, (_, i) => r.get(`r${i}`)))
  let m = scrape()
  const on = (command, backend) => ({ client: 'real', command, backend })
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', on('set', 'redis')), 20)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', on('get', 'redis')), 20)
  const timed = sampleValue(m, 'bulwark_redis_command_duration_seconds_count', on('set', 'redis')) + sampleValue(m, 'bulwark_redis_command_duration_seconds_count', on('get', 'redis'))
  assert.equal(timed, 2, `one in 32 of 40 commands (the 1st and 33rd) timed, got ${timed}`)
  assert.equal(sampleValue(m, 'bulwark_backend_state', { client: 'real', state: 'redis' }), 1)
  assert.equal(sampleValue(m, 'bulwark_backend_failovers_total', { client: 'real' }), 0)

  await s.kill()
  await waitFor(() => r.backend === 'memory', 'the fallback')
  for (let i = 0; i < 3; i++) await r.set(`outage${i}`, 'v')
  for (let i = 0; i < 7; i++) await r.get('outage0')
  m = scrape()
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', on('set', 'memory')), 3)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', on('get', 'memory')), 7)
  assert.equal(sampleValue(m, 'bulwark_backend_state', { client: 'real', state: 'memory' }), 1)
  assert.equal(sampleValue(m, 'bulwark_backend_failovers_total', { client: 'real' }), 1)
  assert.ok(sampleValue(m, 'bulwark_backend_memory_seconds_total', { client: 'real' }) >= 0)

  await s.restart()
  await waitFor(() => r.backend === 'redis', 'the recovery')
  await r.get('outage0')
  m = scrape()
  assert.equal(sampleValue(m, 'bulwark_backend_recoveries_total', { client: 'real' }), 1)
  assert.equal(sampleValue(m, 'bulwark_replay_keys_total', { client: 'real', outcome: 'replayed' }), 3)
  assert.equal(sampleValue(m, 'bulwark_backend_state', { client: 'real', state: 'redis' }), 1)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', on('get', 'redis')), 21)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_pending', { client: 'real' }), 0)
  await r.quit()
})
