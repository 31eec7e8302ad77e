'use strict'
// The error classes of the `redis-errors` package, which ioredis re-exports: user code
// checks `err instanceof ReplyError` against that package's class, so these are the same
// objects, not look-alikes.
const { RedisError, ReplyError, AbortError, ParserError, InterruptError } = require('redis-errors')

/** ioredis's `MaxRetriesPerRequestError`: queued commands flushed every n+1 failed reconnects. */
class MaxRetriesPerRequestError extends AbortError {
  get name() {
    return this.constructor.name
  }
}

module.exports = { RedisError, ReplyError, AbortError, ParserError, InterruptError, MaxRetriesPerRequestError }
