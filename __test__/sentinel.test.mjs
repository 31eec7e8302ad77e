// Sentinel mode against a REAL deployment (primary + replica + 3 sentinels): discovery,
// role 'slave', and failovers (SENTINEL FAILOVER, kill -9 of the primary) under load
// with zero failed calls, ending on the new primary.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startSentinels } from './helpers/redis-sentinel.mjs'
import { rawCommand, freePort } from './helpers/redis-server.mjs'
import { until } from './helpers/redis-cluster.mjs'

const require = createRequire(import.meta.url)
const Redis = require('../lib/ioredis.js')

let deployment
const clients = []
before(async () => {
  deployment = await startSentinels()
})
after(async () => {
  for (const c of clients) c.disconnect()
  await deployment?.stop()
})

function client(options) {
  const c = new Redis({ sentinels: deployment.addresses, name: deployment.name, ...options })
  c.on('error', () => {})
  clients.push(c)
  return c
}

/** Runs `concurrency` loops of INCR on distinct keys until stopped; counts acks and failures. */
function load(c, concurrency, prefix) {
  const stats = { acked: new Map(), failed: [], running: true }
  const loops = Array.from({ length: concurrency }, async (_, worker) => {
    const key = `${prefix}:${worker}`
    while (stats.running) {
      try {
        stats.acked.set(key, await c.incr(key))
      } catch (err) {
        stats.failed.push(err)
      }
    }
  })
  stats.stop = async () => {
    stats.running = false
    await Promise.all(loops)
  }
  return stats
}

test('discovers the primary through the sentinels and writes there', async () => {
  const c = client()
  await c.set('sentinel:discovery', 'yes')
  const primary = deployment.master()
  assert.equal(await rawCommand(primary.port, 'GET sentinel:discovery'), '$3\r\nyes')
  assert.equal(c.backend, 'redis')
})

test("role 'slave' connects to the replica (reads work, writes are refused)", async () => {
  const writer = client()
  await writer.set('sentinel:replicated', 'v')
  const reader = client({ role: 'slave' })
  await until(async () => (await reader.get('sentinel:replicated')) === 'v', 'the replica to have the key')
  await assert.rejects(reader.set('sentinel:x', '1'), /READONLY/)
})

test('bad sentinel options are refused with a TypeError naming the option', () => {
  assert.throws(() => new Redis({ sentinels: [], name: 'm' }), /"sentinels"/)
  assert.throws(() => new Redis({ sentinels: [{ port: 1 }] }), /"name"/)
  assert.throws(() => new Redis({ sentinels: [{ port: 1 }], name: 'm', role: 'primary' }), /"role"/)
  assert.throws(() => new Redis({ sentinels: [{ port: 1 }], name: 'm', natMap: () => null }), /"natMap"/)
})

for (const how of ['SENTINEL FAILOVER', 'kill -9 of the primary']) {
  test(`${how} under load: zero failed calls, then writes land on the new primary`, async () => {
    const c = client()
    await c.ping()
    const stats = load(c, 16, `sentinel:${how.length}`)
    await until(() => stats.acked.size === 16, 'load to start')
    const before = deployment.master()
    if (how === 'SENTINEL FAILOVER') await deployment.failover()
    else await deployment.killMaster()
    const after = deployment.master()
    assert.notEqual(after.port, before.port)
    // Keep the load going until the client is back on Redis, on the new primary.
    await until(async () => c.backend === 'redis' && (await c.set('sentinel:where', after.port)) === 'OK' &&
      (await rawCommand(after.port, 'GET sentinel:where')).endsWith(String(after.port)), 'the client to write to the new primary', 30_000)
    await stats.stop()
    assert.deepEqual(stats.failed.map(String), [])
    // Every key the load wrote is on the new primary (written there, or replayed from memory).
    for (const key of stats.acked.keys()) {
      assert.match(await rawCommand(after.port, `EXISTS ${key}`), /^:1$/)
    }
    if (how === 'kill -9 of the primary') await deployment.restartAsReplica(before)
  })
}

