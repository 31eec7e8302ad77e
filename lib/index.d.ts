export { nativeVersion } from '../index'
import CircuitBreakerClass = require('./circuit-breaker')
export { CircuitBreakerClass as CircuitBreaker }
export { Redis } from './redis'
export type { RedisOptions, RedisHealth } from './redis'
import RedisBreakerStateStoreClass = require('./breaker/redis-state-store')
export { RedisBreakerStateStoreClass as RedisBreakerStateStore }
export { RedisStore as RateLimitStore } from './ratelimit/store'
export { RateLimiter, setRateLimitHeaders } from './ratelimit/limiter'
export type { RateLimiterOptions, RateLimitResult, Algorithm as RateLimitAlgorithm } from './ratelimit/limiter'
export { RedisStore as SessionStore } from './session/store'
export type { RedisStoreOptions as SessionStoreOptions, SessionData } from './session/store'
export { Cache } from './cache'
export type { CacheOptions, CacheSetOptions, CacheWrapOptions, CacheStats, CacheMiddlewareOptions, Duration as CacheDuration } from './cache'
