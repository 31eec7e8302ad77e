// The session store's own contract against a real redis-server: connect-redis's TTL rule,
// data format and method forms; the bulk methods in batches (100,000 sessions); a prefix
// with glob characters; every client style; bad input; memory:// bounds.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Redis, SessionStore } = require('../lib/index.js')
const RedisStore = require('../lib/connect-redis.js')
const IORedis = require('ioredis')
const { createClient } = require('redis')

let server
let redis
let raw
const closers = []
before(async () => {
  server = await startRedis()
  redis = new Redis(server.url)
  raw = new Redis(server.url, { fallback: false })
  closers.push(() => redis.quit(), () => raw.quit())
})
after(async () => {
  for (const close of closers) await close()
  await server.stop()
})

const inSeconds = (s) => new Date(Date.now() + s * 1000)
const sess = (extra = {}, maxAgeSeconds = 600) => ({
  cookie: { originalMaxAge: maxAgeSeconds * 1000, expires: inSeconds(maxAgeSeconds).toISOString(), httpOnly: true, path: '/' },
  ...extra,
})
let prefixes = 0
const freshPrefix = () => `t${++prefixes}:`

test('exports: the same class from bulwark, bulwark/connect-redis (default and named), an express-session Store', () => {
  const { Store } = require('express-session')
  assert.equal(SessionStore, RedisStore)
  assert.equal(RedisStore.default, RedisStore)
  assert.equal(RedisStore.RedisStore, RedisStore)
  assert.equal(RedisStore.name, 'RedisStore')
  const store = new RedisStore({ client: redis })
  assert.ok(store instanceof Store)
  for (const m of ['regenerate', 'load', 'createSession', 'get', 'set', 'touch', 'destroy', 'clear', 'length', 'ids', 'all']) {
    assert.equal(typeof store[m], 'function', m)
  }
  assert.equal(store.prefix, 'sess:')
  assert.equal(store.scanCount, 100)
  assert.equal(store.ttl, 86400)
  assert.equal(store.serializer, JSON)
  assert.equal(new RedisStore({ client: redis, prefix: '', ttl: 0, scanCount: 0 }).prefix, '')
})

test('set/get/touch/destroy: key prefix+sid, JSON value, EX from the cookie; promise and callback forms', async () => {
  const prefix = freshPrefix()
  const store = new RedisStore({ client: redis, prefix })
  const data = sess({ user: 'ada', n: 1 }, 120)
  assert.equal(await store.set('s1', data), null)
  assert.equal(await raw.get(`${prefix}s1`), JSON.stringify(data))
  const ttl = await raw.ttl(`${prefix}s1`)
  assert.ok(ttl > 110 && ttl <= 120, `ttl ${ttl}`)
  assert.deepEqual(await store.get('s1'), data)
  assert.equal(await store.get('missing'), null)
  // touch: EXPIRE with the new cookie's TTL; the stored value is left alone (connect-redis).
  const later = sess({ user: 'ada', n: 1 }, 500)
  assert.equal(await store.touch('s1', later), null)
  assert.ok((await raw.ttl(`${prefix}s1`)) > 400)
  assert.equal(await raw.get(`${prefix}s1`), JSON.stringify(data))
  // callback forms
  const viaCallback = await new Promise((resolve, reject) => store.get('s1', (err, v) => (err ? reject(err) : resolve(v))))
  assert.deepEqual(viaCallback, data)
  assert.equal(store.destroy('s1', () => {}), undefined)
  await new Promise((resolve) => store.get('s1', (err, v) => resolve(assert.equal(v, null))))
  assert.equal(await raw.exists(`${prefix}s1`), 0)
})

