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
import * as metricsModule from './metrics'
/** Prometheus metrics: `text()` and `register(promRegistry)`. */
export declare const metrics: { text: typeof metricsModule.text; register: typeof metricsModule.register; contentType: string }
export { health, healthHandler } from './health'
export type { HealthReport, HealthCheck, HealthStatus } from './health'
export { dashboard } from './dashboard'
export type { DashboardOptions } from './dashboard'
import * as registryModule from './registry'
/** Where components (caches, session stores, your own) register to be reported. */
export declare const registry: { add: typeof registryModule.add; remove: typeof registryModule.remove }
export type { RegistryEntry, ComponentKind } from './registry'
export { Cache } from './cache'
export type { CacheOptions, CacheSetOptions, CacheWrapOptions, CacheStats, CacheMiddlewareOptions, Duration as CacheDuration } from './cache'
