// Cache in one process on a REAL redis-server: single-flight, tiers, tags, grace, soft and
// hard timeouts, early refresh, L1 bounds, clear() scope, resync after missed messages, bad input.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Cache, Redis } = require('../lib/index.js')
const { L1Store, Entry } = require('../lib/cache/l1-store.js')

let server
const clients = []
const caches = []
before(async () => {
  server = await startRedis()
})
after(async () => {
  for (const c of caches) c.close()
  for (const c of clients) c.disconnect()
  await server.stop()
})

// A loaded machine can hold a reply past the default 250 ms and trigger a (correct but
// unwanted here) fallback to memory; these tests are about the cache, not outages.
function client(options) {
  const c = new Redis(server.url, { fallbackTimeout: 2000, ...options })
  c.on('error', () => {})
  clients.push(c)
  return c
}

let prefixes = 0
function cache(options = {}) {
  const c = new Cache({ client: client(), prefix: `t${++prefixes}:`, ...options })
  caches.push(c)
  return c
}

async function waitFor(condition, what, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const never = () => new Promise(() => {})

test('1,000 concurrent wraps of one missing key run the factory once; all get its value', async () => {
  const c = cache()
  let runs = 0
  const factory = async () => {
    runs++
    await sleep(50)
    return { n: 1 }
  }
  const values = await Promise.all(Array.from({ length: 1000 }, () => c.wrap('k', factory)))
  assert.equal(runs, 1)
  assert.equal(values.length, 1000)
  for (const v of values) assert.deepEqual(v, { n: 1 })
  const s = c.stats()
  assert.equal(s.factoryRuns, 1)
  assert.equal(s.coalesced, 999)
  assert.equal(s.misses, 1)
  assert.equal(s.inFlight, 0)
  // Now an L1 hit: the same object, no factory.
  assert.equal(await c.wrap('k', factory), values[0])
  assert.equal(runs, 1)
})

test('a failing factory rejects every concurrent caller with its error, once, and nothing is cached', async () => {
  const c = cache()
  let runs = 0
  const boom = new Error('db down')
  const failing = async () => {
    runs++
    await sleep(20)
    throw boom
  }
  const results = await Promise.allSettled(Array.from({ length: 100 }, () => c.wrap('f', failing)))
  assert.equal(runs, 1)
  for (const r of results) assert.equal(r.reason, boom)
  assert.equal(await c.wrap('f', () => 'ok'), 'ok')
  assert.equal(c.stats().factoryErrors, 1)
})

test('L2: another instance reads what one wrote; remaining TTL is kept; values expire', async () => {
  const a = cache({ ttl: 1500 })
  const b = new Cache({ client: client(), prefix: a.prefix })
  caches.push(b)
  await a.set('user', { id: 1, tags: ['x'], when: null })
  assert.deepEqual(await b.get('user'), { id: 1, tags: ['x'], when: null })
  assert.equal(b.stats().l2Hits, 1)
  assert.equal(await b.get('user').then(() => b.stats().l1Hits), 1, 'backfilled into b\'s L1')
  assert.equal(await b.has('user'), true)
  assert.equal(await b.has('nope'), false)
  await waitFor(async () => (await b.get('user')) === undefined, 'the value to expire in both tiers')
  assert.equal(await a.get('user'), undefined)
  // A ttl given positionally (cache-manager's wrap(key, fn, ttl)).
  assert.equal(await a.wrap('p', () => 5, 60_000), 5)
  const pttl = await client().pttl(`${a.prefix}k:p`)
  assert.ok(pttl > 50_000 && pttl <= 60_000, `pttl ${pttl}`)
})

test('del removes a key from both tiers; events and counters', async () => {
  const c = cache()
  const seen = []
  c.on('hit', (key, tier) => seen.push(`hit:${key}:${tier}`))
  c.on('miss', (key) => seen.push(`miss:${key}`))
  await c.wrap('e', () => 1)
  await c.wrap('e', () => 2)
  await c.del('e')
  assert.equal(await c.get('e'), undefined)
  assert.equal(await client().exists(`${c.prefix}k:e`), 0)
  assert.deepEqual(seen, ['miss:e', 'hit:e:l1', 'miss:e'])
  const s = c.stats()
  assert.equal(s.hits, 1)
  assert.equal(s.deletes, 1)
})

test('tags: deleteByTag drops exactly the tagged keys in Redis and in every L1', async () => {
  const a = cache({ ttl: '1h' })
  const b = new Cache({ client: client(), prefix: a.prefix, ttl: '1h' })
  caches.push(b)
  await b.ready()
  await a.set('p1', 'one', { tags: ['product:1', 'products'] })
  await a.wrap('p2', () => 'two', { tags: ['products'] })
  await a.set('u1', 'user')
  for (const k of ['p1', 'p2', 'u1']) assert.notEqual(await b.get(k), undefined)
  await a.deleteByTag('products')
  assert.equal(await a.get('p1'), undefined)
  assert.equal(await a.get('p2'), undefined)
  assert.equal(await a.get('u1'), 'user')
  await waitFor(async () => (await b.get('p1')) === undefined && (await b.get('p2')) === undefined, 'b to drop the tagged keys')
  assert.equal(await b.get('u1'), 'user')
  assert.equal(await client().exists(`${a.prefix}t:products`), 0, 'the tag set is gone')
  await a.deleteByTag('never-used') // a tag nobody used is fine
})

test('grace: a failing refresh serves the last value (stale event), then backs off', async () => {
  const c = cache({ ttl: 50, grace: '1h', graceBackoff: '1h' })
  const stale = []
  c.on('stale', (key, err) => stale.push([key, err?.message]))
  assert.equal(await c.wrap('g', () => 'v1'), 'v1')
  await sleep(80)
  let runs = 0
  const failing = async () => {
    runs++
    throw new Error('source down')
  }
  assert.equal(await c.wrap('g', failing), 'v1')
  assert.deepEqual(stale, [['g', 'source down']])
  assert.equal(c.stats().stale, 1)
  // Within the backoff the stale value answers without running the factory again.
  assert.equal(await c.wrap('g', failing), 'v1')
  assert.equal(runs, 1)
  assert.equal(c.stats().stale, 2)
  // Another instance (no L1 copy) finds the graced value in Redis.
  const other = new Cache({ client: client(), prefix: c.prefix, grace: '1h' })
  caches.push(other)
  assert.equal(await other.wrap('g', failing), 'v1')
  assert.equal(runs, 2)
  // Without grace the error reaches the caller.
  const strict = cache({ ttl: 50 })
  await strict.wrap('g', () => 'v1')
  await sleep(80)
  await assert.rejects(strict.wrap('g', failing), /source down/)
})

test('soft timeout: the stale value answers while the refresh finishes in the background', async () => {
  const c = cache({ ttl: 50, grace: '1h', timeouts: { soft: 20 } })
  await c.wrap('s', () => 'old')
  await sleep(80)
  let release
  const slow = () => new Promise((resolve) => (release = () => resolve('new')))
  const stale = []
  c.on('stale', (key, err) => stale.push(err.code))
  assert.equal(await c.wrap('s', slow), 'old')
  assert.deepEqual(stale, ['ERR_BULWARK_CACHE_SOFT_TIMEOUT'])
  // Callers meanwhile join the same refresh (no second factory) and get the stale value.
  assert.equal(await c.wrap('s', () => assert.fail('a second refresh ran')), 'old')
  assert.equal(c.stats().factoryRuns, 2)
  release()
  await waitFor(async () => (await c.get('s')) === 'new', 'the background refresh to land')
  // soft: 0 is stale-while-revalidate: the stale value at once.
  await sleep(80)
  assert.equal(await c.wrap('s', () => sleep(30).then(() => 'newer'), { timeouts: { soft: 0 } }), 'new')
  await waitFor(async () => (await c.get('s')) === 'newer', 'the SWR refresh to land')
})

test('hard timeout: a factory that never settles rejects with ERR_BULWARK_CACHE_TIMEOUT; nothing stays stuck', async () => {
  const c = cache({ timeouts: { hard: 100 } })
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.wrap('h', never)))
  for (const r of results) {
    assert.equal(r.status, 'rejected')
    assert.equal(r.reason.code, 'ERR_BULWARK_CACHE_TIMEOUT')
    assert.match(r.reason.message, /"h".*100 ms/)
  }
  assert.equal(c.stats().inFlight, 0)
  assert.equal(c.stats().timeouts, 1)
  assert.equal(await c.wrap('h', () => 'fine'), 'fine', 'a new fill after the timeout')
  // With a stale value the hard timeout serves it.
  const g = cache({ ttl: 50, grace: '1h', timeouts: { hard: 100 } })
  await g.wrap('h', () => 'kept')
  await sleep(80)
  assert.equal(await g.wrap('h', never), 'kept')
  // Per-call override, and hard: null disables it (not awaited: it would never settle).
  await assert.rejects(c.wrap('h2', never, { timeouts: { hard: 30 } }), { code: 'ERR_BULWARK_CACHE_TIMEOUT' })
})