test("TTL rule: a ttl function wins over the cookie; else the cookie; else the number; an expired cookie deletes", async () => {
  const prefix = freshPrefix()
  const byFn = new RedisStore({ client: redis, prefix, ttl: (s) => (s.user ? 1000 : 10) })
  await byFn.set('f', sess({ user: 'x' }, 60))
  assert.ok((await raw.ttl(`${prefix}f`)) > 900)
  const byNumber = new RedisStore({ client: redis, prefix, ttl: 300 })
  await byNumber.set('n', { cookie: { originalMaxAge: null, expires: null } })
  const ttl = await raw.ttl(`${prefix}n`)
  assert.ok(ttl > 290 && ttl <= 300)
  await byNumber.set('c', sess({}, 30))
  assert.ok((await raw.ttl(`${prefix}c`)) <= 30)
  assert.equal(byNumber.getTTL(sess({}, 30)), 30)
  // An already expired cookie: set deletes the session.
  await byNumber.set('old', sess({}, 60))
  await byNumber.set('old', { cookie: { expires: new Date(Date.now() - 1000).toISOString() } })
  assert.equal(await raw.exists(`${prefix}old`), 0)
  // disableTTL: plain SET; touch does nothing.
  const forever = new RedisStore({ client: redis, prefix, disableTTL: true })
  await forever.set('p', sess({}, 60))
  assert.equal(await raw.ttl(`${prefix}p`), -1)
  await forever.touch('p', sess({}, 60))
  assert.equal(await raw.ttl(`${prefix}p`), -1)
  // disableTouch: touch leaves the TTL as it was.
  const noTouch = new RedisStore({ client: redis, prefix, disableTouch: true })
  await noTouch.set('q', sess({}, 60))
  await noTouch.touch('q', sess({}, 6000))
  assert.ok((await raw.ttl(`${prefix}q`)) <= 60)
})

test('rollingTouch rewrites the stored cookie with the TTL, and never brings back a destroyed session', async () => {
  const prefix = freshPrefix()
  const store = new RedisStore({ client: redis, prefix, rollingTouch: true })
  await store.set('r', sess({ user: 'bo' }, 60))
  const renewed = sess({ user: 'bo' }, 900)
  await store.touch('r', renewed)
  assert.equal(await raw.get(`${prefix}r`), JSON.stringify(renewed))
  assert.ok((await raw.ttl(`${prefix}r`)) > 800)
  await store.destroy('r')
  await store.touch('r', renewed)
  assert.equal(await raw.exists(`${prefix}r`), 0)
})

test('async serializer: parse awaited in get and all; a custom stringify is stored verbatim', async () => {
  const prefix = freshPrefix()
  const serializer = {
    stringify: (s) => `v1|${JSON.stringify(s)}`,
    parse: async (text) => JSON.parse(text.slice(3)),
  }
  const store = new RedisStore({ client: redis, prefix, serializer })
  await store.set('a', sess({ k: 'a' }))
  await store.set('b', sess({ k: 'b' }))
  assert.ok((await raw.get(`${prefix}a`)).startsWith('v1|'))
  assert.equal((await store.get('a')).k, 'a')
  const all = await store.all()
  assert.deepEqual(all.map((s) => `${s.id}=${s.k}`).sort(), ['a=a', 'b=b'])
})

test('a prefix with glob characters matches literally: clear/ids/length/all leave look-alike keys alone', async () => {
  const store = new RedisStore({ client: redis, prefix: 's*[x]?:' })
  await store.set('one', sess({ n: 1 }))
  await store.set('two', sess({ n: 2 }))
  // Keys SCAN MATCH 's*[x]?:*' would select unescaped.
  await raw.set('sABCx1:zzz', 'other')
  await raw.set('s*x?:nope', 'other')
  assert.equal(await store.length(), 2)
  assert.deepEqual((await store.ids()).sort(), ['one', 'two'])
  assert.deepEqual((await store.all()).map((s) => s.n).sort(), [1, 2])
  await store.clear()
  assert.equal(await store.length(), 0)
  assert.equal(await raw.get('sABCx1:zzz'), 'other')
  assert.equal(await raw.get('s*x?:nope'), 'other')
})

test('the client keyPrefix stacks under the store prefix, also for the bulk methods', async () => {
  const prefixed = new Redis(server.url, { keyPrefix: 'app1:' })
  closers.push(() => prefixed.quit())
  const store = new RedisStore({ client: prefixed, prefix: 'sx:' })
  await store.set('k', sess({ v: 1 }))
  assert.equal(await raw.exists('app1:sx:k'), 1)
  await raw.set('sx:outside', 'x')
  assert.deepEqual(await store.ids(), ['k'])
  assert.deepEqual((await store.all()).map((s) => s.id), ['k'])
  await store.clear()
  assert.equal(await raw.exists('app1:sx:k'), 0)
  assert.equal(await raw.get('sx:outside'), 'x')
})

