'use strict'
// Drop-in for the `rate-limit-redis` package: `new RedisStore({ sendCommand })`.
const { RedisStore } = require('./ratelimit/store')

module.exports = RedisStore
module.exports.default = RedisStore
module.exports.RedisStore = RedisStore
