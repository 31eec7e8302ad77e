// The store under real express-session and Express, over HTTP with fetch: login → request →
// logout, resave/rolling/saveUninitialized combinations, cookie expiry, regenerate, and
// sessions shared with the real connect-redis (7 on ioredis, 9 on node-redis) both ways.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const session = require('express-session')
const { Redis } = require('../lib/index.js')
const RedisStore = require('../lib/connect-redis.js')
const ConnectRedis7 = require('connect-redis').default
const { RedisStore: ConnectRedis9 } = require('connect-redis-9')
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
  for (const close of closers.reverse()) await close()
  await server.stop()
})

/** An app with login (regenerate), a counter, a read-only page and logout. */
async function app(store, options = {}) {
  const a = express()
  a.use(session({ store, secret: 'shared-secret', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 }, ...options }))
  a.post('/login', (req, res, next) =>
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.user = req.query.user
      res.json({ user: req.session.user })
    }),
  )
  a.get('/count', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    res.json({ user: req.session.user ?? null, views: req.session.views })
  })
  a.get('/peek', (req, res) => res.json({ user: req.session.user ?? null, views: req.session.views ?? 0, id: req.sessionID }))
  a.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))))
  const http = a.listen(0, '127.0.0.1')
  await once(http, 'listening')
  closers.push(() => new Promise((resolve) => http.close(resolve)))
  return `http://127.0.0.1:${http.address().port}`
}

async function call(base, path, cookie, method = 'GET') {
  const res = await fetch(base + path, { method, headers: cookie ? { cookie } : {} })
  assert.equal(res.status, 200, `${method} ${path}`)
  const set = res.headers.get('set-cookie')
  return { body: await res.json(), cookie: set ? set.split(';')[0] : null }
}

const sidOf = (cookie) => decodeURIComponent(cookie.split('=')[1]).slice(2).split('.')[0]

test('login → requests → logout through Express', async () => {
  const prefix = 'e1:'
  const base = await app(new RedisStore({ client: redis, prefix }))
  const login = await call(base, '/login?user=ada', null, 'POST')
  assert.deepEqual(login.body, { user: 'ada' })
  const cookie = login.cookie
  const stored = JSON.parse(await raw.get(prefix + sidOf(cookie)))
  assert.equal(stored.user, 'ada')
  assert.equal(typeof stored.cookie.expires, 'string')
  for (let i = 1; i <= 3; i++) assert.deepEqual((await call(base, '/count', cookie)).body, { user: 'ada', views: i })
  assert.ok((await raw.ttl(prefix + sidOf(cookie))) > 3500)
  await call(base, '/logout', cookie, 'POST')
  assert.equal(await raw.exists(prefix + sidOf(cookie)), 0)
  assert.deepEqual((await call(base, '/peek', cookie)).body.user, null)
})

for (const resave of [false, true]) {
  for (const rolling of [false, true]) {
    for (const saveUninitialized of [false, true]) {
      test(`resave ${resave}, rolling ${rolling}, saveUninitialized ${saveUninitialized}`, async () => {
        const prefix = `c${+resave}${+rolling}${+saveUninitialized}:`
        const base = await app(new RedisStore({ client: redis, prefix }), { resave, rolling, saveUninitialized })
        // An anonymous visit stores a session (and sets a cookie) only with saveUninitialized.
        const anonymous = await call(base, '/peek')
        assert.equal(anonymous.cookie !== null, saveUninitialized)
        assert.equal((await raw.keys(`${prefix}*`)).length, saveUninitialized ? 1 : 0)
        const { cookie } = await call(base, '/login?user=bo', anonymous.cookie, 'POST')
        assert.ok(cookie)
        const key = prefix + sidOf(cookie)
        const first = JSON.parse(await raw.get(key))
        await sleep(15)
        // An unmodified request: resave rewrites the session (new cookie.expires), otherwise
        // it is touched (TTL renewed, stored value unchanged); rolling re-sends the cookie.
        const peek = await call(base, '/peek', cookie)
        assert.equal(peek.body.user, 'bo')
        assert.equal(peek.cookie !== null, rolling)
        const second = JSON.parse(await raw.get(key))
        assert.equal(second.cookie.expires !== first.cookie.expires, resave)
        assert.ok((await raw.ttl(key)) > 3500)
        assert.equal((await raw.keys(`${prefix}*`)).length, 1) // regenerate dropped the anonymous one
      })
    }
  }
}

