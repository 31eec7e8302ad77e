'use strict'
// How one value is stored in Redis (L2): a JSON header line, then the serializer's text.
//   [expiresAt, staleUntil, delta, tags]\n<payload>
// The header stays outside the payload so the value is never encoded twice (no JSON
// string escaping of a JSON payload) and decoding it is one indexOf and one small parse.

function encode(payload, expiresAt, staleUntil, delta, tags) {
  return `[${expiresAt},${staleUntil},${delta},${tags === null ? 'null' : JSON.stringify(tags)}]\n${payload}`
}

/** The non-negative integer written in text[from, to), or -1 (read in place: no substring per number). */
function digits(text, from, to) {
  if (to <= from) return -1
  let n = 0
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** `{ expiresAt, staleUntil, delta, tags, payload }` (+ `value`, `bytes` for the caller to fill), or null for text that is not ours. */
function decode(text) {
  // Read by hand: the numbers are plain, and this runs on every L2 hit.
  const nl = text.indexOf('\n')
  if (nl < 8 || text.charCodeAt(0) !== 91 || text.charCodeAt(nl - 1) !== 93) return null
  const c1 = text.indexOf(',', 1)
  const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1)
  const c3 = c2 < 0 ? -1 : text.indexOf(',', c2 + 1)
  if (c3 < 0 || c3 > nl) return null
  const expiresAt = digits(text, 1, c1)
  const staleUntil = digits(text, c1 + 1, c2)
  const delta = digits(text, c2 + 1, c3)
  if (expiresAt < 0 || staleUntil < 0 || delta < 0) return null
  let tags = null
  if (!(nl - c3 === 6 && text.startsWith('null', c3 + 1))) {
    try {
      tags = JSON.parse(text.slice(c3 + 1, nl - 1))
    } catch {
      return null
    }
    if (!Array.isArray(tags)) return null
  }
  return { expiresAt, staleUntil, delta, tags, payload: text.slice(nl + 1), value: undefined, bytes: 0 }
}

module.exports = { encode, decode }
