// Redis killed (-9) or hung (SIGSTOP) under 64 logged-in users of a real Express app: no
// failed request, nobody logged out, logouts hold; after recovery Redis has every session
// as the outage left it. Redis runs with an append-only file here so that what it had
// before the kill is back after the restart, as on a production server with persistence.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const express = require('express')
const session = require('express-session')
const { Redis } = require('../lib/index.js')
const RedisStore = require('../lib/connect-redis.js')

const cleanups = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function persistentRedis() {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-sessions-'))
  const server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] })
  cleanups.push(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return server
}

function client(...args) {
  const c = new Redis(...args)
  c.on('error', () => {})
  cleanups.push(() => c.disconnect())
  return c
}

async function app(store) {
  const a = express()
  a.use(session({ store, secret: 's', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }))
  a.post('/login', (req, res) => {
    req.session.user = req.query.user
    res.json({ user: req.session.user })
  })
  a.get('/count', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    res.json({ user: req.session.user ?? null, views: req.session.views })
  })
  a.get('/peek', (req, res) => res.json({ user: req.session.user ?? null, views: req.session.views ?? 0 }))
  a.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))))
  const http = a.listen(0, '127.0.0.1')
  await once(http, 'listening')
  cleanups.push(() => new Promise((resolve) => http.close(resolve)))
  return `http://127.0.0.1:${http.address().port}`
}

async function request(base, urlPath, cookie, method = 'GET') {
  const res = await fetch(base + urlPath, { method, headers: cookie ? { cookie } : {} })
  const body = res.status === 200 ? await res.json() : await res.text()
  return { status: res.status, body, cookie: res.headers.get('set-cookie')?.split(';')[0] ?? null }
}

const sidOf = (cookie) => decodeURIComponent(cookie.split('=')[1]).slice(2).split('.')[0]

/** 64 users, each logged in and counting views in a loop until stopped. */
async function loggedInUsers(base, n = 64) {
  const users = []
  for (let i = 0; i < n; i++) {
    const login = await request(base, `/login?user=u${i}`, null, 'POST')
    assert.equal(login.status, 200)
    users.push({ name: `u${i}`, cookie: login.cookie, views: 0, active: true })
  }
  const failures = []
  let running = true
  const loops = users.map(async (user) => {
    while (running && user.active) {
      const res = await request(base, '/count', user.cookie).catch((err) => ({ status: 0, body: err.message }))
      if (res.status !== 200 || res.body.user !== user.name || res.body.views !== user.views + 1) {
        failures.push({ user: user.name, status: res.status, body: res.body, expected: user.views + 1 })
        return
      }
      user.views++
    }
  })
  return {
    users,
    failures,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

/** The next `name` event (events.once would reject on the client's connection errors). */
function event(emitter, name) {
  return new Promise((resolve) => emitter.once(name, resolve))
}

async function waitFor(condition, what, ms = 20_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

for (const outage of ['kill -9', 'SIGSTOP']) {
  test(`${outage} of Redis under 64 logged-in users: zero failed requests, nobody logged out, then recovery`, async () => {
    const server = await persistentRedis()
    const redis = client(server.url)
    const store = new RedisStore({ client: redis })
    const base = await app(store)
    const traffic = await loggedInUsers(base)
    await waitFor(() => traffic.users.every((u) => u.views >= 2), 'traffic on Redis')
    const fellBack = event(redis, 'fallback')
    if (outage === 'kill -9') await server.kill()
    else server.pause()
    await fellBack
    assert.equal(redis.backend, 'memory')
    // During the outage: every user keeps counting; one logs out; one logs in.
    const before = traffic.users.map((u) => u.views)
    await waitFor(() => traffic.users.every((u, i) => u.views >= before[i] + 2), 'traffic on memory')
    const leaver = traffic.users[0]
    leaver.active = false
    await sleep(50)
    assert.equal((await request(base, '/logout', leaver.cookie, 'POST')).status, 200)
    assert.equal((await request(base, '/peek', leaver.cookie)).body.user, null)
    const newcomer = await request(base, '/login?user=late', null, 'POST')
    assert.equal((await request(base, '/peek', newcomer.cookie)).body.user, 'late')
    // Recovery: the outage's sessions are written back before calls go to Redis again.
    const recovered = event(redis, 'recover')
    if (outage === 'kill -9') await server.restart()
    else server.resume()
    await recovered
    const after = traffic.users.map((u) => u.views)
    await waitFor(() => traffic.users.every((u, i) => !u.active || u.views >= after[i] + 2), 'traffic on Redis again')
    await traffic.stop()
    assert.deepEqual(traffic.failures, [])
    const direct = client(server.url, { fallback: false })
    for (const user of traffic.users.slice(1)) {
      const stored = JSON.parse(await direct.get(`sess:${sidOf(user.cookie)}`))
      assert.equal(stored.user, user.name)
      assert.equal(stored.views, user.views)
      assert.ok((await direct.ttl(`sess:${sidOf(user.cookie)}`)) > 3500)
    }
    assert.equal(await direct.exists(`sess:${sidOf(leaver.cookie)}`), 0, 'logged out during the outage stays logged out')
    assert.equal(JSON.parse(await direct.get(`sess:${sidOf(newcomer.cookie)}`)).user, 'late')
    assert.equal((await request(base, '/peek', newcomer.cookie)).body.user, 'late')
  })
}

test('a session destroyed during an outage without being read first is deleted on Redis after recovery', async () => {
  const server = await persistentRedis()
  const redis = client(server.url)
  const store = new RedisStore({ client: redis })
  await store.set('quiet', { cookie: { expires: new Date(Date.now() + 60_000).toISOString() }, user: 'q' })
  await server.kill()
  await store.get('other') // the outage is declared on this call
  assert.equal(redis.backend, 'memory')
  await store.destroy('quiet')
  const recovered = event(redis, 'recover')
  await server.restart()
  await recovered
  assert.equal(await store.get('quiet'), null)
})

test("recovery: 'discard': logins of the outage are dropped, logouts of the outage undone (as documented)", async () => {
  const server = await persistentRedis()
  const redis = client(server.url, { recovery: 'discard' })
  const store = new RedisStore({ client: redis })
  const base = await app(store)
  const stays = await request(base, '/login?user=before', null, 'POST')
  const leaves = await request(base, '/login?user=leaver', null, 'POST')
  await server.kill()
  assert.equal((await request(base, '/peek', stays.cookie)).body.user, 'before')
  assert.equal(redis.backend, 'memory')
  const during = await request(base, '/login?user=during', null, 'POST')
  await request(base, '/logout', leaves.cookie, 'POST')
  const recovered = event(redis, 'recover')
  await server.restart()
  await recovered
  assert.equal((await request(base, '/peek', stays.cookie)).body.user, 'before')
  assert.equal((await request(base, '/peek', during.cookie)).body.user, null)
  assert.equal((await request(base, '/peek', leaves.cookie)).body.user, 'leaver')
})
