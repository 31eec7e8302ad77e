// Redis.Cluster against a REAL 3-primary + 3-replica cluster (redis-cli --cluster
// create): routing across slots, ioredis's pipeline rules and texts, transactions,
// scripts, MOVED/ASK after resharding a slot, kill -9 of a primary under 64 loops with
// zero failed calls, scaleReads 'slave', pub/sub, scanStream over every primary, and a
// paused node that cannot hang a call past its deadline.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { startCluster, cli, until } from './helpers/redis-cluster.mjs'
import { RedisServer, rawCommand, freePort } from './helpers/redis-server.mjs'
import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.mjs'
import { runChild } from './helpers/child.mjs'

const require = createRequire(import.meta.url)
const Redis = require('../lib/ioredis.js')
const { Cluster } = Redis

let cluster
const clients = []
before(async () => {
  cluster = await startCluster()
})
after(async () => {
  for (const c of clients) c.disconnect()
  await cluster?.stop()
})

function connect(options) {
  const c = new Cluster(cluster.startupNodes, options)
  c.on('error', () => {})
  clients.push(c)
  return c
}

function nodeId(port) {
  return cli(port, 'cluster', 'myid')
}

test('exports and constructor forms follow ioredis', async () => {
  assert.equal(Redis.Cluster, Cluster)
  // No startup node: connect() rejects, and clusterRetryStrategy decides with that reason (as ioredis).
  const reasons = []
  const empty = new Cluster([], { lazyConnect: true, clusterRetryStrategy: (times, reason) => (reasons.push([times, reason.message]), times < 2 ? 0 : null) })
  const emptyEnded = new Promise((resolve) => empty.once('end', resolve))
  await assert.rejects(empty.connect(), { message: '`startupNodes` should contain at least one node.' })
  await emptyEnded
  assert.deepEqual(reasons, [1, 2].map((times) => [times, '`startupNodes` should contain at least one node.']))
  empty.disconnect()
  assert.throws(() => new Cluster([7000], { scaleReads: 'x', lazyConnect: true }), {
    message: 'Invalid option scaleReads "x". Expected "all", "master", "slave" or a custom function',
  })
  const lazy = new Cluster([cluster.ports[0], `127.0.0.1:${cluster.ports[1]}`, { port: cluster.ports[2] }], { lazyConnect: true })
  assert.equal(lazy.status, 'wait')
  assert.equal(lazy.isCluster, true)
  assert.deepEqual(lazy.startupNodes.map((n) => n.port), cluster.ports.slice(0, 3))
  assert.throws(() => lazy.nodes('primary'), { message: 'Invalid role "primary". Expected "all", "master" or "slave"' })
  lazy.disconnect()
})

test("topology events: +node for every node and refresh after each CLUSTER SLOTS read", async () => {
  const c = connect({ lazyConnect: true })
  const added = []
  let refreshes = 0
  c.on('+node', (node) => added.push(node.options.port))
  c.on('refresh', () => refreshes++)
  await c.connect()
  const ports = (list) => list.map((n) => n.options.port).sort()
  // Every node of the slot map was announced once (replicas may reach a node's CLUSTER
  // SLOTS a little after the cluster says ok, so the map is the reference).
  assert.deepEqual(added.slice().sort(), ports(c.nodes()))
  assert.deepEqual(ports(c.nodes('master')), cluster.masters().map((s) => s.port).sort())
  assert.ok(refreshes >= 1)
  const before = refreshes
  c.refreshSlotsCache()
  await until(() => refreshes > before, 'refresh after refreshSlotsCache()')
  assert.deepEqual(added.slice().sort(), ports(c.nodes()), 'one +node per node, none for an unchanged map')
})

