'use strict'
// Errors nobody listens for are logged instead of thrown, but a Redis outage produces
// them continuously (ioredis's "Unhandled error event" floods): one line per interval.
function throttledLog(label, intervalMs = 10_000) {
  let last = -Infinity
  return function log(err) {
    const now = Date.now()
    if (now - last <= intervalMs) return
    last = now
    console.error(label, err && err.stack ? err.stack : err)
  }
}

module.exports = { throttledLog }
