'use strict'
// Node-style callbacks on a promise, as ioredis attaches them (standard-as-callback): the
// callback runs after settlement, an exception it throws is rethrown on a timer (an
// uncaught exception, never an unhandled rejection), and the promise itself counts as
// handled once a callback is attached.

function throwLater(err) {
  setTimeout(() => {
    throw err
  }, 0)
}

/** Attaches `callback(err, value)` to `promise` when it is a function; returns `promise`. */
function asCallback(promise, callback) {
  if (typeof callback !== 'function') return promise
  promise.then(
    (value) => {
      try {
        if (value === undefined) callback(null)
        else callback(null, value)
      } catch (err) {
        throwLater(err)
      }
    },
    (cause) => {
      let err = cause
      if (!err) {
        err = new Error(String(cause))
        err.cause = cause
      }
      try {
        callback(err)
      } catch (thrown) {
        throwLater(thrown)
      }
    },
  )
  return promise
}

module.exports = { asCallback }
