'use strict'
// Express middleware on a Cache: GET/HEAD JSON responses with status 200 are cached under
// a key made from the URL (or `options.key(req)`), and every answer says where it came
// from in `X-Cache-Status: HIT | MISS | STALE`. Concurrent requests for one key run the
// route once (the cache's single-flight); the others answer with its JSON.

const HEADER = 'X-Cache-Status'

/** Why a route's answer was not cached; the waiters then run the route themselves. */
class NotCacheable extends Error {
  constructor(reason) {
    super(`response not cached: ${reason}`)
    this.code = 'ERR_BULWARK_CACHE_NOT_CACHEABLE'
  }
}

function defaultKey(req) {
  return req.method === 'GET' || req.method === 'HEAD' ? `GET ${req.originalUrl ?? req.url}` : undefined
}

/**
 * @param cache the Cache
 * @param options `{ ttl, grace, key(req) → string | undefined }` (undefined: not cached)
 */
function cacheMiddleware(cache, options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('middleware options must be an object')
  const { key: keyOf = defaultKey, ttl, grace } = options
  if (typeof keyOf !== 'function') throw new TypeError(`options.key must be a function (req) => string, got ${typeof keyOf}`)
  const o = cache._options({ ttl, grace })
  return function bulwarkCache(req, res, next) {
    let key
    try {
      key = keyOf(req)
    } catch (err) {
      next(err)
      return
    }
    if (typeof key !== 'string') {
      next()
      return
    }
    const json = res.json
    const state = { status: 'MISS' }
    let ran = false
    let captured = null
    // The fill: this request's own route; its res.json is held until the cache decides.
    const factory = () =>
      new Promise((resolve, reject) => {
        ran = true
        res.json = function capture(body) {
          res.json = json
          captured = { body }
          if (res.statusCode === 200) resolve(body)
          else reject(new NotCacheable(`status ${res.statusCode}`))
          return res
        }
        // Answered without res.json (send, end, an error handler): nothing to cache.
        res.once('close', () => reject(new NotCacheable('not sent with res.json')))
        res.once('finish', () => reject(new NotCacheable('not sent with res.json')))
        next()
      })
    cache._wrap(key, factory, o, state).then(
      (value) => {
        if (res.headersSent) return
        res.json = json
        res.status(200)
        res.setHeader(HEADER, state.status)
        res.json(value)
      },
      (err) => {
        if (res.headersSent) return
        res.json = json
        if (!ran) {
          // Joined a fill that was not cacheable: this request runs the route itself.
          res.setHeader(HEADER, 'MISS')
          next()
        } else if (captured !== null) {
          res.setHeader(HEADER, 'MISS')
          res.json(captured.body)
        } else {
          next(err)
        }
      },
    )
  }
}

module.exports = { cacheMiddleware }
