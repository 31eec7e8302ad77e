'use strict'
// Prometheus metrics of every registered component (lib/registry.js), read at scrape
// time: `text()` renders the exposition format without any dependency;
// `register(registry)` adds the same families to a prom-client Registry (prom-client is
// an optional peer; nothing here requires it). Command counts and latencies come from
// the Rust core (one native snapshot per client per scrape); breaker, limiter, cache and
// session counts are plain numbers kept on their registry entries.
const native = require('./native')
const registry = require('./registry')

/** Redis command latency buckets (seconds), from the core. */
const COMMAND_BUCKETS = native.commandLatencyBuckets()
/** Breaker call latency buckets (seconds): prom-client's defaults. */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Breaker events counted (opossum's event names, as opossum-prometheus labels them). */
const BREAKER_EVENTS = ['fire', 'success', 'failure', 'timeout', 'reject', 'fallback', 'open', 'close', 'halfOpen', 'semaphoreLocked']
const COUNTED_EVENTS = new Set(BREAKER_EVENTS)

/**
 * Starts observing a Redis client: registers it and returns its entry, which holds the
 * native command metrics (`null` with `metrics: false`) and the time spent on memory.
 * `link(client)` returns the client's current native connection (or null); it must not
 * close over the client, which the registry holds only weakly.
 */
function observeClient(client, link) {
  const o = client.options
  if (o.metrics !== undefined && typeof o.metrics !== 'boolean') throw new TypeError(`options.metrics must be a boolean, got ${typeof o.metrics}`)
  const name = o.connectionName || (o.memoryOnly ? `memory://${o.host}` : o.path ? `unix:${o.path}` : `${o.host}:${o.port}/${o.db}`)
  const entry = registry.add('client', client, name)
  entry.commands = o.metrics === false ? null : new native.CommandMetrics()
  entry.link = link
  entry.memoryMs = 0
  entry.memorySince = null
  client.on('fallback', () => {
    entry.memorySince = Date.now()
  })
  client.on('recover', () => {
    if (entry.memorySince !== null) entry.memoryMs += Date.now() - entry.memorySince
    entry.memorySince = null
  })
  return entry
}

/** A histogram kept in JS: cumulative counts are built at scrape time. */
class Histogram {
  constructor(bounds) {
    this.bounds = bounds
    this.counts = new Array(bounds.length + 1).fill(0)
    this.sum = 0
  }

  observe(seconds) {
    let i = 0
    while (i < this.bounds.length && seconds > this.bounds[i]) i++
    this.counts[i]++
    this.sum += seconds
  }

  cumulative() {
    let total = 0
    return this.counts.map((n) => (total += n))
  }
}

/** The histogram of a breaker that has not completed a call of that outcome yet. */
const EMPTY_CALLS = new Histogram(CALL_BUCKETS)

/**
 * Starts observing a CircuitBreaker: registers it and returns its entry, whose
 * `event(name, latencyMs)` the breaker calls for every event it emits (no listener, so
 * `listenerCount()` stays the user's). Latency is the `success`/`failure` argument, in ms.
 */
function observeBreaker(breaker) {
  const entry = registry.add('breaker', breaker, breaker.name)
  // Made on first use: an idle breaker stays small.
  entry.durations = { success: null, failure: null }
  entry.event = (name, latencyMs) => {
    if (!COUNTED_EVENTS.has(name)) {
      if (name === 'shutdown') registry.remove(entry)
      return
    }
    entry.count(name)
    if ((name === 'success' || name === 'failure') && typeof latencyMs === 'number') {
      entry.durations[name] ??= new Histogram(CALL_BUCKETS)
      entry.durations[name].observe(latencyMs / 1000)
    }
  }
  return entry
}

/** Counts a RateLimiter decision (consume(), not get(): cost 0) on `entry`; returns `result`. */
function countDecision(entry, cost, result, backend) {
  if (cost > 0) entry.count(result.allowed ? 'allowed' : 'limited', backend)
  return result
}

/**
 * Counts an express-rate-limit store hit on `entry` as the decision express-rate-limit
 * takes with `limit` (unknown for a function limit: then not counted); returns `result`.
 */
function countHits(entry, limit, result, backend) {
  if (limit !== undefined) entry.count(result.totalHits <= limit ? 'allowed' : 'limited', backend)
  return result
}

function breakerState(breaker) {
  if (breaker.opened) return 'open'
  if (breaker.halfOpen) return 'half_open'
  return 'closed'
}

// One family in prom-client's `get()` shape: { name, help, type, values: [{ labels,
// value, metricName? }] }.
function family(name, type, help, values = []) {
  return { name, help, type, values, aggregator: 'sum' }
}

function histogramValues(values, name, labels, bounds, cumulative, sum) {
  for (let i = 0; i < bounds.length; i++) values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bounds[i] }, value: cumulative[i] })
  const count = cumulative[bounds.length]
  values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count })
  values.push({ metricName: `${name}_sum`, labels, value: sum })
  values.push({ metricName: `${name}_count`, labels, value: count })
}