test('clusterRetryStrategy: called with (times, reason) on the cluster; giving up ends it with ioredis\'s errors', async () => {
  const dead = await freePort()
  const calls = []
  const c = new Cluster([dead], {
    fallback: false,
    clusterRetryStrategy(times, reason) {
      calls.push([times, this, reason])
      return times < 3 ? 10 : null
    },
  })
  const reconnecting = []
  const errors = []
  const nodeErrors = []
  c.on('error', (err) => errors.push(err))
  c.on('node error', (err, address) => nodeErrors.push([address, err.message]))
  c.on('reconnecting', () => reconnecting.push(c.status))
  const ended = new Promise((resolve) => c.once('end', resolve))
  await assert.rejects(c.get('k'), { message: 'None of startup nodes is available' })
  await ended
  assert.deepEqual(calls.map(([times]) => times), [1, 2, 3])
  assert.ok(calls.every(([, self, reason]) => self === c && reason instanceof Error))
  assert.equal(reconnecting.length, 2)
  // ioredis's ClusterAllFailedError per failed cycle, the node's own error attached; each
  // node that failed to give the slot map is a `node error`.
  assert.equal(errors.length, 3)
  for (const err of errors) {
    assert.equal(err.name, 'ClusterAllFailedError')
    assert.equal(err.message, 'Failed to refresh slots cache.')
    assert.equal(err.lastNodeError.message, `connect ECONNREFUSED 127.0.0.1:${dead}`)
    assert.equal(err.lastNodeError.code, 'ECONNREFUSED')
  }
  assert.deepEqual(nodeErrors[0], [`127.0.0.1:${dead}`, `connect ECONNREFUSED 127.0.0.1:${dead}`])
  assert.equal(c.status, 'end')
  await assert.rejects(c.get('k'), { message: 'Connection is closed.' })
})

test('startupNodes assigned by clusterRetryStrategy are where the next attempt starts', { timeout: 20_000 }, async () => {
  const dead = await freePort()
  const times = []
  const c = new Cluster([dead], {
    fallback: false,
    lazyConnect: true,
    clusterRetryStrategy(n) {
      times.push(n)
      this.startupNodes = [{ port: cluster.ports[0] }]
      return 10
    },
  })
  c.on('error', () => {})
  clients.push(c)
  const ready = new Promise((resolve) => c.once('ready', resolve))
  // As ioredis's, connect() rejects with the first cycle's error; the retries go on.
  await assert.rejects(c.connect(), { message: 'Failed to refresh slots cache.' })
  await ready
  assert.deepEqual(times, [1])
  assert.deepEqual(c.startupNodes, [{ host: '127.0.0.1', port: cluster.ports[0] }])
  assert.equal(await c.set('startup:k', 'v'), 'OK')
})

test("a startup node that is no cluster: connect() rejects with ioredis's ClusterAllFailedError, the server's reply as lastNodeError", async () => {
  const plain = await new RedisServer().start()
  try {
    const c = new Cluster([plain.port], { fallback: false, lazyConnect: true, clusterRetryStrategy: () => null })
    const nodeErrors = []
    c.on('error', () => {})
    c.on('node error', (err, address) => nodeErrors.push([address, err]))
    const ended = new Promise((resolve) => c.once('end', resolve))
    const err = await c.connect().then(() => assert.fail('connect() resolved'), (e) => e)
    await ended
    assert.equal(err.message, 'Failed to refresh slots cache.')
    assert.ok(err.lastNodeError instanceof Redis.ReplyError)
    assert.equal(err.lastNodeError.message, 'ERR This instance has cluster support disabled')
    assert.equal(nodeErrors[0][0], `127.0.0.1:${plain.port}`)
    assert.equal(nodeErrors[0][1].message, 'ERR This instance has cluster support disabled')
    c.disconnect()
  } finally {
    await plain.stop()
  }
})

test('clusterRetryStrategy giving up with the memory fallback on: end, and memory keeps answering', async () => {
  const dead = await freePort()
  const c = new Cluster([dead], { clusterRetryStrategy: null })
  c.on('error', () => {})
  const ended = new Promise((resolve) => c.once('end', resolve))
  assert.equal(await c.set('k', 'v'), 'OK')
  await ended
  assert.equal(c.backend, 'memory')
  assert.equal(await c.get('k'), 'v')
  c.disconnect()
})

