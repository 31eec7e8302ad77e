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