function clientFamilies(prefix) {
  const commands = family(`${prefix}redis_commands_total`, 'counter', 'Redis commands completed, by client, command and the backend that answered (redis or memory).')
  const errors = family(`${prefix}redis_command_errors_total`, 'counter', 'Redis commands that ended in an error reply or a client-side failure.')
  const duration = family(`${prefix}redis_command_duration_seconds`, 'histogram', 'Redis command latency from submission to reply, in seconds.')
  const pending = family(`${prefix}redis_commands_pending`, 'gauge', 'Redis commands queued or in flight on the connection.')
  const state = family(`${prefix}backend_state`, 'gauge', 'Where the client answers now: 1 for the current backend (redis or memory), 0 for the other.')
  const since = family(`${prefix}backend_state_change_timestamp_seconds`, 'gauge', 'Unix time when the current backend took over.')
  const failovers = family(`${prefix}backend_failovers_total`, 'counter', 'Redis outages declared: commands answered from memory from then on.')
  const recoveries = family(`${prefix}backend_recoveries_total`, 'counter', 'Returns from memory to Redis.')
  const memoryTime = family(`${prefix}backend_memory_seconds_total`, 'counter', 'Time spent answering from memory during Redis outages, in seconds.')
  const replay = family(`${prefix}replay_keys_total`, 'counter', 'Keys written during outages that recoveries wrote back to Redis (replayed) or dropped (discarded).')
  const keys = family(`${prefix}memory_engine_keys`, 'gauge', 'Keys held by the memory engine the client shares.')
  const bytes = family(`${prefix}memory_engine_bytes`, 'gauge', 'Approximate bytes held by the memory engine the client shares.')
  const now = Date.now()
  for (const entry of registry.list('client')) {
    const client = { client: entry.name }
    if (entry.commands !== null) {
      for (const s of entry.commands.snapshot()) {
        const labels = { client: entry.name, command: s.command, backend: s.backend }
        commands.values.push({ labels, value: s.count })
        errors.values.push({ labels, value: s.errors })
        histogramValues(duration.values, duration.name, labels, COMMAND_BUCKETS, s.buckets, s.sumSeconds)
      }
    }
    const link = entry.link(entry.component)
    const h = link === null ? null : link.health()
    pending.values.push({ labels: client, value: link === null ? 0 : link.pending() })
    const backend = entry.component?.backend ?? 'redis'
    for (const b of ['redis', 'memory']) state.values.push({ labels: { ...client, state: b }, value: b === backend ? 1 : 0 })
    const memoryMs = entry.memoryMs + (entry.memorySince === null ? 0 : now - entry.memorySince)
    memoryTime.values.push({ labels: client, value: memoryMs / 1000 })
    if (h !== null) {
      since.values.push({ labels: client, value: h.since / 1000 })
      failovers.values.push({ labels: client, value: h.fallbacks })
      recoveries.values.push({ labels: client, value: h.recoveries })
      replay.values.push({ labels: { ...client, outcome: 'replayed' }, value: h.replayedKeys })
      replay.values.push({ labels: { ...client, outcome: 'discarded' }, value: h.discardedKeys })
      keys.values.push({ labels: client, value: h.memoryKeys })
      bytes.values.push({ labels: client, value: h.memoryBytes })
    }
  }
  return [commands, errors, duration, pending, state, since, failovers, recoveries, memoryTime, replay, keys, bytes]
}