test('natMap as a function: asked once per announced address, its answers are where the client connects', async () => {
  const asked = []
  const c = connect({
    natMap(address) {
      asked.push(address)
      const [host, port] = address.split(':')
      return host === '127.0.0.1' ? { host: 'localhost', port: Number(port) } : null
    },
  })
  await c.set('nat:{a}', '1')
  assert.equal(await c.get('nat:{a}'), '1')
  assert.ok(c.nodes('master').length === 3 && c.nodes().every((node) => node.options.host === 'localhost'))
  // A later refresh asks only about addresses not seen yet (a replica may appear).
  c.refreshSlotsCache()
  await new Promise((resolve) => c.once('refresh', resolve))
  assert.ok(asked.length >= 3)
  assert.deepEqual([...new Set(asked)].sort(), asked.slice().sort())
})

test('dnsLookup resolves startup nodes given by name; its error is the clusterRetryStrategy reason', async () => {
  const lookups = []
  const reasons = []
  const c = new Cluster([{ host: 'cluster.invalid', port: cluster.ports[0] }], {
    dnsLookup(hostname, callback) {
      lookups.push(hostname)
      if (lookups.length === 1) callback(new Error('no such host'))
      else callback(null, '127.0.0.1')
    },
    clusterRetryStrategy(times, reason) {
      reasons.push(reason.message)
      return 0
    },
  })
  c.on('error', () => {})
  clients.push(c)
  await new Promise((resolve) => c.once('ready', resolve))
  assert.deepEqual(reasons, ['no such host'])
  assert.deepEqual(lookups, ['cluster.invalid', 'cluster.invalid'])
  assert.equal(await c.set('dns:{a}', '1'), 'OK')
  assert.throws(() => new Cluster([7000], { dnsLookup: 'x', lazyConnect: true }), { name: 'TypeError' })
})

test("command metrics count the cluster client's commands by command and backend", async () => {
  const bulwark = require('../lib/index.js')
  const c = connect({ redisOptions: { connectionName: 'cluster-metrics' } })
  for (let i = 0; i < 10; i++) await c.set(`metrics:${i}`, 'v')
  for (let i = 0; i < 4; i++) await c.get(`metrics:${i}`)
  await assert.rejects(c.incr('metrics:0'), /not an integer/)
  const m = parsePrometheusText(bulwark.metrics.text())
  const labels = (command) => ({ client: 'cluster-metrics', command, backend: 'redis' })
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', labels('set')), 10)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_total', labels('get')), 4)
  assert.equal(sampleValue(m, 'bulwark_redis_command_errors_total', labels('incr')), 1)
  assert.equal(sampleValue(m, 'bulwark_redis_commands_pending', { client: 'cluster-metrics' }), 0)
})

test('enableReadyCheck: a cluster in cluster_state:fail is not ready (one shard paused, master and replica)', async () => {
  // Not the first startup node's shard: the pub/sub test's subscriber is on that node and
  // this shard's roles may swap when it resumes.
  const master = cluster.masters().find((s) => s.port !== cluster.ports[0])
  const replica = cluster.replicaOf(master.port)
  const other = cluster.masters().find((s) => s.port !== master.port)
  master.pause()
  replica.pause()
  try {
    await until(async () => (await rawCommand(other.port, 'CLUSTER INFO', { timeoutMs: 500 })).includes('cluster_state:fail'), 'the cluster to fail')
    const reasons = []
    const c = new Cluster([other.port], {
      fallback: false,
      slotsRefreshTimeout: 300,
      clusterRetryStrategy: (times, reason) => (reasons.push(reason.message), null),
    })
    const errors = []
    c.on('error', (err) => errors.push(err))
    await assert.rejects(c.get('k'), { message: 'None of startup nodes is available' })
    assert.equal(reasons.length, 1)
    assert.match(reasons[0], /cluster_state:fail/)
    // The slot map was read: not ioredis's "Failed to refresh slots cache.".
    assert.match(errors[0].message, /^Cluster is not ready: .*cluster_state:fail/)
  } finally {
    master.resume()
    replica.resume()
  }
  await cluster.waitHealthy()
})

