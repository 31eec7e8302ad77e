'use strict'
// Durations as cache-manager 7 and BentoCache take them: milliseconds, or strings such as
// '250ms', '5s', '5m', '1h', '1d' (a bare numeric string is milliseconds).

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/

/**
 * Milliseconds for `value` (a number ≥ 0 or a duration string); `name` is the option it came
 * from, so the error names it. Infinity is allowed only when `allowInfinity` says so.
 */
function parseDuration(value, name, { allowInfinity = false } = {}) {
  let ms
  if (typeof value === 'number') {
    ms = value
  } else if (typeof value === 'string') {
    const m = PATTERN.exec(value)
    if (m === null) {
      throw new RangeError(`${name} must be milliseconds or a duration like '5m' (ms, s, m, h, d), got '${value}'`)
    }
    ms = Number(m[1]) * UNITS[m[2] ?? 'ms']
  } else {
    throw new TypeError(`${name} must be a number of milliseconds or a duration string, got ${value === null ? 'null' : typeof value}`)
  }
  if (Number.isNaN(ms) || ms < 0 || (ms === Infinity && !allowInfinity)) {
    throw new RangeError(`${name} must be a finite number of milliseconds ≥ 0, got ${ms}`)
  }
  return ms
}

/** Like parseDuration, but `undefined` gives `fallback`. */
function optionalDuration(value, name, fallback, opts) {
  return value === undefined ? fallback : parseDuration(value, name, opts)
}

/** Bytes for `value`: a number, or a string like '64mb' / '512kb' / '1gb'. */
function parseBytes(value, name) {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of bytes, got ${value}`)
    return value
  }
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value)
    if (m !== null) {
      const scale = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase()]
      const bytes = Number(m[1]) * scale
      if (bytes > 0) return bytes
    }
    throw new RangeError(`${name} must be a positive size like '64mb' (b, kb, mb, gb), got '${value}'`)
  }
  throw new TypeError(`${name} must be a number of bytes or a size string, got ${value === null ? 'null' : typeof value}`)
}

module.exports = { parseDuration, optionalDuration, parseBytes }