test('ioredis and node-redis 5 clients by duck typing: same data as with the bulwark client', async () => {
  const io = new IORedis(server.port, '127.0.0.1')
  const nodeRedis = createClient({ url: server.url })
  await nodeRedis.connect()
  closers.push(() => io.quit(), () => nodeRedis.quit())
  const prefix = freshPrefix()
  const stores = [new RedisStore({ client: redis, prefix }), new RedisStore({ client: io, prefix }), new RedisStore({ client: nodeRedis, prefix })]
  for (const [i, store] of stores.entries()) {
    await store.set(`c${i}`, sess({ by: i }, 100))
    assert.ok((await raw.ttl(`${prefix}c${i}`)) > 90)
  }
  for (const store of stores) {
    assert.deepEqual((await store.ids()).sort(), ['c0', 'c1', 'c2'])
    assert.deepEqual((await store.all()).map((s) => s.by).sort(), [0, 1, 2])
    assert.equal((await store.get('c1')).by, 1)
    await store.touch('c2', sess({}, 500))
    assert.ok((await raw.ttl(`${prefix}c2`)) > 400)
  }
  await stores[2].destroy('c0')
  assert.equal(await stores[1].get('c0'), null)
  await stores[2].clear()
  assert.equal(await stores[0].length(), 0)
})

test('bad input: clear errors naming the argument, nothing stored or lost', async () => {
  const prefix = freshPrefix()
  const store = new RedisStore({ client: redis, prefix })
  await store.set('keep', sess({ v: 'kept' }))
  for (const sid of [undefined, null, 42, '', {}]) {
    await assert.rejects(store.get(sid), { name: 'TypeError', message: /sid must be a non-empty string/ })
    await assert.rejects(store.set(sid, sess()), { name: 'TypeError', message: /sid/ })
    await assert.rejects(store.touch(sid, sess()), { name: 'TypeError', message: /sid/ })
    await assert.rejects(store.destroy(sid), { name: 'TypeError', message: /sid/ })
  }
  const err = await new Promise((resolve) => store.get('', resolve))
  assert.equal(err.name, 'TypeError')
  await assert.rejects(store.set('x', null), { name: 'TypeError', message: /session must be an object/ })
  const circular = sess()
  circular.self = circular
  await assert.rejects(store.set('x', circular), { name: 'TypeError', message: /^session could not be serialized: .*circular/i })
  await assert.rejects(store.set('x', sess({ big: 10n })), { name: 'TypeError', message: /^session could not be serialized: .*BigInt/ })
  const throwing = new RedisStore({ client: redis, prefix, serializer: { parse: JSON.parse, stringify: () => { throw new Error('boom') } } })
  await assert.rejects(throwing.set('x', sess()), { name: 'TypeError', message: 'session could not be serialized: boom' })
  const notString = new RedisStore({ client: redis, prefix, serializer: { parse: JSON.parse, stringify: () => 42 } })
  await assert.rejects(notString.set('x', sess()), { name: 'TypeError', message: /stringify must return a string, got number/ })
  const badTtl = new RedisStore({ client: redis, prefix, ttl: () => 'soon' })
  await assert.rejects(badTtl.set('x', sess()), { name: 'TypeError', message: /ttl\(session\) must return a number/ })
  assert.equal(await raw.exists(`${prefix}x`), 0)
  assert.equal((await store.get('keep')).v, 'kept')
  // Constructor options.
  assert.throws(() => new RedisStore(), { name: 'TypeError', message: /options/ })
  assert.throws(() => new RedisStore({}), { name: 'TypeError', message: /client/ })
  assert.throws(() => new RedisStore({ client: {} }), { name: 'TypeError', message: /client/ })
  assert.throws(() => new RedisStore({ client: redis, prefix: 5 }), { name: 'TypeError', message: /prefix/ })
  assert.throws(() => new RedisStore({ client: redis, scanCount: -1 }), { name: 'TypeError', message: /scanCount/ })
  assert.throws(() => new RedisStore({ client: redis, ttl: 'day' }), { name: 'TypeError', message: /ttl/ })
  assert.throws(() => new RedisStore({ client: redis, serializer: {} }), { name: 'TypeError', message: /serializer/ })
  assert.throws(() => new RedisStore({ client: redis, localCopies: 1.5 }), { name: 'TypeError', message: /localCopies/ })
})

