// The store and RateLimiter on a memory:// client decide through one native call into the
// client's memory engine (native.ratelimitMemory*): same replies, keys, values and TTLs as
// the same scripts sent as commands through the client, errors handled as before.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { RateLimitStore, RateLimiter, Redis } = require('bulwark')
const native = require('../lib/native.js')

const clients = []
function memoryClient(name, options) {
  const c = new Redis(`memory://${name}`, options)
  clients.push(c)
  return c
}
after(() => {
  for (const c of clients) c.disconnect()
})

/** A key's type, value and whether it has a TTL. Each test runs the same limiter twice on
 * one client: over the client (direct native decisions) and over `sendCommand` (the
 * script as a command), on separate prefixes. */
async function stateOf(c, key) {
  const type = await c.type(key)
  const value = type === 'hash' ? await c.hgetall(key) : type === 'string' ? await c.get(key) : null
  const pttl = await c.pttl(key)
  return { type, value, ttlSet: pttl > 0 }
}

test('store on memory://: counts, values and TTLs as the script sent as a command', async () => {
  const c = memoryClient('rl-direct-store')
  const direct = new RateLimitStore({ client: c, prefix: 'd:' })
  const command = new RateLimitStore({ sendCommand: (cmd, ...args) => c.call(cmd, ...args), prefix: 'c:' })
  direct.init({ windowMs: 30_000, limit: 10 })
  command.init({ windowMs: 30_000, limit: 10 })
  const hits = [[], []]
  for (let i = 0; i < 4; i++) {
    hits[0].push((await direct.increment('a')).totalHits)
    hits[1].push((await command.increment('a')).totalHits)
  }
  assert.deepEqual(hits, [
    [1, 2, 3, 4],
    [1, 2, 3, 4],
  ])
  assert.deepEqual(await stateOf(c, 'd:a'), await stateOf(c, 'c:a'))
  const r = await direct.increment('a')
  assert.ok(r.resetTime instanceof Date && r.resetTime.getTime() - Date.now() > 25_000, String(r.resetTime))
  assert.equal(await c.get('d:a'), '5')
  const pttl = await c.pttl('d:a')
  assert.ok(pttl > 25_000 && pttl <= 30_000, `${pttl}`)
  // An expired counter starts a new window, as the script does.
  await c.pexpire('d:a', 1)
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal((await direct.increment('a')).totalHits, 1)
  await assert.rejects(direct.increment(42), { name: 'TypeError', message: 'key must be a string, got number' })
})

for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
  test(`RateLimiter (${algorithm}) on memory://: decisions and stored state as the script sent as a command`, async () => {
    const c = memoryClient(`rl-direct-${algorithm}`)
    const options = { algorithm, limit: 3, windowMs: 60_000 }
    const direct = new RateLimiter({ ...options, client: c, prefix: 'd:' })
    const command = new RateLimiter({ ...options, sendCommand: (cmd, ...args) => c.call(cmd, ...args), prefix: 'c:' })
    const outcomes = [[], []]
    for (const cost of [1, 0, 2, 1, 5]) {
      outcomes[0].push(await direct.consume('k', cost))
      outcomes[1].push(await command.consume('k', cost))
    }
    const shape = (r) => ({ allowed: r.allowed, limit: r.limit, remaining: r.remaining, retryClass: Math.sign(r.retryAfterMs) })
    assert.deepEqual(outcomes[0].map(shape), outcomes[1].map(shape))
    assert.deepEqual(
      outcomes[0].map((r) => r.allowed),
      [true, true, true, false, false],
    )
    assert.equal(outcomes[0][4].retryAfterMs, 60_000) // cost above the limit
    for (const [a, b] of outcomes[0].map((r, i) => [r, outcomes[1][i]])) {
      assert.ok(Math.abs(a.resetMs - b.resetMs) < 1000 && Math.abs(a.retryAfterMs - b.retryAfterMs) < 1000)
    }
    const [d, s] = [await stateOf(c, 'd:k'), await stateOf(c, 'c:k')]
    if (algorithm === 'sliding-window') assert.deepEqual(d, s)
    else assert.deepEqual({ type: d.type, ttlSet: d.ttlSet }, { type: s.type, ttlSet: s.ttlSet })
  })
}