test('commands across slots land on the owning primaries; cross-slot multi-key commands get CROSSSLOT', async () => {
  const c = connect()
  const keys = Array.from({ length: 200 }, (_, i) => `route:${i}`)
  await Promise.all(keys.map((k) => c.set(k, k)))
  assert.deepEqual(await Promise.all(keys.map((k) => c.get(k))), keys)
  // Each key is on the primary that owns its slot (read there directly).
  for (const k of keys.slice(0, 10)) {
    const owner = cluster.masterOfSlot(cluster.slotOf(k))
    assert.equal(await rawCommand(owner.port, `GET ${k}`), `$${k.length}\r\n${k}`)
  }
  assert.deepEqual(await c.mget('{u}a', '{u}b'), [null, null])
  await assert.rejects(c.mget('route:1', 'route:2'), /^ReplyError: CROSSSLOT Keys in request don't hash to the same slot/)
  assert.equal(await c.call('GET', 'route:7'), 'route:7')
  assert.equal(c.nodes('master').length, 3)
})

test("pipelines: one slot works, ioredis's cross-slot texts otherwise; transactions on one slot", async () => {
  const c = connect()
  await c.ping()
  assert.deepEqual(await c.pipeline().set('{p}a', 1).incr('{p}a').get('{p}a').exec(), [[null, 'OK'], [null, 2], [null, '2']])
  const [a, b] = ['pa', 'pb'].map(() => null)
  assert.equal(a, b)
  // Keys of different primaries in one pipeline: rejected before anything is sent.
  const far = ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'].map((k) => [k, cluster.masterOfSlot(cluster.slotOf(k)).port])
  const other = far.find(([, port]) => port !== far[0][1])
  await assert.rejects(c.pipeline().set(far[0][0], 1).set(other[0], 2).exec(), {
    message: 'All keys in the pipeline should belong to the same slots allocation group',
  })
  await assert.rejects(c.pipeline().mget('x0', other[0]).exec(), { message: 'All the keys in a pipeline command should belong to the same slot' })
  assert.equal(await c.exists(far[0][0]), 0)
  assert.deepEqual(await c.multi().set('{t}a', 5).incr('{t}a').exec(), [[null, 'OK'], [null, 6]])
  // A long transaction spans several facade batches and still runs on one node.
  const tx = c.multi()
  for (let i = 0; i < 100; i++) tx.incr('{t}long')
  const results = await tx.exec()
  assert.deepEqual(results.at(-1), [null, 100])
  assert.throws(() => c.multi({ pipeline: false }), /not supported on a Cluster/)
})

test('scripts and defineCommand run on the node of their first key', async () => {
  const c = connect()
  c.defineCommand('getset2', { numberOfKeys: 1, lua: 'redis.call("SET", KEYS[1], ARGV[1]); return redis.call("GET", KEYS[1])' })
  for (const k of ['s1', 's2', 's3', 's4']) assert.equal(await c.getset2(k, `v-${k}`), `v-${k}`)
  assert.equal(await c.eval('return redis.call("GET", KEYS[1])', 1, 's3'), 'v-s3')
  const pipe = await c.pipeline().getset2('{sp}a', 'x').get('{sp}a').exec()
  assert.deepEqual(pipe, [[null, 'x'], [null, 'x']])
})

test('scanStream sees every key of every primary', async () => {
  const c = connect()
  const keys = Array.from({ length: 300 }, (_, i) => `scan:${i}`)
  await Promise.all(keys.map((k) => c.set(k, '1')))
  const seen = new Set()
  await new Promise((resolve, reject) => {
    c.scanStream({ match: 'scan:*', count: 50 })
      .on('data', (batch) => batch.forEach((k) => seen.add(k)))
      .on('end', resolve)
      .on('error', reject)
  })
  assert.deepEqual([...seen].sort(), keys.slice().sort())
})

test('MOVED after CLUSTER SETSLOT (a resharded slot) and ASK during its migration; a transaction follows MOVED whole', async () => {
  const c = connect()
  // Knows the slot map from before the move, and sends no command until the transaction.
  const stale = connect()
  await stale.ping()
  const key = 'reshard:{k}'
  await c.set(key, 'before')
  const slot = cluster.slotOf(key)
  const source = cluster.masterOfSlot(slot)
  const target = cluster.masters().find((s) => s.port !== source.port)
  const [sourceId, targetId] = [nodeId(source.port), nodeId(target.port)]
  cli(target.port, 'cluster', 'setslot', slot, 'importing', sourceId)
  cli(source.port, 'cluster', 'setslot', slot, 'migrating', targetId)
  // A key absent from the source while migrating: the source answers ASK.
  assert.equal(await c.set('reshard:{k}:new', 'asked'), 'OK')
  assert.match(await rawCommand(target.port, 'EXISTS reshard:{k}:new'), /^-MOVED/) // reachable only with ASKING
  cli(source.port, 'migrate', '127.0.0.1', target.port, '', 0, 5000, 'keys', key)
  for (const s of cluster.masters()) cli(s.port, 'cluster', 'setslot', slot, 'node', targetId)
  // The client still maps the slot to the source: MOVED sends it to the target.
  assert.equal(await c.get(key), 'before')
  assert.equal(await c.set(key, 'after'), 'OK')
  assert.equal(await rawCommand(target.port, `GET ${key}`), '$5\r\nafter')
  assert.equal(await rawCommand(target.port, 'GET reshard:{k}:new'), '$5\r\nasked')
  // Queued on the old owner, each command answers MOVED and EXEC EXECABORT: as ioredis,
  // the whole transaction is sent again to the new owner.
  assert.deepEqual(await stale.multi().set(key, 'tx').get(key).exec(), [[null, 'OK'], [null, 'tx']])
  assert.equal(await rawCommand(target.port, `GET ${key}`), '$2\r\ntx')
})

test('kill -9 of a primary under 64 concurrent loops: zero failed calls, the promoted replica serves', async () => {
  const c = connect()
  const nodeErrors = []
  const removed = []
  c.on('node error', (err, address) => nodeErrors.push([address, err]))
  c.on('-node', (node) => removed.push(node.options.port))
  await c.ping()
  const stats = { ok: 0, failed: [], running: true }
  const loops = Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; stats.running; i++) {
      try {
        await c.set(`load:${w}`, i)
        stats.ok++
      } catch (err) {
        stats.failed.push(String(err))
      }
    }
  })
  await until(() => stats.ok > 500, 'load to start')
  const slot = cluster.slotOf('load:0')
  const { killed, promoted } = await cluster.failSlotMaster(slot)
  const okAtPromotion = stats.ok
  await until(() => stats.ok > okAtPromotion + 2000, 'load to continue after the failover', 30_000)
  stats.running = false
  await Promise.all(loops)
  assert.deepEqual(stats.failed, [])
  assert.match(await rawCommand(promoted.port, 'EXISTS load:0'), /^:1$/)
  assert.ok(c.nodes('master').some((n) => n.options.port === promoted.port))
  // ioredis's per-node events: the dead node's errors, and it leaves the slot map once
  // the cluster marks it failed (CLUSTER SLOTS omits failed replicas).
  assert.ok(nodeErrors.some(([address, err]) => address === `127.0.0.1:${killed.port}` && err instanceof Error))
  c.refreshSlotsCache()
  await until(() => removed.includes(killed.port), '-node for the killed primary', 10_000)
  await cluster.restart(killed)
})

