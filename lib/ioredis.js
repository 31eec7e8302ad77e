'use strict'
// Drop-in for the `ioredis` package: `module.exports = Redis` plus named exports.
const { Redis, Pipeline, ScanStream } = require('./redis')
const { Command } = require('./redis-command')
const { ReplyError, AbortError, RedisError, MaxRetriesPerRequestError } = require('./redis-errors')
const { Cluster } = require('./cluster')

Redis.Cluster = Cluster

module.exports = Redis
module.exports.default = Redis
module.exports.Redis = Redis
module.exports.Command = Command
module.exports.Cluster = Cluster
module.exports.Pipeline = Pipeline
module.exports.ScanStream = ScanStream
module.exports.ReplyError = ReplyError
module.exports.AbortError = AbortError
module.exports.RedisError = RedisError
module.exports.MaxRetriesPerRequestError = MaxRetriesPerRequestError
/** ioredis's `print`: a callback that logs `Reply: …` or the error. */
module.exports.print = function print(err, reply) {
  if (err) console.log('Error: ' + err)
  else console.log('Reply: ' + reply)
}