test('rollingTouch: an unmodified request rewrites the stored cookie without resave', async () => {
  const prefix = 'rt:'
  const base = await app(new RedisStore({ client: redis, prefix, rollingTouch: true }))
  const { cookie } = await call(base, '/login?user=cy', null, 'POST')
  const key = prefix + sidOf(cookie)
  const first = JSON.parse(await raw.get(key))
  await sleep(15)
  await call(base, '/peek', cookie)
  const second = JSON.parse(await raw.get(key))
  assert.ok(new Date(second.cookie.expires) > new Date(first.cookie.expires))
  assert.equal(second.user, 'cy')
})

test('cookie expiry: the session is gone from Redis and the user is logged out', async () => {
  const prefix = 'exp:'
  const base = await app(new RedisStore({ client: redis, prefix }), { cookie: { maxAge: 1000 } })
  const { cookie } = await call(base, '/login?user=di', null, 'POST')
  const key = prefix + sidOf(cookie)
  const ttl = await raw.ttl(key)
  assert.ok(ttl >= 0 && ttl <= 1)
  await sleep(2100)
  assert.equal(await raw.exists(key), 0)
  assert.equal((await call(base, '/peek', cookie)).body.user, null)
})

test('regenerate: a new id, the old session deleted', async () => {
  const prefix = 'rg:'
  const base = await app(new RedisStore({ client: redis, prefix }), { saveUninitialized: true })
  const anonymous = await call(base, '/count')
  const oldKey = prefix + sidOf(anonymous.cookie)
  assert.equal(await raw.exists(oldKey), 1)
  const login = await call(base, '/login?user=ed', anonymous.cookie, 'POST')
  assert.notEqual(sidOf(login.cookie), sidOf(anonymous.cookie))
  assert.equal(await raw.exists(oldKey), 0)
  assert.equal(JSON.parse(await raw.get(prefix + sidOf(login.cookie))).user, 'ed')
  // The old cookie no longer logs anyone in.
  assert.equal((await call(base, '/peek', anonymous.cookie)).body.user, null)
})

async function interop(name, theirs) {
  const prefix = `${name}:`
  const ours = await app(new RedisStore({ client: redis, prefix }))
  const old = await app(theirs(prefix))
  // Logged in on the old instance, used and changed on the new one, and back.
  const a = await call(old, '/login?user=fay', null, 'POST')
  assert.deepEqual((await call(ours, '/count', a.cookie)).body, { user: 'fay', views: 1 })
  assert.deepEqual((await call(old, '/count', a.cookie)).body, { user: 'fay', views: 2 })
  assert.deepEqual((await call(ours, '/peek', a.cookie)).body.views, 2)
  // Logged in on the new instance, seen by the old one; logout on the old one holds on the new.
  const b = await call(ours, '/login?user=gus', null, 'POST')
  assert.deepEqual((await call(old, '/count', b.cookie)).body, { user: 'gus', views: 1 })
  await call(old, '/logout', b.cookie, 'POST')
  assert.equal((await call(ours, '/peek', b.cookie)).body.user, null)
  // The stores themselves write the same bytes and TTL for the same session.
  const data = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' }, user: 'hal' }
  const store = theirs(prefix)
  await new Promise((resolve, reject) => store.set('same', data, (err) => (err ? reject(err) : resolve())))
  const theirBytes = await raw.get(`${prefix}same`)
  const theirTtl = await raw.ttl(`${prefix}same`)
  await new RedisStore({ client: redis, prefix }).set('same', data)
  assert.equal(await raw.get(`${prefix}same`), theirBytes)
  assert.equal(await raw.ttl(`${prefix}same`), theirTtl)
  // Their all() sees what we wrote, ours sees theirs.
  const theirAll = await new Promise((resolve, reject) => store.all((err, v) => (err ? reject(err) : resolve(v))))
  const ourAll = await new RedisStore({ client: redis, prefix }).all()
  assert.deepEqual(theirAll.map((s) => s.id).sort(), ourAll.map((s) => s.id).sort())
}

test('interop with connect-redis 7 on ioredis, both ways', async () => {
  const io = new IORedis(server.port, '127.0.0.1')
  closers.push(() => io.quit())
  await interop('cr7', (prefix) => new ConnectRedis7({ client: io, prefix }))
})

test('interop with connect-redis 9 on node-redis 5, both ways', async () => {
  const client = createClient({ url: server.url })
  await client.connect()
  closers.push(() => client.quit())
  await interop('cr9', (prefix) => new ConnectRedis9({ client, prefix }))
})