/** Reads of a key with a replica through `c`, until that replica answers 20 of them; its shard. */
async function readsReachReplica(c) {
  const key = ['replica:{r}', 'replica:{s}', 'replica:{t}', 'replica:{u}'].find((k) => cluster.replicaOf(cluster.masterOfSlot(cluster.slotOf(k)).port))
  await c.set(key, 'v')
  const replica = cluster.replicaOf(cluster.masterOfSlot(cluster.slotOf(key)).port)
  const offset = (text, field) => Number(new RegExp(`${field}:(\\d+)`).exec(text)?.[1] ?? -1)
  const primaryOffset = offset(await rawCommand(cluster.masterOfSlot(cluster.slotOf(key)).port, 'INFO replication'), 'master_repl_offset')
  await until(async () => offset(await rawCommand(replica.port, 'INFO replication'), 'slave_repl_offset') >= primaryOffset, 'the replica to hold the key')
  // CLUSTER SLOTS lists a replica once its replication offset is known.
  await until(async () => {
    c.refreshSlotsCache()
    await sleep(100)
    return c.nodes('slave').some((node) => node.options.port === replica.port)
  }, "the key's replica in the slot map")
  const calls = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await rawCommand(replica.port, 'INFO commandstats'))?.[1] ?? 0)
  const before = await calls()
  // The replica answers once the client's connection to it is up (its primary until then).
  await until(async () => {
    for (let i = 0; i < 20; i++) assert.equal(await c.get(key), 'v')
    return (await calls()) >= before + 20
  }, 'reads answered by the replica')
  return { replica, primary: cluster.masterOfSlot(cluster.slotOf(key)) }
}

