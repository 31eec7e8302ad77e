'use strict'
const { validateSentinel, reconnectOnReadonly } = require('./sentinel')
// Constructor argument parsing for `Redis`, following ioredis: `()`, `(port)`,
// `(port, host)`, `(port, host, opts)`, `(port, opts)`, `(url)`, `(url, opts)`,
// `(path)`, `(opts)`; earlier arguments win, then the defaults.

/** ioredis v5's default: min(times * 50, 2000) ms. */
function defaultRetryStrategy(times) {
  return Math.min(times * 50, 2000)
}

/**
 * The default while failing over to memory: exponential from 50 ms up to 2 s with
 * "equal jitter" (half fixed, half random), so the instances of a fleet do not all
 * reconnect to a recovering Redis in the same millisecond.
 */
function jitteredRetryStrategy(times) {
  const ceiling = Math.min(2000, 50 * 2 ** Math.min(times - 1, 6))
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

const DEFAULTS = {
  host: 'localhost',
  port: 6379,
  path: null,
  family: 0,
  username: null,
  password: null,
  db: 0,
  tls: undefined,
  keyPrefix: '',
  lazyConnect: false,
  connectTimeout: 10000,
  commandTimeout: undefined,
  blockingTimeout: undefined,
  blockingTimeoutGrace: 100,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 20,
  retryStrategy: defaultRetryStrategy,
  reconnectOnError: null,
  enableReadyCheck: true,
  autoResubscribe: true,
  autoResendUnfulfilledCommands: true,
  enableAutoPipelining: false,
  connectionName: null,
  name: null,
  stringNumbers: false,
  // bulwark additions (see docs/redis-client.md)
  maxQueueLength: 100_000,
  maxQueueBytes: 256 * 1024 * 1024,
  pingInterval: 1000,
  fallback: 'memory',
  fallbackTimeout: 250,
  recovery: 'replay',
  memory: undefined,
  memoryOnly: false,
}

/** Bounds of the memory engine when `options.memory` does not set them. */
const MEMORY_DEFAULTS = { maxKeys: null, maxMemoryBytes: 256 * 1024 * 1024 }

const URL_TLS = Object.freeze({})
const NUMERIC = ['port', 'db', 'connectTimeout', 'commandTimeout', 'blockingTimeout', 'blockingTimeoutGrace', 'maxRetriesPerRequest', 'maxQueueLength', 'maxQueueBytes', 'pingInterval', 'fallbackTimeout']

function parseURL(url) {
  if (/^\d+$/.test(url)) return { port: Number(url) }
  if (url.startsWith('/')) {
    const [path, query] = url.split('?')
    return { path, ...Object.fromEntries(new URLSearchParams(query || '')) }
  }
  // memory:// (and memory://<name>): the in-process engine only; clients naming the
  // same engine share its data, like clients of one server.
  const memory = /^memory:\/\/([^/?#]*)\/?(\d*)$/.exec(url)
  if (memory) return { memoryOnly: true, host: memory[1] || 'default', ...(memory[2] ? { db: Number(memory[2]) } : {}) }
  if (url.startsWith('memory:')) throw new TypeError(`Invalid memory URL: ${url} (expected memory:// or memory://<name>[/<db>])`)
  if (!url.includes('://')) url = `redis://${url}`
  let parsed
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`Invalid Redis URL: ${redactUrl(url)}`)
  }
  const out = {}
  if (parsed.protocol === 'rediss:') out.tls = URL_TLS
  else if (parsed.protocol !== 'redis:') throw new TypeError(`Invalid Redis URL protocol: ${parsed.protocol}`)
  if (parsed.hostname) out.host = parsed.hostname.replace(/^\[|\]$/g, '')
  if (parsed.port) out.port = Number(parsed.port)
  if (parsed.username) out.username = decodeURIComponent(parsed.username)
  if (parsed.password) out.password = decodeURIComponent(parsed.password)
  const db = parsed.pathname.slice(1)
  if (db) out.db = Number(db)
  for (const [k, v] of parsed.searchParams) out[k] = v
  return out
}

function redactUrl(url) {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}

function parseOptions(args) {
  const merged = {}
  const take = (o) => {
    for (const [k, v] of Object.entries(o)) {
      if (!(k in merged) && v !== undefined) merged[k] = v
      // `rediss://` only says "TLS on"; a tls object given alongside carries the settings.
      else if (k === 'tls' && merged.tls === URL_TLS && v && typeof v === 'object') merged.tls = v
    }
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === null || arg === undefined) continue
    if (typeof arg === 'number') {
      if (i === 0) take({ port: arg })
      else throw new TypeError(`Invalid argument ${arg}`)
    } else if (typeof arg === 'string') {
      if (i === 0) take(parseURL(arg))
      else if (i === 1 && typeof args[0] === 'number') take({ host: arg })
      else throw new TypeError(`Invalid argument ${arg}`)
    } else if (typeof arg === 'object' && !Array.isArray(arg)) {
      take(arg)
    } else {
      throw new TypeError(`Invalid argument ${typeof arg === 'function' ? 'function' : String(arg)}`)
    }
  }
  // No server given: REDIS_URL when set (so REDIS_URL=memory:// runs without Redis).
  const env = process.env.REDIS_URL
  if (env && !('host' in merged) && !('port' in merged) && !('path' in merged) && !merged.memoryOnly) take(parseURL(env))
  const o = { ...DEFAULTS }
  for (const [k, v] of Object.entries(merged)) o[k] = v
  if (!('retryStrategy' in merged) && o.fallback === 'memory') o.retryStrategy = jitteredRetryStrategy
  if (!('reconnectOnError' in merged) && o.sentinels && o.role !== 'slave') o.reconnectOnError = reconnectOnReadonly
  // Without failover the wire carries only what ioredis would send: no idle PING probe
  // unless asked for (MONITOR and tests that count commands see exactly ioredis's).
  if (!('pingInterval' in merged) && o.fallback === false) o.pingInterval = 0
  // Numeric strings (URL query parameters, `port: '6379'`) become numbers, as in ioredis.
  for (const key of NUMERIC) if (typeof o[key] === 'string' && /^\d+$/.test(o[key])) o[key] = Number(o[key])
  if (o.connectionName === null && o.name && !o.sentinels) o.connectionName = o.name
  if (o.tls === true || o.tls === URL_TLS) o.tls = {}
  validate(o)
  return o
}