test('early refresh (XFetch): hot keys are refreshed before they expire, hits never wait', async () => {
  const c = cache({ ttl: 400, earlyRefresh: 1000 })
  let runs = 0
  const factory = async () => {
    runs++
    await sleep(20)
    return runs
  }
  assert.equal(await c.wrap('x', factory), 1)
  await waitFor(async () => {
    await c.wrap('x', factory)
    return runs >= 2
  }, 'an early refresh')
  assert.equal(c.stats().misses, 1, 'no miss: the refresh happened before expiry')
  await waitFor(async () => (await c.get('x')) >= 2, 'the refreshed value')
})

test('L1 stays within maxEntries and maxBytes under 1,000,000 keys (SIEVE keeps the hot key)', () => {
  const l1 = new L1Store(1000, 256 * 1024)
  const far = Date.now() + 3_600_000
  let peakEntries = 0
  let peakBytes = 0
  for (let i = 0; i < 1_000_000; i++) {
    l1.set(`key:${i}`, new Entry(i, 40, far, far, 0, null))
    if (i % 100 === 0) {
      const hot = l1.peek('key:0', Date.now())
      assert.ok(hot !== undefined, `hot key evicted at ${i}`)
      hot.visited = true
    }
    if (l1.size > peakEntries) peakEntries = l1.size
    if (l1.bytes > peakBytes) peakBytes = l1.bytes
  }
  assert.ok(peakEntries <= 1000, `peak ${peakEntries} entries`)
  assert.ok(peakBytes <= 256 * 1024, `peak ${peakBytes} bytes`)
  assert.equal(l1.evictions, 1_000_000 - l1.size)
  // By bytes: large values evict more; one larger than the budget is not kept at all.
  const small = new L1Store(1_000_000, 10_000)
  for (let i = 0; i < 10_000; i++) small.set(`k${i}`, new Entry('x', 900, far, far, 0, null))
  assert.ok(small.bytes <= 10_000 && small.size <= 10)
  small.set('huge', new Entry('x', 20_000, far, far, 0, null))
  assert.equal(small.peek('huge', Date.now()), undefined)
})