test('a corrupt stored value is no session, reported through the error event (logged without a listener)', async () => {
  const prefix = freshPrefix()
  const store = new RedisStore({ client: redis, prefix })
  await raw.set(`${prefix}bad`, '{not json')
  await raw.set(`${prefix}num`, '42')
  await store.set('good', sess({ ok: true }))
  const errors = []
  store.on('error', (err) => errors.push(err))
  assert.equal(await store.get('bad'), null)
  assert.equal(await store.get('num'), null)
  assert.deepEqual((await store.all()).map((s) => s.id), ['good'])
  assert.equal(errors.length, 4)
  for (const err of errors) assert.equal(err.code, 'ERR_BULWARK_SESSION_CORRUPT')
  assert.ok(errors[0].cause instanceof SyntaxError)
  assert.equal(errors[0].sid, 'bad')
  // The corrupt value is kept (nothing lost), and without a listener nothing throws.
  assert.equal(await raw.get(`${prefix}bad`), '{not json')
  const silent = new RedisStore({ client: redis, prefix })
  const logged = []
  const original = console.error
  console.error = (...args) => logged.push(args.join(' '))
  try {
    assert.equal(await silent.get('bad'), null)
  } finally {
    console.error = original
  }
  assert.equal(logged.length, 1)
})

test('clear() on 100,000 sessions: SCAN + UNLINK in batches, never KEYS or one huge DEL; other keys survive', async () => {
  const prefix = 'big:'
  const value = JSON.stringify(sess({ user: 'u' }))
  for (let start = 0; start < 100_000; start += 10_000) {
    const p = raw.pipeline()
    for (let i = start; i < start + 10_000; i++) p.set(`${prefix}${i}`, value, 'EX', 3600)
    await p.exec()
  }
  for (let i = 0; i < 500; i++) await raw.set(`bigger:${i}`, 'other')
  await raw.set('big', 'other')
  const before = await raw.dbsize()
  await raw.config('RESETSTAT')
  const store = new RedisStore({ client: redis, prefix })
  assert.equal(await store.length(), 100_000)
  await store.clear()
  const stats = await raw.info('commandstats')
  const calls = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
  assert.equal(calls('keys'), 0)
  assert.equal(calls('del'), 0)
  // Every batch a separate UNLINK of at most a SCAN reply's keys.
  assert.ok(calls('unlink') >= 100, `unlink calls ${calls('unlink')}`)
  assert.equal(await raw.dbsize(), before - 100_000)
  assert.equal(await raw.get('bigger:7'), 'other')
  assert.equal(await raw.get('big'), 'other')
  assert.equal(await store.length(), 0)
})

test('memory://: sessions stay within the engine bound however many are written', async () => {
  const client = new Redis(`memory://sessions-bound-${process.pid}`, { memory: { maxKeys: 1000 } })
  closers.push(() => client.quit())
  const store = new RedisStore({ client })
  assert.equal(store._local, null) // memory:// keeps no second copy
  for (let i = 0; i < 20_000; i++) await store.set(`m${i}`, sess({ i }))
  const length = await store.length()
  assert.ok(length <= 1000 && length > 0, `length ${length}`)
  assert.ok((await client.health()).memory.keys <= 1000)
  assert.equal((await store.get('m19999')).i, 19999)
})

test('local copies for outages are bounded by localCopies', async () => {
  const store = new RedisStore({ client: redis, prefix: freshPrefix(), localCopies: 50 })
  for (let i = 0; i < 500; i++) await store.set(`l${i}`, sess({ i }))
  assert.equal(store._local.size, 50)
  await store.destroy('l499')
  assert.equal(store._local.size, 49)
  assert.equal(new RedisStore({ client: redis, localCopies: 0 })._local, null)
  assert.equal(new RedisStore({ client: raw })._local, null) // fallback: false has no outage path
})

test('without express-session installed the store is a plain EventEmitter that still works', async () => {
  const { execFileSync } = await import('node:child_process')
  const script = `
    const Module = require('node:module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'express-session') throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' })
      return resolve.call(this, request, ...rest)
    }
    const { EventEmitter } = require('node:events')
    const { Redis, SessionStore } = require('./lib/index.js')
    const client = new Redis('memory://no-express-session')
    const store = new SessionStore({ client })
    ;(async () => {
      await store.set('a', { cookie: {}, v: 1 })
      const back = await store.get('a')
      console.log(JSON.stringify({ emitter: store instanceof EventEmitter, regenerate: typeof store.regenerate, v: back.v }))
      await client.quit()
    })()
  `
  const out = execFileSync(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { emitter: true, regenerate: 'undefined', v: 1 })
})
