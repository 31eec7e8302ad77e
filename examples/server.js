'use strict'
// The example backend that `npm run demo` starts: a small API of the kind bulwark's users
// run, using every part of bulwark. Two instances of it run in this process (as two pods
// would) and talk to each other over pub/sub. It uses REDIS_URL when set, else the
// embedded memory engine (memory://), so it runs on a fresh machine with no Redis at all;
// with a real Redis it keeps answering from memory while Redis is down. See README.md.
const express = require('express')
const session = require('express-session')
const { rateLimit } = require('express-rate-limit')
const bulwark = require('bulwark')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A third-party API that is slow and fails now and then (`failureRate` of the calls). */
function flakyUpstream(failureRate) {
  let n = 0
  return async function fetchQuote() {
    await sleep(10 + Math.random() * 40)
    if (Math.random() < failureRate) throw new Error('upstream answered 503')
    return { quote: `quote #${++n}`, at: new Date().toISOString() }
  }
}

/**
 * One instance of the API. `redis` is its client, `subscriber` a second connection for
 * pub/sub (a subscribed connection can run no other command).
 */
function createApp({ redis, subscriber, name, rateLimitPerMinute = 20, upstreamFailureRate = 0.3 }) {
  const app = express()
  app.use(express.json())

  // Health for load balancers and Kubernetes: 200 while Redis answers or memory stands
  // in (warn), 503 only when requests would fail.
  app.get('/health', bulwark.healthHandler())
  app.get('/metrics', (req, res) => {
    res.setHeader('Content-Type', bulwark.metrics.contentType)
    res.end(bulwark.metrics.text())
  })
  // Read-only status page; only loopback clients see it unless `auth` says otherwise.
  app.use('/bulwark', bulwark.dashboard({ pollIntervalMs: 1000 }))

  // Login sessions in Redis (in memory while Redis is down).
  app.use(
    session({
      store: new bulwark.SessionStore({ client: redis, prefix: 'demo:sess:', name: `sessions-${name}` }),
      secret: process.env.SESSION_SECRET || 'bulwark-demo-not-a-secret',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60 * 60 * 1000 },
    }),
  )
  app.post('/login', (req, res, next) => {
    const user = typeof req.body?.user === 'string' && req.body.user.length > 0 ? req.body.user.slice(0, 64) : null
    if (user === null) return res.status(400).json({ error: 'body must be {"user": "<name>"}' })
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.user = user
      res.json({ user, instance: name })
    })
  })
  app.get('/me', (req, res) => res.json({ user: req.session.user ?? null, instance: name }))
  app.post('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ user: null }))))

  // A counter, rate limited per client IP (counted in the same Redis).
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: rateLimitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new bulwark.RateLimitStore({ client: redis, prefix: 'demo:rl:', name: 'visits' }),
  })
  app.post('/api/visits', limiter, async (req, res, next) => {
    try {
      res.json({ visits: await redis.incr('demo:visits'), backend: redis.backend, instance: name })
    } catch (err) {
      next(err)
    }
  })

  // A flaky upstream behind a circuit breaker; when it fails (or the circuit is open)
  // the last good answer is served instead.
  const upstream = new bulwark.CircuitBreaker(flakyUpstream(upstreamFailureRate), {
    name: `upstream-${name}`,
    timeout: 500,
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeout: 5000,
  })
  upstream.fallback(async () => {
    const last = await redis.get('demo:last-quote')
    return last === null ? { quote: 'no quote yet', stale: true } : { ...JSON.parse(last), stale: true }
  })
  app.get('/api/quote', async (req, res, next) => {
    try {
      const quote = await upstream.fire()
      if (!quote.stale) await redis.set('demo:last-quote', JSON.stringify(quote))
      res.json({ ...quote, circuit: upstream.opened ? 'open' : upstream.halfOpen ? 'half-open' : 'closed' })
    } catch (err) {
      next(err)
    }
  })

  // A slow report, cached for 10 s in process and in Redis: `X-Cache-Status` says HIT,
  // MISS or STALE. The instances share the Redis tier and invalidate each other's.
  const reports = new bulwark.Cache({ client: redis, prefix: 'demo:cache:', name: `reports-${name}` })
  app.get('/api/report', reports.middleware({ ttl: '10s' }), async (req, res, next) => {
    try {
      await sleep(300)
      res.json({ total: await redis.get('demo:visits'), builtAt: new Date().toISOString(), by: name })
    } catch (err) {
      next(err)
    }
  })

  // Pub/sub between instances: a message posted to one is seen by every instance.
  const received = []
  subscriber.subscribe('demo:events').catch((err) => console.warn(`subscribe: ${err.message}`))
  subscriber.on('message', (channel, message) => {
    received.push(JSON.parse(message))
    if (received.length > 20) received.shift()
  })
  app.post('/api/broadcast', async (req, res, next) => {
    const text = typeof req.body?.message === 'string' ? req.body.message.slice(0, 200) : ''
    if (!text) return res.status(400).json({ error: 'body must be {"message": "<text>"}' })
    try {
      const receivers = await redis.publish('demo:events', JSON.stringify({ message: text, from: name, at: new Date().toISOString() }))
      res.json({ receivers })
    } catch (err) {
      next(err)
    }
  })
  app.get('/api/events', (req, res) => res.json({ instance: name, received }))

  app.get('/', (req, res) => {
    res.type('html').send(`<!doctype html><title>bulwark example (${name})</title><h1>bulwark example: instance ${name}</h1><ul>
${['/bulwark/', '/health', '/metrics', '/api/quote', '/api/report', '/api/events', '/me'].map((p) => `<li><a href="${p}">${p}</a></li>`).join('\n')}
</ul><p>POST /login {"user"}, /logout, /api/visits, /api/broadcast {"message"}: see examples/README.md.</p>`)
  })
  return {
    app,
    close: () => {
      upstream.shutdown()
      reports.close()
    },
  }
}

