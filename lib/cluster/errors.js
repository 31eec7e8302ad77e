'use strict'
// The Cluster's errors in ioredis's shapes: a node's error (`node error`, `lastNodeError`)
// and ClusterAllFailedError, emitted when no node gave the slot map.

const { RedisError, ReplyError } = require('../redis-errors')

/** ioredis's ClusterAllFailedError: `Failed to refresh slots cache.`, the last node's error attached. */
class ClusterAllFailedError extends RedisError {
  constructor(message, lastNodeError) {
    super(message)
    this.lastNodeError = lastNodeError
  }

  get name() {
    return this.constructor.name
  }
}
ClusterAllFailedError.defaultMessage = 'Failed to refresh slots cache.'

/**
 * A node's error from the core's `(code, message)`: a ReplyError when the server answered
 * it (the code is the reply's first word, `ERR …`), else an Error with Node's code
 * (`connect ECONNREFUSED …`).
 */
function nodeError(code, message) {
  if (code && (message === code || message.startsWith(`${code} `))) return new ReplyError(message)
  const err = new Error(message)
  if (code) err.code = code
  return err
}

module.exports = { ClusterAllFailedError, nodeError }