test('L1 bounds through the Cache: 20,000 keys into maxEntries 500 / maxBytes 64kb', async () => {
  const c = cache({ l1: { maxEntries: 500, maxBytes: '64kb' } })
  for (let i = 0; i < 20_000; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => c.set(`k${i + j}`, { i: i + j, pad: 'x'.repeat(100) })))
    const { l1 } = c.stats()
    assert.ok(l1.entries <= 500 && l1.bytes <= 64 * 1024, JSON.stringify(l1))
  }
  assert.ok(c.stats().l1.evictions > 0)
  assert.equal(await client({ fallback: false }).exists(`${c.prefix}k:k0`), 1, 'evicted from L1, still in Redis')
})

test('clear() deletes only its own prefix (SCAN + UNLINK in batches), glob characters included', async () => {
  const redis = client()
  const c = new Cache({ client: client(), prefix: 'p*[x]:' })
  caches.push(c)
  const neighbour = new Cache({ client: client(), prefix: 'pX:' })
  caches.push(neighbour)
  await Promise.all(Array.from({ length: 2500 }, (_, i) => c.set(`k${i}`, i, { tags: i % 2 ? ['odd'] : undefined })))
  await neighbour.set('k1', 'mine')
  await redis.set('unrelated', 'u')
  await redis.set('p*[x]', 'no colon')
  await c.clear()
  assert.equal(await c.get('k1'), undefined)
  assert.deepEqual((await redis.keys('p\\*\\[x\\]:*')).length, 0)
  assert.equal(await neighbour.get('k1'), 'mine')
  assert.equal(await redis.get('unrelated'), 'u')
  assert.equal(await redis.get('p*[x]'), 'no colon')
  assert.equal(c.stats().l1.entries, 0)
})

