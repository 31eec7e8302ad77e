'use strict'
// Health of every registered component in the `application/health+json` shape
// (draft-inadarei-api-health-check-06): `status` pass | warn | fail and per-component
// `checks`. A Redis outage answered from memory is `warn` (the service still works);
// `fail` means requests will fail: a client that neither reaches Redis nor answers
// from memory.
const { hostname } = require('node:os')
const registry = require('./registry')

const RANK = { pass: 0, warn: 1, fail: 2 }

function worst(statuses) {
  let out = 'pass'
  for (const s of statuses) if (RANK[s] > RANK[out]) out = s
  return out
}

/** The check of one client: its backend and a PING round trip (client.health()). */
async function clientChecks(entry, requireRedis) {
  const client = entry.component
  // A client the application quit is no longer part of the service.
  if (client === undefined || (client.status === 'end' && client._manuallyClosing)) return []
  const time = new Date().toISOString()
  const h = await client.health()
  const memoryOnly = client.options.memoryOnly === true
  let status
  if (h.latencyMs === null) status = 'fail'
  else if (memoryOnly || h.connected) status = 'pass'
  else status = requireRedis ? 'fail' : 'warn'
  const base = { componentId: entry.name, componentType: 'datastore', status, time }
  const output = status === 'pass' ? undefined : h.lastError ? `answering from ${h.backend}: ${h.lastError}` : `answering from ${h.backend}`
  return [
    ['redis:connections', { ...base, observedValue: h.backend, ...(output ? { output } : {}) }],
    ['redis:responseTime', { ...base, observedValue: h.latencyMs, observedUnit: 'ms' }],
  ]
}

function breakerCheck(entry) {
  const breaker = entry.component
  if (breaker.isShutdown) return []
  // An open circuit answers with its fallback (or fails fast): the service is degraded.
  const state = breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed'
  return [['circuit:state', { componentId: entry.name, componentType: 'component', observedValue: state, status: state === 'closed' ? 'pass' : 'warn', time: new Date().toISOString() }]]
}

/** A limiter deciding in memory because Redis is away is `warn`; one built on memory (`memory: true`, a memory:// client) is `pass`. */
function limiterCheck(entry) {
  const path = entry.component.redis
  const onMemory = path === null || path === undefined || path.client?.options?.memoryOnly === true
  const down = !onMemory && (path.down || path.clientInMemory)
  const observedValue = onMemory || down ? 'memory' : 'redis'
  return [['ratelimit:backend', { componentId: entry.name, componentType: 'component', observedValue, status: down ? 'warn' : 'pass', time: new Date().toISOString() }]]
}

/**
 * A registered component of another kind (cache, session store): its own `health()`
 * when it has one (`{ status, observedValue?, output? }`), else pass.
 */
async function componentCheck(kind, entry) {
  const component = entry.component
  let own = {}
  if (typeof component.health === 'function') own = (await component.health()) ?? {}
  const status = RANK[own.status] === undefined ? 'pass' : own.status
  const check = { componentId: entry.name, componentType: 'component', status, time: new Date().toISOString() }
  if (own.observedValue !== undefined) check.observedValue = own.observedValue
  if (own.output !== undefined) check.output = String(own.output)
  return [[`${kind}:status`, check]]
}

/**
 * The health of every registered client, breaker, limiter, cache and session store.
 * `options.requireRedis`: a client answering from memory is `fail`, not `warn`.
 * Never rejects: a check that throws is reported as `fail`.
 */
async function health(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const requireRedis = options.requireRedis === true
  const pending = [
    ...registry.list('client').map((e) => clientChecks(e, requireRedis)),
    ...registry.list('breaker').map((e) => breakerCheck(e)),
    ...registry.list('limiter').map((e) => limiterCheck(e)),
    ...registry.list('cache').map((e) => componentCheck('cache', e)),
    ...registry.list('session').map((e) => componentCheck('session', e)),
  ].map((p, i) =>
    Promise.resolve(p).catch((err) => [['component:status', { componentId: String(i), status: 'fail', output: String(err?.message ?? err), time: new Date().toISOString() }]]),
  )
  const checks = {}
  for (const list of await Promise.all(pending)) {
    for (const [key, check] of list) (checks[key] ??= []).push(check)
  }
  const status = worst(Object.values(checks).flatMap((list) => list.map((c) => c.status)))
  const out = { status, serviceId: `${hostname()}:${process.pid}`, checks }
  if (status !== 'pass') {
    out.output = Object.values(checks)
      .flat()
      .filter((c) => c.status !== 'pass')
      .map((c) => `${c.componentId}: ${c.output ?? c.observedValue}`)
      .join('; ')
  }
  return out
}

/**
 * An Express (or plain `http`) handler answering `health()`: 200 for pass and warn,
 * 503 for fail, as `application/health+json`, never cached. `options.readiness`:
 * `{ requireRedis: true }` makes a Redis outage a 503 (default: 200 `warn`, because
 * bulwark keeps serving from memory).
 */
function healthHandler(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const readiness = options.readiness ?? {}
  if (readiness === null || typeof readiness !== 'object') throw new TypeError('readiness must be an object like { requireRedis: true }')
  const requireRedis = readiness.requireRedis === true
  return function bulwarkHealth(req, res) {
    health({ requireRedis }).then((body) => {
      res.statusCode = body.status === 'fail' ? 503 : 200
      res.setHeader('Content-Type', 'application/health+json')
      res.setHeader('Cache-Control', 'no-store')
      res.end(JSON.stringify(body))
    }, (err) => {
      res.statusCode = 503
      res.setHeader('Content-Type', 'application/health+json')
      res.end(JSON.stringify({ status: 'fail', output: String(err?.message ?? err) }))
    })
  }
}

module.exports = { health, healthHandler }
