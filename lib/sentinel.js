'use strict'
// Sentinel mode of `Redis` (`sentinels` + `name`): validates ioredis's sentinel options
// and turns them into the native connection's fields. Resolution (ask the sentinels,
// check ROLE), and following `+switch-master` run in the Rust core
// (core/src/client/sentinel.rs); see docs/sentinel.md.

const ROLES = ['master', 'slave']

function addressOf(entry, index) {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new TypeError(`Redis option "sentinels[${index}]" must be an object { host, port }`)
  }
  const host = entry.host ?? '127.0.0.1'
  const port = entry.port ?? 26379
  if (typeof host !== 'string' || host.length === 0) throw new TypeError(`Redis option "sentinels[${index}].host" must be a non-empty string`)
  if (!Number.isInteger(Number(port)) || Number(port) < 1 || Number(port) > 65535) {
    throw new TypeError(`Redis option "sentinels[${index}].port" must be an integer from 1 to 65535`)
  }
  return `${host}:${Number(port)}`
}

/** Checks the sentinel options of a parsed options object; throws a TypeError naming the option. */
function validateSentinel(o) {
  if (o.sentinels === undefined || o.sentinels === null) return
  if (!Array.isArray(o.sentinels) || o.sentinels.length === 0) throw new TypeError('Redis option "sentinels" must be a non-empty array of { host, port }')
  o.sentinels.forEach(addressOf)
  if (typeof o.name !== 'string' || o.name.length === 0) throw new TypeError('Redis option "name" (the primary\'s name) is required with "sentinels"')
  const role = o.role ?? 'master'
  if (!ROLES.includes(role)) throw new TypeError(`Redis option "role" must be 'master' or 'slave', got ${String(role)}`)
  for (const key of ['sentinelUsername', 'sentinelPassword']) {
    if (o[key] !== undefined && o[key] !== null && typeof o[key] !== 'string') throw new TypeError(`Redis option "${key}" must be a string`)
  }
  if (o.natMap !== undefined && o.natMap !== null && (typeof o.natMap !== 'object' || Array.isArray(o.natMap))) {
    throw new TypeError('Redis option "natMap" must be an object { "ip:port": { host, port } } (the function form is not supported in sentinel mode)')
  }
  if (o.preferredSlaves !== undefined && o.preferredSlaves !== null && !Array.isArray(o.preferredSlaves)) {
    throw new TypeError('Redis option "preferredSlaves" must be an array of { ip, port, prio } (the function form is not supported)')
  }
  if (o.sentinelRetryStrategy !== undefined && o.sentinelRetryStrategy !== null && typeof o.sentinelRetryStrategy !== 'function') {
    throw new TypeError('Redis option "sentinelRetryStrategy" must be a function or null')
  }
  if (o.failoverDetector !== undefined && typeof o.failoverDetector !== 'boolean') throw new TypeError('Redis option "failoverDetector" must be a boolean')
}

/** The native connection's sentinel fields (empty when not in sentinel mode). */
function sentinelNativeOptions(o) {
  if (!o.sentinels) return {}
  return {
    sentinels: o.sentinels.map(addressOf),
    sentinelName: o.name,
    sentinelReplica: o.role === 'slave',
    sentinelUsername: o.sentinelUsername || undefined,
    sentinelPassword: o.sentinelPassword || undefined,
    sentinelTls: Boolean(o.enableTLSForSentinelMode),
    sentinelNat: o.natMap ? Object.entries(o.natMap).map(([from, to]) => `${from}=${to.host}:${to.port}`) : undefined,
    preferredSlaves: o.preferredSlaves ? o.preferredSlaves.map((s) => `${s.ip}:${s.port}:${s.prio ?? 1}`) : undefined,
    // bulwark follows +switch-master unless told not to (ioredis's default does not, and
    // keeps writing to a demoted primary: see docs/sentinel.md).
    followSwitchMaster: o.failoverDetector !== false,
    sentinelCommandTimeout: o.sentinelCommandTimeout ?? undefined,
  }
}

/** The memory engine shared by every client of one sentinel-monitored primary. */
function sentinelFallbackTarget(o) {
  return `sentinel://${o.name}`
}

/**
 * The default `reconnectOnError` of a sentinel client of the primary: a write refused with
 * READONLY hit a demoted primary, so reconnect (the sentinels are asked again) and resend
 * it there (ioredis #18: without this, such writes fail until the socket closes).
 */
function reconnectOnReadonly(err) {
  return err.message.startsWith('READONLY') ? 2 : false
}

module.exports = { validateSentinel, sentinelNativeOptions, sentinelFallbackTarget, reconnectOnReadonly }
