'use strict'
// Drop-in for the `rate-limit-redis` package. Resolves now; the class lands with its issue.
const { notImplemented } = require('./not-implemented')

const RedisStore = notImplemented('RedisStore', 'bulwark/rate-limit-redis')
module.exports = RedisStore
module.exports.default = RedisStore
module.exports.RedisStore = RedisStore