function breakerFamilies(prefix) {
  const state = family(`${prefix}circuit_state`, 'gauge', 'Circuit breaker state: 1 for the current one (closed, open, half_open).')
  const events = family(`${prefix}circuit_events_total`, 'counter', "Circuit breaker events by opossum's event name (fire, success, failure, timeout, reject, fallback, open, close, halfOpen, semaphoreLocked).")
  const duration = family(`${prefix}circuit_call_duration_seconds`, 'histogram', 'Circuit breaker call latency by outcome (success, failure), in seconds.')
  for (const entry of registry.list('breaker')) {
    const breaker = entry.component
    const current = breakerState(breaker)
    for (const s of ['closed', 'open', 'half_open']) state.values.push({ labels: { name: entry.name, state: s }, value: s === current ? 1 : 0 })
    for (const event of BREAKER_EVENTS) events.values.push({ labels: { name: entry.name, event }, value: entry.value(event) })
    for (const outcome of ['success', 'failure']) {
      const h = entry.durations[outcome] ?? EMPTY_CALLS
      histogramValues(duration.values, duration.name, { name: entry.name, outcome }, CALL_BUCKETS, h.cumulative(), h.sum)
    }
  }
  return [state, events, duration]
}

/** A family of one counter over the two-level counts of every entry of `kind`. */
function countedFamily(kind, name, help, nameLabel) {
  const f = family(name, 'counter', help)
  const [first, second] = registry.KINDS[kind]
  for (const entry of registry.list(kind)) {
    for (const [a, inner] of entry.counts) {
      for (const [b, value] of inner) {
        const labels = { [nameLabel]: entry.name, [first]: a }
        if (second !== undefined) labels[second] = b
        f.values.push({ labels, value })
      }
    }
  }
  return f
}

/**
 * A cache's reads as [result, tier, count]: from its own `stats()` (bulwark's Cache keeps
 * them) or from the counts on its entry. A miss or a stale answer concerns every tier:
 * tier `all`.
 */
function cacheReads(entry) {
  const cache = entry.component
  if (typeof cache.stats !== 'function') {
    const out = []
    for (const [result, inner] of entry.counts) for (const [tier, n] of inner) out.push([result, tier, n])
    return out
  }
  const s = cache.stats()
  return [
    ['hit', 'l1', s.l1Hits],
    ['hit', 'l2', s.l2Hits],
    ['stale', 'all', s.stale],
    ['miss', 'all', s.misses],
  ]
}

function cacheFamilies(prefix) {
  const requests = family(`${prefix}cache_requests_total`, 'counter', 'Cache reads by cache, result (hit, stale, miss) and tier (l1, l2; all for a miss or stale answer).')
  const runs = family(`${prefix}cache_factory_runs_total`, 'counter', 'Factory (value computation) runs by cache and outcome (ok, error).')
  const coalesced = family(`${prefix}cache_coalesced_total`, 'counter', 'Reads that joined a fill already running in this process (single-flight).')
  const entries = family(`${prefix}cache_l1_entries`, 'gauge', 'Entries held in the in-process tier.')
  const bytes = family(`${prefix}cache_l1_bytes`, 'gauge', 'Approximate bytes held in the in-process tier.')
  const evictions = family(`${prefix}cache_l1_evictions_total`, 'counter', 'Entries evicted from the in-process tier by its bounds.')
  for (const entry of registry.list('cache')) {
    const cache = { cache: entry.name }
    for (const [result, tier, value] of cacheReads(entry)) requests.values.push({ labels: { ...cache, result, tier }, value })
    if (typeof entry.component.stats !== 'function') continue
    const s = entry.component.stats()
    runs.values.push({ labels: { ...cache, outcome: 'ok' }, value: s.factoryRuns - s.factoryErrors })
    runs.values.push({ labels: { ...cache, outcome: 'error' }, value: s.factoryErrors })
    coalesced.values.push({ labels: cache, value: s.coalesced })
    if (s.l1 !== null) {
      entries.values.push({ labels: cache, value: s.l1.entries })
      bytes.values.push({ labels: cache, value: s.l1.bytes })
      evictions.values.push({ labels: cache, value: s.l1.evictions })
    }
  }
  return [requests, runs, coalesced, entries, bytes, evictions]
}

/**
 * opossum-prometheus's families, unchanged, for dashboards built on them: counter
 * `<metricPrefix>circuit{name,event}` and summary `<metricPrefix>circuit_perf{name,event}`
 * (success/failure latency in ms; `_sum` and `_count` only, no quantiles).
 */
