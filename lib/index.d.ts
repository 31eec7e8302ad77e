export { nativeVersion } from '../index'
import CircuitBreakerClass = require('./circuit-breaker')
export { CircuitBreakerClass as CircuitBreaker }
export { Redis } from './redis'
export type { RedisOptions, RedisHealth } from './redis'
import RedisBreakerStateStoreClass = require('./breaker/redis-state-store')
export { RedisBreakerStateStoreClass as RedisBreakerStateStore }
