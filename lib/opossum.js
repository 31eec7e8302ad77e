'use strict'
// Drop-in for the `opossum` package: `module.exports` is the CircuitBreaker class itself.
module.exports = require('./circuit-breaker')
