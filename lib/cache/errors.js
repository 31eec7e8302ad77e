'use strict'
// Errors a Cache produces itself, each with a stable `code`.

/** The factory did not settle within `timeouts.hard` (and no stale value could answer). */
function hardTimeoutError(key, ms) {
  const err = new Error(`cache factory for key ${JSON.stringify(key)} did not settle within ${ms} ms (timeouts.hard)`)
  err.code = 'ERR_BULWARK_CACHE_TIMEOUT'
  err.key = key
  return err
}

/** The soft timeout elapsed: the stale value answered while the factory keeps running. */
function softTimeoutError(key, ms) {
  const err = new Error(`cache factory for key ${JSON.stringify(key)} took longer than ${ms} ms (timeouts.soft): served stale`)
  err.code = 'ERR_BULWARK_CACHE_SOFT_TIMEOUT'
  err.key = key
  return err
}

/** A value that cannot be cached: undefined, or one the serializer rejects. */
function notCacheableError(key, message, cause) {
  const err = new TypeError(`value for cache key ${JSON.stringify(key)} ${message}`, cause === undefined ? undefined : { cause })
  err.code = 'ERR_BULWARK_CACHE_VALUE'
  err.key = key
  return err
}

module.exports = { hardTimeoutError, softTimeoutError, notCacheableError }