function envInteger(name, fallback, min, max) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
    process.exit(1)
  }
  return n
}

/** Starts one instance on `port`; resolves with its server and closer. */
function startInstance(name, port, options) {
  const url = process.env.REDIS_URL || 'memory://demo'
  const redis = new bulwark.Redis(url, { connectionName: `demo-${name}` })
  const subscriber = new bulwark.Redis(url, { connectionName: `demo-${name}-subscriber` })
  for (const client of [redis, subscriber]) client.on('error', () => {})
  redis.on('fallback', (err) => console.warn(`[${name}] redis down (${err.message}): answering from memory`))
  redis.on('recover', () => console.info(`[${name}] redis is back`))
  const { app, close } = createApp({ redis, subscriber, name, ...options })
  return new Promise((resolve) => {
    const server = app.listen(port, '127.0.0.1', () => {
      const stop = () =>
        new Promise((done) => {
          close()
          server.close(() => Promise.all([redis.quit(), subscriber.quit()]).then(done, done))
          server.closeAllConnections()
        })
      resolve({ redis, url: `http://127.0.0.1:${server.address().port}`, stop })
    })
  })
}

async function main() {
  const port = envInteger('PORT', 3000, 0, 65535)
  const portB = envInteger('PORT_B', port === 0 ? 0 : port + 1, 0, 65535)
  const options = {
    rateLimitPerMinute: envInteger('DEMO_RATE_LIMIT', 20, 1, 1e9),
    upstreamFailureRate: envInteger('DEMO_UPSTREAM_FAILURE_PERCENT', 30, 0, 100) / 100,
  }
  const a = await startInstance('a', port, options)
  const b = await startInstance('b', portB, options)
  console.log(
    [
      `bulwark example listening on ${a.url} (redis backend: ${a.redis.backend})`,
      `  second instance: ${b.url}`,
      `  status page:     ${a.url}/bulwark/`,
      `  health:          ${a.url}/health`,
      `  metrics:         ${a.url}/metrics`,
      '',
    ].join('\n'),
  )
  let stopping = false
  const shutdown = () => {
    if (stopping) return
    stopping = true
    Promise.all([a.stop(), b.stop()]).then(() => process.exit(0))
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

if (require.main === module) main()

module.exports = { createApp }
