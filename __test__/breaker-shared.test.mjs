// CircuitBreaker stateStore: breakers of one name sharing open/close transitions through a
// REAL redis-server (two clients = two processes; one test uses a real child process).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { startRedis, rawCommand } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { CircuitBreaker, Redis, RedisBreakerStateStore } = require('../lib/index.js')
const OpossumEntry = require('../lib/opossum.js')

let server
const clients = []
before(async () => {
  server = await startRedis()
})
after(async () => {
  for (const c of clients) c.disconnect()
  await server.stop()
})

let names = 0
const uniqueName = () => `svc-${process.pid}-${++names}`

/** A client standing for one process; errors are expected in the Redis-down test. */
function client(options) {
  const c = new Redis(server.url, options)
  c.on('error', () => {})
  clients.push(c)
  return c
}

/** Resolves with the event's arguments, or rejects after `ms` (a bound, not a measurement). */
function nextEvent(emitter, name, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${name}' event within ${ms} ms`)), ms)
    emitter.once(name, (...args) => {
      clearTimeout(timer)
      resolve(args)
    })
  })
}

async function waitFor(condition, what, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Subscribers on the breaker's channel, asked over a raw socket (not the client under test). */
async function subscribers(channel) {
  const reply = await rawCommand(server.port, `PUBSUB NUMSUB ${channel}`)
  return Number(reply.trim().split('\r\n').pop().replace(':', ''))
}

/** A Redis-backed breaker; `errors` collects what the store reports. */
function shared(name, redis, options = {}) {
  const errors = []
  const store = new RedisBreakerStateStore(redis, { onError: (err) => errors.push(err) })
  const breaker = new CircuitBreaker(options.action ?? (async (x) => x), {
    name,
    resetTimeout: 60_000,
    timeout: false,
    stateStore: store,
    ...options,
  })
  const remote = []
  breaker.on('remoteTransition', (t) => remote.push(t))
  return { breaker, store, errors, remote }
}

const channel = (name) => `${RedisBreakerStateStore.DEFAULT_PREFIX}${name}`

test('exports: main entry, bulwark/opossum static, prefix default', () => {
  assert.equal(typeof RedisBreakerStateStore, 'function')
  assert.equal(OpossumEntry.RedisBreakerStateStore, RedisBreakerStateStore)
  assert.equal(CircuitBreaker.RedisBreakerStateStore, RedisBreakerStateStore)
  assert.equal(RedisBreakerStateStore.DEFAULT_PREFIX, 'bulwark:breaker:')
})

test('open on A propagates to B: open event, EOPENBREAKER, lastTimerAt = A\'s at', async () => {
  const name = uniqueName()
  const a = shared(name, client())
  const b = shared(name, client())
  await waitFor(async () => (await subscribers(channel(name))) === 2, 'both subscriptions')
  const opened = nextEvent(b.breaker, 'open')
  a.breaker.open()
  await opened
  assert.equal(b.breaker.opened, true)
  await assert.rejects(b.breaker.fire(1), (err) => err.code === 'EOPENBREAKER')
  assert.equal(b.remote.length, 1)
  const t = b.remote[0]
  assert.equal(t.state, 'open')
  assert.equal(t.at, a.breaker.toJSON().state.lastTimerAt)
  assert.equal(b.breaker.toJSON().state.lastTimerAt, t.at)
  assert.ok(Number.isSafeInteger(t.seq) && t.seq >= 1)
  assert.match(t.by, new RegExp(`^${process.pid}:`))
  // A never applies its own echo.
  assert.deepEqual(a.remote, [])
  assert.deepEqual(a.errors, [])
  assert.deepEqual(b.errors, [])
  // Stored for late starters: SET … PX resetTimeout*2, and the seq counter.
  const redis = client()
  assert.deepEqual(JSON.parse(await redis.get(channel(name))), t)
  const ttl = await redis.pttl(channel(name))
  assert.ok(ttl > 60_000 && ttl <= 120_000, `pttl ${ttl}`)
  assert.equal(Number(await redis.get(`${channel(name)}:seq`)), t.seq)
  a.breaker.shutdown()
  b.breaker.shutdown()
})

test("B's reset timer runs from the peer's `at`, not from the message's arrival", async () => {
  const name = uniqueName()
  const a = shared(name, client())
  const b = shared(name, client())
  await waitFor(async () => (await subscribers(channel(name))) === 2, 'both subscriptions')
  // A peer opened 59.7 s ago with resetTimeout 60 s: B must go half-open long before 60 s.
  // Listening before the publish: Redis sends B the message before it answers A's
  // PUBLISH, so B may open before the publish resolves.
  const opened = nextEvent(b.breaker, 'open')
  const halfOpen = nextEvent(b.breaker, 'halfOpen', 20_000)
  await a.store.publish(name, { state: 'open', at: Date.now() - 59_700, by: 'peer' }, 60_000)
  await opened
  await halfOpen
  assert.equal(b.breaker.halfOpen, true)
  // Half-open stays local: A (which saw a peer open too) and the store saw no half-open.
  const stored = JSON.parse(await client().get(channel(name)))
  assert.equal(stored.state, 'open')
  // An open whose reset time has already passed is ignored.
  const c = shared(name, client())
  await waitFor(async () => (await subscribers(channel(name))) === 3, 'third subscription')
  await a.store.publish(name, { state: 'open', at: Date.now() - 61_000, by: 'peer' }, 60_000)
  await a.store.publish(name, { state: 'closed', at: Date.now(), by: 'peer' }, 60_000)
  // B (half-open) ignores the expired open and takes the close; C (closed) ignores both.
  await waitFor(() => b.remote.length === 2, "B's close")
  assert.equal(b.remote[1].state, 'closed')
  assert.equal(b.breaker.closed, true)
  assert.equal(c.breaker.closed, true)
  assert.deepEqual(c.remote, [])
  for (const x of [a, b, c]) x.breaker.shutdown()
})

test('stale and duplicate seq are ignored; own echoes are ignored; closed only shortens an open peer', async () => {
  const name = uniqueName()
  const a = shared(name, client())
  const b = shared(name, client())
  const redis = client()
  await waitFor(async () => (await subscribers(channel(name))) === 2, 'both subscriptions')
  const opened = nextEvent(b.breaker, 'open')
  a.breaker.open()
  await opened
  const seq = b.remote[0].seq
  const msg = (state, s, by = 'peer') => JSON.stringify({ state, at: Date.now(), by, seq: s })
  // Older and duplicate messages, then a newer one: only the last is applied.
  const closes = []
  b.breaker.on('close', () => closes.push('close'))
  await redis.publish(channel(name), msg('closed', seq - 1))
  await redis.publish(channel(name), msg('closed', seq))
  // A real writer takes its seq from the counter; a hand-made message must too.
  assert.equal(await redis.incrby(`${channel(name)}:seq`, 5), seq + 5)
  await redis.publish(channel(name), msg('closed', seq + 5))
  await waitFor(() => b.remote.length === 2 && a.remote.length === 1, 'the fresh close on A and B')
  assert.deepEqual(
    b.remote.map((t) => [t.state, t.seq]),
    [
      ['open', seq],
      ['closed', seq + 5],
    ],
  )
  assert.deepEqual(closes, ['close'])
  assert.equal(b.breaker.closed, true)
  // A saw the same peer close (it was open) and never its own open echo.
  assert.deepEqual(
    a.remote.map((t) => [t.state, t.seq]),
    [['closed', seq + 5]],
  )
  assert.equal(a.breaker.closed, true)

  // A closed breaker ignores a peer's close (no event); an open one closes on it.
  a.breaker.open()
  await waitFor(() => b.breaker.opened, 'B open again')
  const beforeA = a.remote.length
  const closed = nextEvent(a.breaker, 'close')
  b.breaker.close()
  await closed
  assert.equal(a.remote.length, beforeA + 1)
  assert.equal(a.remote.at(-1).state, 'closed')
  const c = shared(name, client())
  await waitFor(async () => (await subscribers(channel(name))) === 3, 'third subscription')
  c.breaker.on('close', () => assert.fail('a closed breaker must not emit close for a peer'))
  a.breaker.open()
  await waitFor(() => c.breaker.opened && b.breaker.opened, 'B and C open')
  const bClosed = nextEvent(b.breaker, 'close')
  c.breaker.removeAllListeners('close')
  a.breaker.close()
  await bClosed
  await waitFor(() => c.breaker.closed, 'C closed')
  for (const x of [a, b, c]) {
    assert.deepEqual(x.errors, [])
    x.breaker.shutdown()
  }
})

test('a breaker created after a peer opened loads the open state', async () => {
  const name = uniqueName()
  const redis = client()
  const a = shared(name, redis)
  a.breaker.open()
  await waitFor(async () => (await redis.get(channel(name))) !== null, 'the stored transition')
  const late = new CircuitBreaker(async () => 1, {
    name,
    resetTimeout: 60_000,
    stateStore: new RedisBreakerStateStore(client()),
  })
  const remote = nextEvent(late, 'remoteTransition')
  await nextEvent(late, 'open')
  assert.equal((await remote)[0].state, 'open')
  assert.equal(late.toJSON().state.lastTimerAt, a.breaker.toJSON().state.lastTimerAt)
  await assert.rejects(late.fire(), (err) => err.code === 'EOPENBREAKER')
  // A stored `closed` or an expired open is not applied at start.
  a.breaker.close()
  await waitFor(async () => JSON.parse(await redis.get(channel(name))).state === 'closed', 'stored close')
  let loaded
  const store = new RedisBreakerStateStore(client())
  const spy = {
    load: (n) => (loaded = store.load(n)),
    publish: (...args) => store.publish(...args),
    subscribe: (...args) => store.subscribe(...args),
  }
  const fresh = new CircuitBreaker(async () => 1, { name, resetTimeout: 60_000, stateStore: spy })
  assert.equal((await loaded).state, 'closed')
  await sleep(0)
  assert.equal(fresh.closed, true)
  for (const x of [a.breaker, late, fresh]) x.shutdown()
})

test('shutdown unsubscribes; the duplicate connection goes with the last subscription', async () => {
  const name = uniqueName()
  const redis = client()
  const store = new RedisBreakerStateStore(redis, { prefix: 'test:brk:' })
  const one = new CircuitBreaker(async () => 1, { name, stateStore: store })
  const two = new CircuitBreaker(async () => 1, { name: `${name}-2`, stateStore: store })
  await waitFor(async () => (await subscribers(`test:brk:${name}`)) === 1 && (await subscribers(`test:brk:${name}-2`)) === 1, 'subscriptions')
  one.shutdown()
  await waitFor(async () => (await subscribers(`test:brk:${name}`)) === 0, 'unsubscribe')
  assert.notEqual(store._sub, null)
  two.shutdown()
  two.shutdown()
  assert.equal(store._sub, null)
  await waitFor(async () => (await subscribers(`test:brk:${name}-2`)) === 0, 'duplicate closed')
  // The user's client is untouched.
  assert.equal(await redis.ping(), 'PONG')
})

test('your client ending takes the subscriber with it; connect() again renews the subscriptions', async () => {
  const name = uniqueName()
  const redis = client()
  const b = shared(name, redis)
  await waitFor(async () => (await subscribers(channel(name))) === 1, 'the subscription')
  // The breaker's initial load (a GET on this client) may still be queued behind the
  // connect when the subscriber is already up: a PING behind it settles once it has.
  await redis.ping()
  const ended = nextEvent(redis, 'end')
  redis.disconnect()
  await ended
  assert.equal(b.store._sub, null)
  await waitFor(async () => (await subscribers(channel(name))) === 0, 'the subscriber closed')
  await redis.connect()
  await waitFor(async () => (await subscribers(channel(name))) === 1, 'the renewed subscription')
  const a = shared(name, client())
  const opened = nextEvent(b.breaker, 'open')
  a.breaker.open()
  await opened
  assert.equal(b.remote.at(-1).state, 'open')
  for (const x of [a, b]) {
    assert.deepEqual(x.errors, [])
    x.breaker.shutdown()
  }
  assert.equal(b.store._sub, null)
  assert.equal(redis.listenerCount('end'), 0)
  assert.equal(redis.listenerCount('ready'), 0)
})

for (const [how, mode] of [
  ['after shutdown() and quit()', 'shutdown'],
  ['after quit() alone (a breaker never shut down)', 'no-shutdown'],
]) {
  test(`a real second process: peer open reaches it, and it exits on its own ${how}`, async () => {
    const name = uniqueName()
    const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/shared-breaker-peer.cjs', import.meta.url)), server.url, name, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const exited = once(child, 'exit')
    try {
      await waitFor(async () => (await subscribers(channel(name))) === 1, 'the child subscription')
      const a = shared(name, client())
      a.breaker.open()
      const bound = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const [code] = await exited
      clearTimeout(bound)
      assert.equal(code, 0, `child exited with ${code}; stderr: ${err}`)
      const report = JSON.parse(out.trim())
      assert.equal(report.outcome, 'EOPENBREAKER')
      assert.equal(report.opened, true)
      assert.equal(report.remote.state, 'open')
      assert.equal(report.remote.at, a.breaker.toJSON().state.lastTimerAt)
      assert.equal(err, '')
      a.breaker.shutdown()
    } finally {
      child.kill('SIGKILL')
    }
  })
}

test('Redis down: breakers work locally, onError reports, no unhandled rejection; sharing resumes after restart', async () => {
  const name = uniqueName()
  let failing = false
  const action = async () => {
    if (failing) throw new Error('upstream down')
    return 'ok'
  }
  // ioredis semantics (errors while down) so the store's error path is what runs.
  const opts = { fallback: false, maxRetriesPerRequest: 1, commandTimeout: 2000 }
  const a = shared(name, client(opts), { action })
  const b = shared(name, client(opts), { action })
  await waitFor(async () => (await subscribers(channel(name))) === 2, 'both subscriptions')
  await server.kill()
  // Local breaking: A trips on its own failures and rejects; B keeps calling through.
  failing = true
  await assert.rejects(a.breaker.fire(), /upstream down/)
  assert.equal(a.breaker.opened, true)
  await assert.rejects(a.breaker.fire(), (err) => err.code === 'EOPENBREAKER')
  failing = false
  assert.equal(await b.breaker.fire(), 'ok')
  assert.equal(b.breaker.closed, true)
  // The publish of A's open failed and was reported, not thrown.
  await waitFor(() => a.errors.length > 0, 'onError on A', 20_000)
  assert.ok(a.errors[0] instanceof Error)
  a.breaker.close()
  assert.equal(await a.breaker.fire(), 'ok')
  // A new breaker while Redis is down starts closed and works.
  // Without an offline queue its subscribe fails at once and is retried in the background.
  const c = shared(name, client({ ...opts, enableOfflineQueue: false }))
  assert.equal(await c.breaker.fire('x'), 'x')
  await waitFor(() => c.errors.length >= 2, 'load and subscribe failures on C')

  await server.restart()
  // A and B resubscribe; C, whose first subscribe failed, retries until it gets through.
  await waitFor(async () => (await subscribers(channel(name))) === 3, 'three subscriptions after restart', 20_000)
  const opened = nextEvent(b.breaker, 'open', 20_000)
  // The first commands after the restart may still fail while the clients reconnect: retry.
  await waitFor(
    async () => {
      if (b.breaker.opened) return true
      a.breaker.open()
      await sleep(200)
      if (!b.breaker.opened) a.breaker.close()
      return b.breaker.opened
    },
    'B opened by A after the restart',
    20_000,
  )
  await opened
  await waitFor(() => c.breaker.opened, 'C opened by A', 10_000)
  for (const x of [a, b, c]) x.breaker.shutdown()
})

test('bad stateStore values and store failures', async () => {
  const fn = async () => 1
  const ok = { load: async () => null, publish: async () => 1, subscribe: () => () => {} }
  for (const [store, message] of [
    ['redis', /options\.stateStore must be an object/],
    [42, /options\.stateStore must be an object/],
    [{}, /options\.stateStore\.load must be a function/],
    [{ ...ok, publish: 'x' }, /options\.stateStore\.publish must be a function/],
    [{ ...ok, subscribe: undefined }, /options\.stateStore\.subscribe must be a function/],
    [{ ...ok, onError: true }, /options\.stateStore\.onError must be a function/],
  ]) {
    assert.throws(() => new CircuitBreaker(fn, { stateStore: store }), (err) => err instanceof TypeError && message.test(err.message), String(message))
  }
  // null/undefined mean "no store".
  new CircuitBreaker(fn, { stateStore: null }).shutdown()
  new CircuitBreaker(fn, { stateStore: undefined }).shutdown()

  for (const [args, message] of [
    [[], /redis must be a Redis client/],
    [[{}], /redis must be a Redis client/],
    [[client(), null], /options must be an object/],
    [[client(), { prefix: 5 }], /options\.prefix must be a string/],
    [[client(), { onError: 'log' }], /options\.onError must be a function/],
  ]) {
    assert.throws(() => new RedisBreakerStateStore(...args), (err) => err instanceof TypeError && message.test(err.message))
  }

  // publish() refuses transitions that would store malformed JSON.
  const direct = new RedisBreakerStateStore(client())
  for (const t of [null, { state: 'half-open', at: 1, by: 'x' }, { state: 'open', at: NaN, by: 'x' }, { state: 'open', at: Infinity, by: 'x' }, { state: 'open', at: 1, by: 7 }]) {
    await assert.rejects(direct.publish('n', t, 1000), TypeError)
  }
  assert.throws(() => direct.subscribe('n', 'not a function'), TypeError)
  // Edge TTLs are clamped to at least 1 ms (huge ones are kept); an empty name is a valid key.
  const edge = uniqueName()
  let last = 0
  for (const resetTimeout of [2 ** 31 - 1, 0, -5, NaN, undefined]) {
    const seq = await direct.publish(edge, { state: 'open', at: Date.now(), by: 'x' }, resetTimeout)
    assert.equal(seq, last + 1)
    last = seq
  }
  assert.equal(await direct.load(`${edge}-missing`), null)
  await direct.publish('', { state: 'closed', at: 1, by: 'x' }, 1000)
  assert.deepEqual({ ...(await direct.load('')), seq: 0 }, { state: 'closed', at: 1, by: 'x', seq: 0 })
  // A store that throws or rejects everywhere: the breaker is a plain local breaker.
  const errors = []
  const broken = {
    load: () => {
      throw new Error('load failed')
    },
    publish: () => Promise.reject(new Error('publish failed')),
    subscribe: () => 'not a function',
    onError: (err) => errors.push(err.message),
  }
  const breaker = new CircuitBreaker(fn, { stateStore: broken })
  breaker.open()
  breaker.close()
  assert.equal(await breaker.fire(), 1)
  await waitFor(() => errors.length === 4, 'four reported errors')
  assert.deepEqual(errors.sort(), [
    'load failed',
    'publish failed',
    'publish failed',
    'stateStore.subscribe must return an unsubscribe function, got string',
  ])
  breaker.shutdown()

  // Malformed messages and transitions are reported and ignored.
  const name = uniqueName()
  const s = shared(name, client())
  await waitFor(async () => (await subscribers(channel(name))) === 1, 'subscription')
  const redis = client()
  await redis.publish(channel(name), 'not json')
  await redis.publish(channel(name), JSON.stringify({ state: 'half-open', at: 1, by: 'x', seq: 1 }))
  await waitFor(() => s.errors.length === 2, 'two reported errors')
  assert.equal(s.breaker.closed, true)
  assert.deepEqual(s.remote, [])
  s.breaker.shutdown()
  // A custom store delivering garbage: reported through its onError.
  const seen = []
  let deliver
  const custom = { ...ok, subscribe: (_n, cb) => ((deliver = cb), () => {}), onError: (e) => seen.push(e) }
  const cb = new CircuitBreaker(fn, { stateStore: custom })
  const circular = { state: 'open', at: 'now', by: 'x', seq: 1 }
  circular.self = circular
  deliver(circular)
  deliver(null)
  assert.equal(seen.length, 2)
  assert.ok(seen.every((e) => e instanceof TypeError && /malformed transition/.test(e.message)))
  assert.equal(seen[0].transition, circular)
  assert.equal(cb.closed, true)
  deliver({ state: 'open', at: Date.now(), by: 'x', seq: 1 })
  assert.equal(cb.opened, true)
  cb.shutdown()
})

test('only local open/close are published: not fires, not half-open, not an imported state', async () => {
  const published = []
  const store = {
    load: async () => null,
    publish: async (name, t, resetTimeout) => {
      published.push([name, t.state, typeof t.at, resetTimeout])
      return published.length
    },
    subscribe: () => () => {},
  }
  let fail = false
  const breaker = new CircuitBreaker(
    async () => {
      if (fail) throw new Error('x')
      return 'ok'
    },
    { name: 'local-only', resetTimeout: 20, stateStore: store },
  )
  for (let i = 0; i < 100; i++) assert.equal(await breaker.fire(), 'ok')
  assert.deepEqual(published, [])
  fail = true
  const halfOpen = nextEvent(breaker, 'halfOpen')
  for (let i = 0; i < 200 && !breaker.opened; i++) await assert.rejects(breaker.fire())
  assert.equal(breaker.opened, true)
  await halfOpen
  fail = false
  assert.equal(await breaker.fire(), 'ok')
  assert.equal(breaker.closed, true)
  assert.deepEqual(published, [
    ['local-only', 'open', 'number', 20],
    ['local-only', 'closed', 'number', 20],
  ])
  breaker.shutdown()
  // An imported open state is restored locally and not announced again.
  const imported = new CircuitBreaker(async () => 1, {
    resetTimeout: 60_000,
    state: { closed: false, halfOpen: false, lastTimerAt: Date.now() },
    stateStore: store,
  })
  assert.equal(imported.opened, true)
  assert.equal(published.length, 2)
  imported.shutdown()
})
