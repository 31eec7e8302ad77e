// The store and RateLimiter over a bulwark Cluster client (a REAL 3-primary + 3-replica
// cluster): decisions of one event-loop turn are coalesced per hash slot (a script's keys
// must share one), each slot's run on the node that owns it; the counts are those of one
// decision at a time.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startCluster } from './helpers/redis-cluster.mjs'

const require = createRequire(import.meta.url)
const { RateLimitStore, RateLimiter } = require('bulwark')
const { Cluster } = require('../lib/ioredis.js')

let cluster
let client
before(async () => {
  cluster = await startCluster()
  client = new Cluster(cluster.startupNodes)
  client.on('error', () => {})
})
after(async () => {
  client?.disconnect()
  await cluster?.stop()
})

/** EVALSHA calls served so far by all nodes. */
async function evalshaCalls() {
  let calls = 0
  for (const node of client.nodes('master')) {
    const m = /cmdstat_evalsha:calls=(\d+)/.exec(await node.info('commandstats'))
    if (m) calls += Number(m[1])
  }
  return calls
}

test('RateLimiter on a cluster: one script run per slot and turn, exact counts per key', async () => {
  const limiter = new RateLimiter({ client, limit: 3, windowMs: 60_000, prefix: 'rlc:' })
  // Two slots by hash tag (10 keys each), and 10 keys of their own slots; each key asked 5 times.
  const keys = [
    ...Array.from({ length: 10 }, (_, i) => `{a}${i}`),
    ...Array.from({ length: 10 }, (_, i) => `{b}${i}`),
    ...Array.from({ length: 10 }, (_, i) => `own-${i}`),
  ]
  const asks = []
  for (let round = 0; round < 5; round++) for (const k of keys) asks.push(k)
  const before = await evalshaCalls()
  const results = await Promise.all(asks.map((k) => limiter.consume(k)))
  const calls = (await evalshaCalls()) - before
  for (const k of keys) {
    const mine = results.filter((_, i) => asks[i] === k)
    assert.deepEqual(mine.map((r) => r.allowed), [true, true, true, false, false], k)
    assert.deepEqual(mine.map((r) => r.remaining), [2, 1, 0, 0, 0], k)
    assert.equal(await client.hget(`rlc:${k}`, 'c'), '3', k)
  }
  // One turn: one run for each tagged slot, and one per key of its own slot (its 5 asks
  // share its slot), less than the 150 decisions.
  assert.ok(calls <= 2 + 10 + 2, `${calls} EVALSHA calls for 150 decisions`)
})

test('RedisStore on a cluster: increments coalesced per slot count like rate-limit-redis', async () => {
  const store = new RateLimitStore({ client, prefix: 'rsc:' })
  store.init({ windowMs: 60_000, limit: 100 })
  const keys = ['{t}x', '{t}y', '{t}z', 'solo-1', 'solo-2']
  const asks = []
  for (let round = 0; round < 4; round++) for (const k of keys) asks.push(k)
  const before = await evalshaCalls()
  const results = await Promise.all(asks.map((k) => store.increment(k)))
  const calls = (await evalshaCalls()) - before
  for (const k of keys) {
    assert.deepEqual(results.filter((_, i) => asks[i] === k).map((r) => r.totalHits), [1, 2, 3, 4], k)
    assert.equal(await client.get(`rsc:${k}`), '4', k)
    const pttl = await client.pttl(`rsc:${k}`)
    assert.ok(pttl > 0 && pttl <= 60_000, `${k} ${pttl}`)
  }
  assert.ok(calls <= 3 + 2, `${calls} EVALSHA calls for 20 increments`)
})
