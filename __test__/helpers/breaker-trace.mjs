// Runs the same scenario against bulwark's CircuitBreaker and the real opossum package
// and records every event with a comparable summary of its arguments.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
export const Bulwark = require('bulwark/opossum')
export const Opossum = require('opossum')

export const EVENTS = [
  'fire',
  'cacheHit',
  'cacheMiss',
  'coalesceCacheHit',
  'coalesceCacheMiss',
  'reject',
  'timeout',
  'success',
  'failure',
  'fallback',
  'semaphoreLocked',
  'open',
  'halfOpen',
  'close',
  'healthCheckFailed',
  'shutdown',
]

const summarize = (v) => {
  if (v instanceof Error) return { error: v.message, code: v.code }
  if (v && typeof v.then === 'function') return 'promise'
  if (typeof v === 'number') return 'number'
  return v
}

/** Attaches a recorder for every event; returns the log array. */
export function record(breaker) {
  const log = []
  for (const name of EVENTS) {
    breaker.on(name, (...args) => log.push([name, ...args.map(summarize)]))
  }
  return log
}

/** Settles a promise into a comparable summary. */
export async function outcome(promise) {
  try {
    return { ok: summarize(await promise) }
  } catch (err) {
    return { err: summarize(err) }
  }
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms))
