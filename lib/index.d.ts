export { nativeVersion } from '../index'
import CircuitBreakerClass = require('./circuit-breaker')
export { CircuitBreakerClass as CircuitBreaker }
export { Redis } from './redis'
