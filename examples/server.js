'use strict'
// The example backend that `npm run demo` starts: a minimal Express app on 127.0.0.1.
// It talks to Redis through bulwark: REDIS_URL when set, else the embedded memory engine
// (memory://), so it runs on a fresh machine with no Redis at all. With a real Redis it
// keeps answering from memory while Redis is down (see /health).
const express = require('express')
const { rateLimit } = require('express-rate-limit')
const bulwark = require('bulwark')

function createApp(redis) {
  const app = express()
  const startedAt = Date.now()
  app.get('/health', async (req, res) => {
    const redisHealth = await redis.health()
    res.json({ status: 'ok', native: bulwark.nativeVersion(), uptimeMs: Date.now() - startedAt, redis: redisHealth })
  })
  // A counter in Redis (or in memory while Redis is away), rate limited per client IP
  // with the express-rate-limit store (20 a minute; counted in the same Redis).
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: 20,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new bulwark.RateLimitStore({ client: redis, prefix: 'demo:rl:' }),
  })
  app.post('/visits', limiter, async (req, res, next) => {
    try {
      res.json({ visits: await redis.incr('demo:visits'), backend: redis.backend })
    } catch (err) {
      next(err)
    }
  })
  return app
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`)
    process.exit(1)
  }
  const redis = new bulwark.Redis(process.env.REDIS_URL || 'memory://')
  redis.on('error', (err) => console.warn(`redis: ${err.message}`))
  redis.on('fallback', (err) => console.warn(`redis down (${err.message}): answering from memory`))
  redis.on('recover', () => console.info('redis is back'))
  const server = createApp(redis).listen(port, '127.0.0.1', () => {
    console.log(`bulwark example listening on http://127.0.0.1:${server.address().port} (redis backend: ${redis.backend})`)
  })
  const shutdown = () => server.close(() => redis.quit().then(() => process.exit(0)))
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

module.exports = { createApp }
