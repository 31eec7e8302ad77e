'use strict'
// The errors the client itself raises, with ioredis's messages and classes.
const { ReplyError, AbortError, MaxRetriesPerRequestError } = require('../redis-errors')

function closedError() {
  return new Error('Connection is closed.')
}

/** Maps a native failure (`"<Kind>\t<message>"`) to the error ioredis would give. */
function failureError(text) {
  const tab = text.indexOf('\t')
  const kind = text.slice(0, tab)
  const message = text.slice(tab + 1)
  switch (kind) {
    case 'Closed':
      return closedError()
    case 'Aborted':
      return new AbortError(message)
    case 'MaxRetries':
      return new MaxRetriesPerRequestError(message)
    case 'QueueFull': {
      const err = new Error(message)
      err.code = 'ERR_BULWARK_QUEUE_FULL'
      return err
    }
    default:
      return new Error(message)
  }
}

/** A nested error from the native side (an EXEC entry) as a ReplyError. */
function toReplyError(err) {
  return err instanceof ReplyError ? err : new ReplyError(err.message)
}

module.exports = { closedError, failureError, toReplyError }