test('sentinelRetryStrategy decides when no sentinel answers (retryStrategy is for the node)', async () => {
  const dead = await freePort()
  const calls = []
  const nodeCalls = []
  const c = new Redis({
    sentinels: [{ host: '127.0.0.1', port: dead }],
    name: deployment.name,
    fallback: false,
    retryStrategy: (times) => nodeCalls.push(times) && 10,
    sentinelRetryStrategy: (times) => (calls.push(times), times < 3 ? 10 : null),
  })
  const errors = []
  c.on('error', (err) => errors.push(err.message))
  await new Promise((resolve) => c.once('end', resolve))
  assert.deepEqual(calls, [1, 2, 3])
  assert.deepEqual(nodeCalls, [])
  assert.ok(errors.length >= 3 && errors.every((m) => m.startsWith('All sentinels are unreachable')))
  await assert.rejects(c.get('k'), { message: 'Connection is closed.' })
})

test('a write refused with READONLY (the primary was demoted) reconnects to the primary the sentinels name and is resent', { timeout: 20_000 }, async () => {
  const c = client({ failoverDetector: false, fallback: false })
  assert.equal(await c.set('ro:k', '1'), 'OK')
  const oldPort = deployment.masterPort()
  const other = deployment.servers.find((s) => s.port !== oldPort)
  // Swap the roles by hand and re-point every sentinel at once (no +switch-master).
  await rawCommand(other.port, 'REPLICAOF NO ONE')
  await rawCommand(oldPort, `REPLICAOF 127.0.0.1 ${other.port}`)
  assert.match(await rawCommand(oldPort, 'SET probe 1'), /^-READONLY/)
  for (const s of deployment.sentinels) {
    await rawCommand(s.port, `SENTINEL REMOVE ${deployment.name}`)
    await rawCommand(s.port, `SENTINEL MONITOR ${deployment.name} 127.0.0.1 ${other.port} 2`)
  }
  assert.equal(await c.set('ro:k', '2'), 'OK')
  assert.equal(await rawCommand(other.port, 'GET ro:k'), '$1\r\n2')
})

test('the sentinel list grows from SENTINEL sentinels: with its only configured sentinel dead, the client finds the primary through the others', { timeout: 20_000 }, async () => {
  const only = deployment.sentinels[2]
  // The sentinels find each other again after the test above re-pointed them (hello messages every 2 s).
  await until(async () => (await rawCommand(only.port, `SENTINEL SENTINELS ${deployment.name}`)).startsWith('*2'), 'the sentinels to know their peers')
  const c = client({ sentinels: [{ host: '127.0.0.1', port: only.port }], fallback: false })
  assert.equal(await c.set('learned:k', '1'), 'OK')
  await only.kill()
  c.disconnect(true)
  assert.equal(await c.set('learned:k', '2'), 'OK')
  assert.equal(c.status, 'ready')
  assert.equal(await rawCommand(deployment.masterPort(), 'GET learned:k'), '$1\r\n2')
})

test('sentinelCommandTimeout bounds each request to a sentinel: a paused one is passed over for the next', { timeout: 20_000 }, async () => {
  assert.throws(() => new Redis({ sentinels: [{ port: 1 }], name: 'm', sentinelCommandTimeout: 0 }), /"sentinelCommandTimeout"/)
  assert.throws(() => new Redis({ sentinels: [{ port: 1 }], name: 'm', sentinelCommandTimeout: '300' }), /"sentinelCommandTimeout"/)
  // Last in the file: a sentinel paused for over 2 s enters TILT mode for 30 s, and
  // sentinels[0], which answers masterPort(), stays live.
  const [live, paused] = deployment.sentinels
  paused.pause()
  try {
    // Alone, the paused sentinel fails each attempt with the option's deadline in the error.
    const alone = new Redis({
      sentinels: [{ host: '127.0.0.1', port: paused.port }],
      name: deployment.name,
      sentinelCommandTimeout: 300,
      connectTimeout: 60_000,
      fallback: false,
      retryStrategy: () => null,
    })
    const failed = new Promise((resolve) => alone.once('error', resolve))
    alone.on('error', () => {})
    const err = await failed
    alone.disconnect()
    assert.match(err.message, new RegExp(`sentinel 127\\.0\\.0\\.1:${paused.port} did not answer within 300 ms`))
    // First in the list, it does not keep the client from the primary the next one names.
    const c = client({ sentinels: [{ host: '127.0.0.1', port: paused.port }, { host: '127.0.0.1', port: live.port }], sentinelCommandTimeout: 300, connectTimeout: 60_000, fallback: false })
    assert.equal(await c.set('sentinel:timeout', '1'), 'OK')
    assert.equal(await rawCommand(deployment.masterPort(), 'GET sentinel:timeout'), '$1\r\n1')
  } finally {
    paused.resume()
  }
})
