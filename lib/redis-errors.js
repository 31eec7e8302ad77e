'use strict'
// Error classes with the names and shapes ioredis (via redis-errors) exposes.

class RedisError extends Error {
  get name() {
    return this.constructor.name
  }
}

/** An error reply from the server (`-ERR …`, `-WRONGTYPE …`). */
class ReplyError extends RedisError {}

/** A command that was given up on (connection closed, retries exhausted). */
class AbortError extends RedisError {}

/** ioredis's `MaxRetriesPerRequestError`: queued commands flushed every n+1 failed reconnects. */
class MaxRetriesPerRequestError extends AbortError {}

module.exports = { RedisError, ReplyError, AbortError, MaxRetriesPerRequestError }