test('a subscriber that reconnects (messages possibly missed) drops the whole L1', async () => {
  const c = cache({ ttl: '1h' })
  await c.ready()
  await c.set('a', 1)
  await c.set('b', 2)
  assert.equal(c.stats().l1.entries, 2)
  await client().client('KILL', 'TYPE', 'pubsub')
  await waitFor(() => c.stats().l1.entries === 0, 'L1 to be dropped after the bus reconnects')
  assert.equal(await c.get('a'), 1, 'L2 still has it')
  // The bus works again: a peer's write is heard.
  const peer = new Cache({ client: client(), prefix: c.prefix, ttl: '1h' })
  caches.push(peer)
  await waitFor(async () => {
    await peer.set('a', 2)
    return (await c.get('a')) === 2
  }, 'the peer\'s write to reach c through the bus')
})

test('bad input: clear TypeErrors/RangeErrors naming the argument; nothing cached, nothing stuck', async () => {
  const c = cache()
  await assert.rejects(c.wrap(42, () => 1), { name: 'TypeError', message: /key must be a string, got number/ })
  await assert.rejects(c.wrap(null, () => 1), { name: 'TypeError', message: /key must be a string, got null/ })
  await assert.rejects(c.wrap('k', 'nope'), { name: 'TypeError', message: /factory must be a function/ })
  await assert.rejects(c.get({}), { name: 'TypeError', message: /key must be a string/ })
  await assert.rejects(c.set(Symbol('s'), 1), { name: 'TypeError', message: /key must be a string/ })
  await assert.rejects(c.del(1), { name: 'TypeError' })
  await assert.rejects(c.deleteByTag(undefined), { name: 'TypeError', message: /tag must be a string/ })
  await assert.rejects(c.set('u', undefined), { name: 'TypeError', code: 'ERR_BULWARK_CACHE_VALUE', message: /undefined.*use null/ })
  await assert.rejects(c.wrap('u', () => undefined), { code: 'ERR_BULWARK_CACHE_VALUE' })
  await assert.rejects(c.set('big', 10n), { name: 'TypeError', code: 'ERR_BULWARK_CACHE_VALUE', message: /cannot be serialized.*BigInt/ })
  const circular = {}
  circular.self = circular
  await assert.rejects(c.wrap('circ', () => circular), { code: 'ERR_BULWARK_CACHE_VALUE', message: /circular/ })
  await assert.rejects(c.set('fn', () => 1), { code: 'ERR_BULWARK_CACHE_VALUE', message: /returned undefined/ })
  for (const ttl of [-1, NaN, Infinity, 0, '5 parsecs', '-5m']) {
    await assert.rejects(c.set('t', 1, { ttl }), { name: 'RangeError', message: /ttl/ }, String(ttl))
    await assert.rejects(c.wrap('t', () => 1, { ttl }), { name: 'RangeError', message: /ttl/ }, String(ttl))
  }
  await c.set('hot', 1)
  await assert.rejects(c.wrap('hot', () => 1, { ttl: -1 }), { name: 'RangeError', message: /ttl/ }, 'checked on an L1 hit too')
  await assert.rejects(c.set('t', 1, { ttl: {} }), { name: 'TypeError', message: /ttl/ })
  await assert.rejects(c.set('t', 1, { tags: 'one' }), { name: 'TypeError', message: /tags/ })
  await assert.rejects(c.set('t', 1, { tags: [1] }), { name: 'TypeError', message: /every tag/ })
  await assert.rejects(c.wrap('t', () => 1, { grace: -5 }), { name: 'RangeError', message: /grace/ })
  await assert.rejects(c.wrap('t', () => 1, { timeouts: { hard: NaN } }), { name: 'RangeError', message: /timeouts.hard/ })
  await assert.rejects(c.wrap('t', () => 1, { lock: { ttl: 0 } }), { name: 'RangeError', message: /lock.ttl/ })
  for (const k of ['u', 'big', 'circ', 'fn', 't']) assert.equal(await c.get(k), undefined)
  assert.equal(await c.get('hot'), 1)
  assert.equal(c.stats().inFlight, 0)
  // The constructor.
  assert.throws(() => new Cache(), { name: 'TypeError', message: /options/ })
  assert.throws(() => new Cache({}), { name: 'TypeError', message: /options.client/ })
  const redis = client()
  assert.throws(() => new Cache({ client: redis, ttl: -1 }), { name: 'RangeError', message: /options.ttl/ })
  assert.throws(() => new Cache({ client: redis, ttl: '1y' }), { name: 'RangeError', message: /options.ttl/ })
  assert.throws(() => new Cache({ client: redis, l1: { maxEntries: 0 } }), { name: 'RangeError', message: /maxEntries/ })
  assert.throws(() => new Cache({ client: redis, l1: { maxBytes: 'lots' } }), { name: 'RangeError', message: /maxBytes/ })
  assert.throws(() => new Cache({ client: redis, prefix: 5 }), { name: 'TypeError', message: /options.prefix/ })
  assert.throws(() => new Cache({ client: redis, serializer: {} }), { name: 'TypeError', message: /serializer/ })
  assert.throws(() => new Cache({ client: redis, earlyRefresh: -1 }), { name: 'RangeError', message: /earlyRefresh/ })
  assert.throws(() => new Cache({ client: redis, timeouts: { soft: 'soon' } }), { name: 'RangeError', message: /timeouts.soft/ })
})