test("scaleReads 'slave' reads from replicas", async () => {
  await readsReachReplica(connect({ scaleReads: 'slave' }))
})

test('scaleReads as a function picks the node of each read among its slot\'s primary and replicas', async () => {
  const seen = []
  const c = connect({
    scaleReads(nodes, command) {
      seen.push([command.name, nodes.map((n) => n.options.port)])
      return nodes[nodes.length - 1]
    },
  })
  const { replica, primary } = await readsReachReplica(c)
  // Only reads were offered to the function (not the SET), primary first, replicas after.
  assert.ok(seen.length >= 20)
  assert.ok(seen.every(([name]) => name === 'get'))
  const [, ports] = seen[seen.length - 1]
  assert.equal(ports[ports.length - 1], replica.port)
  assert.equal(ports[0], primary.port)
})

test('pub/sub: a message published through the cluster reaches a subscriber, which still takes commands', async () => {
  const sub = connect()
  const pub = connect()
  const got = new Promise((resolve) => sub.on('message', (channel, message) => resolve([channel, message])))
  await sub.subscribe('news')
  // As ioredis's Cluster: the subscribed cluster still takes ordinary commands.
  assert.equal(await sub.set('pubsub:key', 'v'), 'OK')
  assert.equal(await sub.get('pubsub:key'), 'v')
  await until(async () => (await pub.publish('news', 'hello')) >= 1, 'the subscription to be visible')
  assert.deepEqual(await got, ['news', 'hello'])
})