test("a foreign value under the key: the decision gets the 'local' answer, as when the command fails", async () => {
  const c = memoryClient('rl-direct-foreign')
  await c.set('rl:x', 'text', 'PX', 60_000)
  await c.set('bulwark:fixed-window:y', 'text')
  const store = new RateLimitStore({ client: c })
  store.init({ windowMs: 60_000, limit: 5 })
  const limiter = new RateLimiter({ client: c, limit: 5, windowMs: 60_000 })
  const logged = []
  const { error } = console
  console.error = (...args) => logged.push(args.join(' '))
  try {
    assert.equal((await store.increment('x')).totalHits, 1)
    assert.equal((await limiter.consume('y')).allowed, true)
  } finally {
    console.error = error
  }
  assert.ok(logged.length >= 1 && /not an integer|WRONGTYPE/.test(logged.join('\n')), logged.join('\n'))
  assert.equal(await c.get('rl:x'), 'text')
  assert.equal(await c.get('bulwark:fixed-window:y'), 'text')
})

test('a client keyPrefix is still applied (the decision takes the client path)', async () => {
  const c = memoryClient('rl-direct-prefix', { keyPrefix: 'app:' })
  const store = new RateLimitStore({ client: c })
  store.init({ windowMs: 60_000, limit: 5 })
  assert.equal((await store.increment('a')).totalHits, 1)
  const plain = memoryClient('rl-direct-prefix')
  assert.equal(await plain.get('app:rl:a'), '1')
  assert.equal(await plain.exists('rl:a'), 0)
})

test('the native memory decisions answer -1 for a slot with no client, and refuse bad policies and arguments', () => {
  const decide = native.ratelimitMemoryDecideFunction()
  const store = native.ratelimitMemoryPolicy(-1, 0, 1000, 'p:')
  const limiter = native.ratelimitMemoryPolicy(0, 1, 1000, 'p:')
  assert.equal(decide(store, 1_000_000, 'k', 1), -1)
  assert.equal(decide(limiter, 1_000_000, 'k', 1), -1)
  assert.throws(() => native.ratelimitMemoryPolicy(7, 1, 1000, 'p:'), /algorithm index/)
  const c = memoryClient('rl-direct-native')
  assert.throws(() => decide(store, c._directSlot, 42, 1), { code: 'StringExpected', message: /key must be a string/ })
  assert.throws(() => decide(store, c._directSlot, 'k'), /expected 4 arguments/)
  assert.throws(() => decide('x', c._directSlot, 'k', 1), /policy must be a number/)
  native.ratelimitMemoryPolicyDrop(limiter)
  assert.throws(() => decide(limiter, c._directSlot, 'k', 1), /not live/)
  native.ratelimitMemoryPolicyDrop(store)
})

test('a memory decision reads keys of any length and any characters after the prefix (inline and heap buffers), as the client encodes them', async () => {
  const c = memoryClient('rl-direct-long')
  const store = new RateLimitStore({ client: c, prefix: 'pre:' })
  store.init({ windowMs: 60_000, limit: 10 })
  const keys = ['', 'a', 'é'.repeat(124), 'x'.repeat(247), 'x'.repeat(248), '𝄞'.repeat(70), 'y'.repeat(5000)]
  // Around the 255 UTF-16 units read at once, and the 3 bytes a unit may take in UTF-8.
  for (const n of [83, 84, 85, 86, 250, 251, 254, 255, 256]) keys.push('z'.repeat(n), 'z'.repeat(n - 1) + '€', '€'.repeat(n))
  // Latin-1, ASCII then not, a pair split by the read, and lone surrogates (U+FFFD, as Buffer.from writes them).
  keys.push('ÿü', 'a'.repeat(100) + 'é', 'q'.repeat(254) + '😀', '\ud800', 'a\udc00b', 'x\ud83d')
  for (const key of keys) {
    assert.equal((await store.increment(key)).totalHits, 1, `length ${key.length}`)
    assert.equal((await store.increment(key)).totalHits, 2, `length ${key.length}`)
    assert.equal(await c.get(`pre:${key}`), '2', `length ${key.length}`)
  }
  const limiter = new RateLimiter({ client: c, limit: 1, windowMs: 60_000, prefix: 'L'.repeat(300) })
  assert.equal((await limiter.consume('k')).allowed, true)
  assert.equal((await limiter.consume('k')).allowed, false)
  assert.equal(await c.hget(`${'L'.repeat(300)}k`, 'c'), '1')
})
