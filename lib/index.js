'use strict'
// Main entry: `require('bulwark')` / `import … from 'bulwark'`.
const native = require('./native')

/** Version of the loaded native core; proves the platform binary is present. */
exports.nativeVersion = native.nativeVersion
/** opossum-compatible circuit breaker (also `bulwark/opossum`). */
exports.CircuitBreaker = require('./circuit-breaker')
/** ioredis-compatible Redis client (also `bulwark/ioredis`). */
exports.Redis = require('./redis').Redis
/** Shares CircuitBreaker open/close transitions across processes through a Redis client. */
exports.RedisBreakerStateStore = require('./breaker/redis-state-store')
/** express-rate-limit store (rate-limit-redis compatible; also `bulwark/rate-limit-redis`). */
exports.RateLimitStore = require('./ratelimit/store').RedisStore
/** Standalone limiter (fixed window, sliding window, token bucket) and its header helper. */
exports.RateLimiter = require('./ratelimit/limiter').RateLimiter
exports.setRateLimitHeaders = require('./ratelimit/limiter').setRateLimitHeaders
/** express-session store (connect-redis compatible; also `bulwark/connect-redis`). */
exports.SessionStore = require('./session/store').RedisStore
/** Two-tier cache-aside (L1 in process, L2 Redis) with stampede protection and invalidation. */
exports.Cache = require('./cache/cache').Cache
/** Prometheus metrics of every client, breaker, limiter, cache and session store. */
const { text, register, contentType } = require('./metrics')
exports.metrics = { text, register, contentType }
/** Health of every component (application/health+json) and an Express handler serving it. */
exports.health = require('./health').health
exports.healthHandler = require('./health').healthHandler
/** The read-only status page: `app.use('/bulwark', bulwark.dashboard({ auth }))`. */
exports.dashboard = require('./dashboard').dashboard
/** Where components register to be reported: `registry.add(kind, component, name)`. */
const { add, remove } = require('./registry')
exports.registry = { add, remove }
