'use strict'
// Drop-in for the `ioredis` package. Resolves now; the class lands with its issue.
const { notImplemented } = require('./not-implemented')

const Redis = notImplemented('Redis', 'bulwark/ioredis')
module.exports = Redis
module.exports.default = Redis
module.exports.Redis = Redis