function integer(o, key, min, max, nullable = false) {
  const v = o[key]
  if (nullable && (v === null || v === undefined)) return
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`Redis option "${key}" must be an integer from ${min} to ${max}${nullable ? ' (or null)' : ''}, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
  }
}

/** A PEM value as Node's tls takes it: a string, a Buffer, or a non-empty array of them. */
function isPem(v) {
  const one = (x) => (typeof x === 'string' && x.length > 0) || (Buffer.isBuffer(x) && x.length > 0)
  return one(v) || (Array.isArray(v) && v.length > 0 && v.every(one))
}

function validateTls(tls) {
  if (typeof tls !== 'object' || Array.isArray(tls)) throw new TypeError('Redis option "tls" must be an object')
  for (const key of ['ca', 'cert', 'key']) {
    if (tls[key] !== undefined && tls[key] !== null && !isPem(tls[key])) {
      throw new TypeError(`Redis option "tls.${key}" must be PEM text: a non-empty string or Buffer, or an array of them`)
    }
  }
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new TypeError('Redis options "tls.cert" and "tls.key" must be given together')
  if (tls.passphrase !== undefined || tls.pfx !== undefined) {
    throw new TypeError('Redis options "tls.passphrase" and "tls.pfx" are not supported: give tls.key as an unencrypted PEM key')
  }
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean') {
    throw new TypeError('Redis option "tls.rejectUnauthorized" must be a boolean')
  }
}

function validate(o) {
  if (typeof o.host !== 'string' || o.host.length === 0) throw new TypeError('Redis option "host" must be a non-empty string')
  integer(o, 'port', 0, 65535)
  integer(o, 'db', 0, 2 ** 31 - 1)
  integer(o, 'connectTimeout', 1, 2 ** 31 - 1)
  integer(o, 'commandTimeout', 1, 2 ** 31 - 1, true)
  integer(o, 'sentinelCommandTimeout', 1, 2 ** 31 - 1, true)
  integer(o, 'blockingTimeout', 0, 2 ** 31 - 1, true)
  integer(o, 'blockingTimeoutGrace', 0, 2 ** 31 - 1)
  integer(o, 'maxRetriesPerRequest', 0, 2 ** 31 - 1, true)
  integer(o, 'maxQueueLength', 1, 2 ** 31 - 1)
  integer(o, 'maxQueueBytes', 1, Number.MAX_SAFE_INTEGER)
  integer(o, 'pingInterval', 0, 2 ** 31 - 1)
  for (const key of ['path', 'username', 'password', 'connectionName']) {
    if (o[key] !== null && o[key] !== undefined && typeof o[key] !== 'string') throw new TypeError(`Redis option "${key}" must be a string`)
  }
  if (typeof o.keyPrefix !== 'string' && !Buffer.isBuffer(o.keyPrefix)) throw new TypeError('Redis option "keyPrefix" must be a string or Buffer')
  if (o.retryStrategy !== null && typeof o.retryStrategy !== 'function') throw new TypeError('Redis option "retryStrategy" must be a function or null')
  if (o.reconnectOnError !== null && typeof o.reconnectOnError !== 'function') throw new TypeError('Redis option "reconnectOnError" must be a function or null')
  if (o.tls !== undefined && o.tls !== null) validateTls(o.tls)
  validateSentinel(o)
  for (const key of ['lazyConnect', 'enableOfflineQueue', 'enableReadyCheck', 'stringNumbers', 'autoResendUnfulfilledCommands']) {
    if (typeof o[key] !== 'boolean') throw new TypeError(`Redis option "${key}" must be a boolean`)
  }
  if (o.fallback !== 'memory' && o.fallback !== false) throw new TypeError(`Redis option "fallback" must be 'memory' or false, got ${String(o.fallback)}`)
  integer(o, 'fallbackTimeout', 0, 2 ** 31 - 1)
  if (o.recovery !== 'replay' && o.recovery !== 'discard') throw new TypeError(`Redis option "recovery" must be 'replay' or 'discard', got ${String(o.recovery)}`)
  if (o.memoryOnly) {
    // memory:// has 16 databases, like Redis.
    integer(o, 'db', 0, 15)
    if (o.fallback === false) throw new TypeError('Redis option "fallback" cannot be false with a memory:// URL')
  }
  const memory = o.memory === undefined || o.memory === null ? {} : o.memory
  if (typeof memory !== 'object' || Array.isArray(memory)) throw new TypeError('Redis option "memory" must be an object')
  o.memory = { ...MEMORY_DEFAULTS, ...memory }
  for (const key of ['maxKeys', 'maxMemoryBytes']) {
    const v = o.memory[key]
    if (v !== null && v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) {
      throw new TypeError(`Redis option "memory.${key}" must be a positive integer (or null), got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    }
  }
}

module.exports = { parseOptions, defaultRetryStrategy, jitteredRetryStrategy }
