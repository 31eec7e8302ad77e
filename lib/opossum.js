'use strict'
// Drop-in for the `opossum` package. Resolves now; the class lands with its issue.
const { notImplemented } = require('./not-implemented')

const CircuitBreaker = notImplemented('CircuitBreaker', 'bulwark/opossum')
module.exports = CircuitBreaker
module.exports.default = CircuitBreaker
module.exports.CircuitBreaker = CircuitBreaker