function opossumFamilies(metricPrefix) {
  const events = family(`${metricPrefix}circuit`, 'counter', 'A count of all circuit events')
  const perf = family(`${metricPrefix}circuit_perf`, 'summary', 'A summary of all circuit events')
  for (const entry of registry.list('breaker')) {
    for (const event of BREAKER_EVENTS) events.values.push({ labels: { name: entry.name, event }, value: entry.value(event) })
    for (const event of ['success', 'failure']) {
      const h = entry.durations[event] ?? EMPTY_CALLS
      perf.values.push({ metricName: `${perf.name}_sum`, labels: { name: entry.name, event }, value: h.sum * 1000 })
      perf.values.push({ metricName: `${perf.name}_count`, labels: { name: entry.name, event }, value: h.cumulative()[CALL_BUCKETS.length] })
    }
  }
  return [events, perf]
}

/** Every family, in prom-client's `get()` shape. */
function collect({ prefix, opossumPrefix }) {
  return [
    ...clientFamilies(prefix),
    ...breakerFamilies(prefix),
    ...(opossumPrefix === null ? [] : opossumFamilies(opossumPrefix)),
    countedFamily('limiter', `${prefix}ratelimit_decisions_total`, 'Rate-limit decisions by limiter, decision (allowed, limited) and the backend that decided (redis, memory).', 'limiter'),
    ...cacheFamilies(prefix),
    countedFamily('session', `${prefix}session_operations_total`, 'Session store operations by store and operation (read, written, destroyed, touched).', 'store'),
  ]
}

function escapeLabel(value) {
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function formatValue(value) {
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

/** The Prometheus text exposition format (version 0.0.4) of every family. */
function text(options = {}) {
  const lines = []
  for (const f of collect(settings(options))) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`)
    for (const v of f.values) {
      const labels = Object.entries(v.labels)
        .map(([k, val]) => `${k}="${escapeLabel(val)}"`)
        .join(',')
      lines.push(`${v.metricName ?? f.name}${labels ? `{${labels}}` : ''} ${formatValue(v.value)}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** The Content-Type of `text()`. */
const contentType = 'text/plain; version=0.0.4; charset=utf-8'

function checkPrefix(prefix, name, fallback) {
  if (prefix === undefined) return fallback
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) throw new TypeError(`${name} must be a metric name prefix like 'bulwark_', got ${String(prefix)}`)
  return prefix
}

/**
 * Options of text() and register(): `prefix` (default 'bulwark_'); `opossumCompat`: true
 * or `{ metricPrefix }` also emits opossum-prometheus's `circuit` and `circuit_perf`.
 */
function settings(options) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const prefix = checkPrefix(options.prefix, 'prefix', 'bulwark_')
  const compat = options.opossumCompat
  if (compat === undefined || compat === false) return { prefix, opossumPrefix: null }
  if (compat === true) return { prefix, opossumPrefix: '' }
  if (compat === null || typeof compat !== 'object') throw new TypeError('opossumCompat must be true, false or { metricPrefix }')
  return { prefix, opossumPrefix: checkPrefix(compat.metricPrefix, 'opossumCompat.metricPrefix', '') }
}

/**
 * Adds every family to a prom-client Registry (`registry`), each as a collector read at
 * scrape time. Registering twice on the same registry is a no-op (prom-client throws
 * on duplicate names); no default metrics are collected.
 */
function register(promRegistry, options = {}) {
  if (promRegistry === null || typeof promRegistry !== 'object' || typeof promRegistry.registerMetric !== 'function') {
    throw new TypeError('registry must be a prom-client Registry (e.g. require("prom-client").register)')
  }
  const chosen = settings(options)
  // A scrape asks each family in the same tick: collect once for all of them.
  let scraped = null
  const scrape = () => {
    if (scraped === null) {
      scraped = collect(chosen)
      process.nextTick(() => (scraped = null))
    }
    return scraped
  }
  for (const f of collect(chosen)) {
    if (promRegistry.getSingleMetric(f.name) !== undefined) continue
    promRegistry.registerMetric({
      name: f.name,
      help: f.help,
      type: f.type,
      aggregator: 'sum',
      get: () => scrape().find((g) => g.name === f.name),
      reset() {},
    })
  }
  return promRegistry
}

module.exports = { cacheReads, observeClient, observeBreaker, countDecision, countHits, collect, text, register, contentType, COMMAND_BUCKETS, CALL_BUCKETS }