test('a throwing serializer or corrupt Redis data never crashes a read: it is a miss, reported', async () => {
  const c = cache({ l1: false })
  const errors = []
  c.on('error', (err) => errors.push(err))
  await client().set(`${c.prefix}k:junk`, 'not an envelope')
  assert.equal(await c.get('junk'), undefined)
  await client().set(`${c.prefix}k:bad`, `[${Date.now() + 60_000},${Date.now() + 60_000},0,null]\n{oops`)
  assert.equal(await c.wrap('bad', () => 'recomputed'), 'recomputed')
  assert.equal(errors.length, 1)
  assert.ok(errors[0] instanceof SyntaxError)
})

test('l1: false keeps everything in Redis; durations as strings', async () => {
  const c = cache({ l1: false, ttl: '2s' })
  await c.set('a', [1, 2])
  assert.deepEqual(await c.get('a'), [1, 2])
  assert.equal(c.stats().l1, null)
  assert.equal(c.stats().l2Hits, 1)
  const pttl = await client().pttl(`${c.prefix}k:a`)
  assert.ok(pttl > 1000 && pttl <= 2000, `pttl ${pttl}`)
})

test('a process whose client quits exits on its own, even without cache.close() (lock waiters and bus included)', async () => {
  const lib = fileURLToPath(new URL('../lib/index.js', import.meta.url))
  const script = `
    const { Cache, Redis } = require(${JSON.stringify(lib)})
    const redis = new Redis(${JSON.stringify(server.url)})
    const cache = new Cache({ client: redis, prefix: 'exit:', lock: true, grace: '1m' })
    cache.ready().then(() => cache.wrap('k', () => 'v')).then((v) => {
      console.log(v)
      redis.quit()
    })`
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)))
  })
  assert.equal(out.trim(), 'v')
})