test("ssubscribe reaches each channel's slot owner and follows the slot when it moves", async () => {
  const sub = connect()
  const pub = connect()
  const channels = []
  const owners = new Set()
  for (let i = 0; channels.length < 3; i++) {
    const channel = `shard:${i}`
    const owner = cluster.masterOfSlot(cluster.slotOf(channel)).port
    // Slots without keys only: the slot of channels[0] is moved below.
    if (!owners.has(owner) && cli(owner, 'cluster', 'countkeysinslot', cluster.slotOf(channel)) === '0') {
      owners.add(owner)
      channels.push(channel)
    }
  }
  const got = []
  sub.on('smessage', (channel, message) => got.push(`${channel}=${message}`))
  // ioredis's `shardedSubscribers` events: a subscriber per primary created and dropped.
  const events = []
  for (const name of ['+subscriber', '-subscriber', 'subscribersReady']) sub.on(name, () => events.push(name))
  assert.equal(await sub.ssubscribe(...channels), 3)
  assert.deepEqual(events, ['+subscriber', '+subscriber', '+subscriber'])
  for (const channel of channels) assert.equal(await pub.spublish(channel, 'hi'), 1)
  await until(() => got.length === 3, 'a message from every shard')
  assert.deepEqual(got.sort(), channels.map((c) => `${c}=hi`).sort())
  // The slot of channels[0] moves to another primary: the subscription follows it.
  const slot = cluster.slotOf(channels[0])
  const source = cluster.masterOfSlot(slot)
  const target = cluster.masters().find((s) => s.port !== source.port)
  const targetId = nodeId(target.port)
  for (const s of cluster.masters()) cli(s.port, 'cluster', 'setslot', slot, 'node', targetId)
  sub.refreshSlotsCache()
  await until(async () => (await pub.spublish(channels[0], 'moved')) === 1, 'the subscription to follow the slot')
  await until(() => got.includes(`${channels[0]}=moved`), 'the message after the move')
  // The target primary already had a subscriber (channels[1] or [2]); the source's only
  // channel left it, so the source's subscriber was dropped.
  await until(() => events.includes('subscribersReady'), 'subscribersReady after the move')
  assert.deepEqual(events.slice(3).sort(), ['-subscriber', 'subscribersReady'])
  assert.equal(await sub.sunsubscribe(), 0)
  assert.equal(await pub.spublish(channels[1], 'gone'), 0)
  assert.equal(events.filter((e) => e === '-subscriber').length, 3)
})

test('a paused (SIGSTOP) primary cannot hang a call past commandTimeout', async () => {
  const c = connect({ redisOptions: { commandTimeout: 500 } })
  await c.set('pause:{z}', 1)
  const owner = cluster.masterOfSlot(cluster.slotOf('pause:{z}'))
  owner.pause()
  try {
    await assert.rejects(c.get('pause:{z}'), /timed out/)
  } finally {
    owner.resume()
  }
  await until(async () => (await c.get('pause:{z}')) === '1', 'the node to answer again')
})

test('whole cluster killed: memory answers, then the outage writes are replayed on the cluster', async () => {
  const c = connect({ fallbackTimeout: 250 })
  const events = []
  c.on('fallback', () => events.push('fallback'))
  c.on('recover', () => events.push('recover'))
  await c.set('outage:before', 'redis')
  const servers = cluster.servers.slice()
  await Promise.all(servers.map((s) => s.kill()))
  // Every call is answered (from memory), none fails.
  assert.equal(await c.set('outage:{o}a', 'memory'), 'OK')
  assert.equal(await c.incr('outage:{o}n'), 1)
  assert.equal(await c.get('outage:{o}a'), 'memory')
  assert.equal(c.backend, 'memory')
  for (const s of servers) await s.start()
  await cluster.waitHealthy(30_000)
  await until(() => c.backend === 'redis', 'the client to recover', 30_000)
  assert.deepEqual(events, ['fallback', 'recover'])
  const owner = cluster.masterOfSlot(cluster.slotOf('outage:{o}a'))
  assert.equal(await rawCommand(owner.port, 'GET outage:{o}a'), '$6\r\nmemory')
  assert.equal(await c.incr('outage:{o}n'), 2)
  const health = await c.health()
  assert.equal(health.counters.fallbacks, 1)
  assert.equal(health.counters.recoveries, 1)
})

