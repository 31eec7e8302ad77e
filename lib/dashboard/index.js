'use strict'
// `bulwark.dashboard()`: a read-only status page and its JSON feed, as one Express (or
// plain `http`) handler to mount: `app.use('/bulwark', bulwark.dashboard())`. The page
// is one self-contained file (no CDN, no build step) polling `api/status`. Without an
// `auth` hook only loopback clients get in, so mounting it never makes it public by
// accident.
const { readFileSync } = require('node:fs')
const path = require('node:path')
const { status } = require('./status')

const PAGE = readFileSync(path.join(__dirname, 'page.html'), 'utf8')

const HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
}

function loopbackOnly(req) {
  const address = req.socket?.remoteAddress ?? ''
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1'
}

/**
 * Options: `auth(req)` → boolean or Promise<boolean> (default: loopback clients only;
 * pass `() => true` to open it, or check your own session/token); `pollIntervalMs`
 * (default 5000, at least 500).
 */
function dashboard(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const auth = options.auth ?? loopbackOnly
  if (typeof auth !== 'function') throw new TypeError('auth must be a function (req) => boolean | Promise<boolean>')
  const pollIntervalMs = options.pollIntervalMs ?? 5000
  if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 500) throw new RangeError(`pollIntervalMs must be an integer ≥ 500, got ${String(pollIntervalMs)}`)
  const page = PAGE.replace('__POLL_INTERVAL_MS__', String(pollIntervalMs))

  function send(res, code, type, body) {
    res.statusCode = code
    for (const [k, v] of Object.entries(HEADERS)) res.setHeader(k, v)
    res.setHeader('Content-Type', type)
    res.end(body)
  }

  function serve(req, res, next) {
    const [pathname] = req.url.split('?')
    if (pathname === '/' || pathname === '') {
      // Mounted at /bulwark, the page must be at /bulwark/ for its relative fetch.
      const original = (req.originalUrl ?? req.url).split('?')[0]
      if (!original.endsWith('/')) {
        res.statusCode = 308
        res.setHeader('Location', `${original}/`)
        res.end()
        return
      }
      res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'")
      send(res, 200, 'text/html; charset=utf-8', page)
    } else if (pathname === '/api/status') {
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify(status()))
    } else if (typeof next === 'function') {
      next()
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found')
    }
  }

  return function bulwarkDashboard(req, res, next) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      send(res, 405, 'text/plain; charset=utf-8', 'The bulwark dashboard is read-only')
      return
    }
    Promise.resolve()
      .then(() => auth(req))
      .then(
        (allowed) => (allowed === true ? serve(req, res, next) : send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: the bulwark dashboard needs an auth hook that accepts this request')),
        (err) => (typeof next === 'function' ? next(err) : send(res, 500, 'text/plain; charset=utf-8', 'auth failed')),
      )
  }
}

module.exports = { dashboard, status }
