export { nativeVersion } from '../index'
export { CircuitBreaker } from './circuit-breaker'
