'use strict'
// The status page's data: one synchronous JSON snapshot of every registered component,
// read from the same sources as the metrics (lib/metrics.js).
const { hostname } = require('node:os')
const registry = require('../registry')
const { cacheReads } = require('../metrics')

function clientStatus(entry, now) {
  const client = entry.component
  const link = entry.link(client)
  const h = link === null ? null : link.health()
  let commands = 0
  let errors = 0
  let seconds = 0
  let timed = 0
  const byBackend = { redis: 0, memory: 0 }
  for (const s of entry.commands === null ? [] : entry.commands.snapshot()) {
    commands += s.count
    errors += s.errors
    seconds += s.sumSeconds
    timed += s.buckets[s.buckets.length - 1]
    byBackend[s.backend] += s.count
  }
  const memoryMs = entry.memoryMs + (entry.memorySince === null ? 0 : now - entry.memorySince)
  return {
    name: entry.name,
    backend: client.backend,
    status: client.status,
    memoryOnly: client.options.memoryOnly === true,
    since: h ? h.since : null,
    lastError: h ? (h.lastError ?? null) : null,
    fallbacks: h ? h.fallbacks : 0,
    recoveries: h ? h.recoveries : 0,
    replayedKeys: h ? h.replayedKeys : 0,
    discardedKeys: h ? h.discardedKeys : 0,
    memoryKeys: h ? h.memoryKeys : 0,
    memoryBytes: h ? h.memoryBytes : 0,
    pending: link === null ? 0 : link.pending(),
    memorySeconds: memoryMs / 1000,
    commands,
    errors,
    /** Latency total of the timed sample of commands (one in 32). */
    commandSeconds: seconds,
    timedCommands: timed,
    commandsByBackend: byBackend,
  }
}

function breakerStatus(entry) {
  const b = entry.component
  const s = b.stats
  return {
    name: entry.name,
    state: b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed',
    enabled: b.enabled,
    rolling: { fires: s.fires, successes: s.successes, failures: s.failures, timeouts: s.timeouts, rejects: s.rejects, fallbacks: s.fallbacks },
    latency: { mean: s.latencyMean, p50: s.percentiles[0.5], p90: s.percentiles[0.9], p99: s.percentiles[0.99], p995: s.percentiles[0.995] },
    options: { timeout: b.options.timeout, errorThresholdPercentage: b.options.errorThresholdPercentage, resetTimeout: b.options.resetTimeout },
  }
}

/** Two-level counts of an entry as `{ first: { second: n } }`. */
function counts(entry) {
  const out = {}
  for (const [a, inner] of entry.counts) out[a] = Object.fromEntries(inner)
  return out
}

/** A cache's reads as `{ result: { tier: n } }`. */
function cacheRequests(entry) {
  const out = {}
  for (const [result, tier, n] of cacheReads(entry)) (out[result] ??= {})[tier] = n
  return out
}

/** Everything the status page shows, as of now. */
function status() {
  const now = Date.now()
  return {
    at: now,
    host: hostname(),
    pid: process.pid,
    clients: registry
      .list('client')
      .filter((e) => !(e.component.status === 'end' && e.component._manuallyClosing))
      .map((e) => clientStatus(e, now)),
    breakers: registry
      .list('breaker')
      .filter((e) => !e.component.isShutdown)
      .map(breakerStatus),
    limiters: registry.list('limiter').map((e) => ({ name: e.name, decisions: counts(e) })),
    caches: registry.list('cache').map((e) => ({ name: e.name, requests: cacheRequests(e) })),
    sessions: registry.list('session').map((e) => ({ name: e.name, operations: counts(e) })),
  }
}

module.exports = { status }
