'use strict'
// connect-redis's TTL rule, in seconds: a `ttl` function wins (even over the cookie); else
// the cookie's `expires` (ceil of what is left, ≤ 0 once it passed); else the number.
function sessionTtl(ttl, sess) {
  if (typeof ttl === 'function') {
    const seconds = ttl(sess)
    if (typeof seconds !== 'number' || Number.isNaN(seconds)) {
      throw new TypeError(`ttl(session) must return a number of seconds, got ${seconds === null ? 'null' : typeof seconds}`)
    }
    // Redis's EX takes whole seconds; connect-redis would send a fraction and get an error.
    return Math.ceil(seconds)
  }
  const expires = sess.cookie?.expires
  if (expires) return Math.ceil((Number(new Date(expires)) - Date.now()) / 1000)
  return ttl
}

/** The `ttl` option: a function, or seconds (`||` 86400, as connect-redis). */
function checkTtlOption(ttl) {
  if (typeof ttl === 'function') return ttl
  if (ttl === undefined || ttl === null || ttl === 0) return 86400
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0) {
    throw new TypeError(`ttl must be a positive integer number of seconds or a function, got ${typeof ttl === 'number' ? ttl : typeof ttl}`)
  }
  return ttl
}

module.exports = { sessionTtl, checkTtlOption }
