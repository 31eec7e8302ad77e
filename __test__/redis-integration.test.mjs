// Real consumers of an ioredis client, fed bulwark's Redis instead: express-rate-limit 8
// with rate-limit-redis 6, and express-session with connect-redis 7.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import express from 'express'
import session from 'express-session'
import { rateLimit } from 'express-rate-limit'
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis'
import ConnectRedisStore from 'connect-redis'
import { createRequire } from 'node:module'
import { startRedis } from './helpers/redis-server.mjs'

const Redis = createRequire(import.meta.url)('../lib/ioredis.js')

let server
let client
before(async () => {
  server = await startRedis()
  client = new Redis(server.port, '127.0.0.1')
})
after(async () => {
  await client.quit()
  await server.stop()
})

async function listen(app) {
  const http = app.listen(0, '127.0.0.1')
  await once(http, 'listening')
  return { http, base: `http://127.0.0.1:${http.address().port}` }
}

test('express-rate-limit + rate-limit-redis via sendCommand: client.call(...)', async () => {
  const app = express()
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: 3,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      store: new RateLimitRedisStore({ sendCommand: (...args) => client.call(...args), prefix: 'rl:' }),
    }),
  )
  app.get('/', (req, res) => res.send('ok'))
  const { http, base } = await listen(app)
  try {
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(base)).status)
    assert.deepEqual(statuses, [200, 200, 200, 429, 429])
    const keys = await client.keys('rl:*')
    assert.equal(keys.length, 1)
    assert.equal(await client.get(keys[0]), '5')
  } finally {
    http.close()
  }
})

test('express-session + connect-redis 7 with the bulwark client', async () => {
  const app = express()
  app.use(
    session({
      store: new ConnectRedisStore({ client, prefix: 'sess:' }),
      secret: 'test-secret',
      resave: false,
      saveUninitialized: false,
    }),
  )
  app.get('/visit', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    res.json({ views: req.session.views })
  })
  app.get('/logout', (req, res) => req.session.destroy(() => res.send('bye')))
  const { http, base } = await listen(app)
  try {
    const first = await fetch(`${base}/visit`)
    assert.deepEqual(await first.json(), { views: 1 })
    const cookie = first.headers.get('set-cookie').split(';')[0]
    const second = await fetch(`${base}/visit`, { headers: { cookie } })
    assert.deepEqual(await second.json(), { views: 2 })
    const keys = await client.keys('sess:*')
    assert.equal(keys.length, 1)
    assert.ok((await client.ttl(keys[0])) > 0)
    assert.equal(JSON.parse(await client.get(keys[0])).views, 2)
    const store = new ConnectRedisStore({ client, prefix: 'sess:' })
    const all = await new Promise((resolve, reject) => store.all((err, v) => (err ? reject(err) : resolve(v))))
    assert.equal(all.length, 1)
    await fetch(`${base}/logout`, { headers: { cookie } })
    assert.deepEqual(await client.keys('sess:*'), [])
  } finally {
    http.close()
  }
})
