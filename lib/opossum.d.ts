// `bulwark/opossum`: the CircuitBreaker class itself, like `require('opossum')`.
import CircuitBreaker = require('./circuit-breaker')
export = CircuitBreaker