test('whole cluster lost once ready, fallback off: clusterRetryStrategy decides each attempt, then ready again', async () => {
  const calls = []
  const events = []
  const c = connect({
    fallback: false,
    clusterRetryStrategy(times, reason) {
      calls.push([times, this, reason])
      return 100
    },
  })
  await c.set('lost:{l}', 'before')
  for (const name of ['close', 'reconnecting', 'ready', 'end']) c.on(name, () => events.push(name))
  const servers = cluster.servers.slice()
  await Promise.all(servers.map((s) => s.kill()))
  // Noticed at the next command (its node's connection fails, the slot map cannot be read).
  c.get('lost:{l}').catch(() => {})
  await until(() => calls.length >= 2, 'the strategy to be asked at each failed attempt', 20_000)
  assert.notEqual(c.status, 'ready')
  for (const s of servers) await s.start()
  await cluster.waitHealthy(30_000)
  await until(() => c.status === 'ready', 'the cluster client to be ready again', 30_000)
  assert.equal(await c.set('lost:{l}', 'after'), 'OK')
  assert.equal(await c.get('lost:{l}'), 'after')
  assert.deepEqual(calls.map(([times]) => times), calls.map((_, i) => i + 1))
  assert.ok(calls.every(([, self, reason]) => self === c && reason instanceof Error))
  assert.equal(events[0], 'close')
  assert.ok(events.includes('reconnecting'))
  assert.equal(events[events.length - 1], 'ready')
  assert.ok(!events.includes('end'))
})

test('whole cluster lost once ready, fallback off: clusterRetryStrategy giving up ends the client', async () => {
  const c = connect({ fallback: false, clusterRetryStrategy: (times) => (times < 2 ? 50 : null) })
  await c.set('lost:{g}', '1')
  const ended = new Promise((resolve) => c.once('end', resolve))
  const servers = cluster.servers.slice()
  await Promise.all(servers.map((s) => s.kill()))
  // Failed when the strategy gives up (or, re-sent just after, as the ended client's).
  await assert.rejects(c.get('lost:{g}'), /None of startup nodes is available|Connection is closed/)
  await ended
  assert.equal(c.status, 'end')
  await assert.rejects(c.get('lost:{g}'), { message: 'Connection is closed.' })
  for (const s of servers) await s.start()
  await cluster.waitHealthy(30_000)
})

test('nothing keeps the process alive after quit() or disconnect() of a cluster client that carried traffic (child process exits)', async () => {
  // The native side let go of its callback into JS only when JS collected the native
  // link object: after this much traffic that took 16 s or never came. The child keeps
  // the link object referenced, so the exit cannot depend on when the GC runs.
  for (const close of ['await c.quit()', 'c.disconnect()']) {
    const code = `
      const { Cluster } = require(${JSON.stringify(require.resolve('../lib/ioredis.js'))})
      const c = new Cluster(${JSON.stringify(cluster.startupNodes)})
      c.on('error', () => {})
      globalThis.link = c._link
      ;(async () => {
        let n = 0
        await Promise.all(Array.from({ length: 16 }, async () => { for (let i = 0; i < 100; i++) await c.set('exit:' + (n++ % 100), i) }))
        ${close}
        console.log('closed', n)
      })()
    `
    const { exitCode, signal, out } = await runChild(code)
    assert.equal(signal, null, `process did not exit on its own after ${close}`)
    assert.equal(exitCode, 0)
    assert.match(out, /closed 1600/)
  }
})

test('commands sent just before quit() or disconnect() are answered first, across every primary', async () => {
  for (const close of ['quit', 'disconnect']) {
    const c = connect()
    await c.set(`order:${close}:warm`, 1)
    // No await between them: the commands, then the close, leave in one event-loop turn.
    const sets = Array.from({ length: 600 }, (_, i) => c.set(`order:${close}:${i}`, i))
    const closed = close === 'quit' ? c.quit() : c.disconnect()
    assert.deepEqual(await Promise.all(sets), Array(600).fill('OK'))
    if (close === 'quit') assert.equal(await closed, 'OK')
    await until(() => c.status === 'end', 'end')
  }
  const check = connect()
  assert.equal(await check.get('order:quit:599'), '599')
  assert.equal(await check.get('order:disconnect:599'), '599')
})

test('quit() ends the cluster client; later calls fail with Connection is closed.', async () => {
  const c = connect()
  await c.set('quit:1', 1)
  assert.equal(await c.quit(), 'OK')
  await until(() => c.status === 'end', 'end')
  await assert.rejects(c.get('quit:1'), /Connection is closed/)
})
