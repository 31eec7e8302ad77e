'use strict'
// How one value is stored in Redis (L2): a JSON header line, then the serializer's text.
//   [expiresAt, staleUntil, delta, tags]\n<payload>
// The header stays outside the payload so the value is never encoded twice (no JSON
// string escaping of a JSON payload) and decoding it is one indexOf and one small parse.

function encode(payload, expiresAt, staleUntil, delta, tags) {
  return `[${expiresAt},${staleUntil},${delta},${tags === null ? 'null' : JSON.stringify(tags)}]\n${payload}`
}

/** `{ expiresAt, staleUntil, delta, tags, payload }`, or null for text that is not ours. */
function decode(text) {
  const nl = text.indexOf('\n')
  if (nl < 0) return null
  let header
  try {
    header = JSON.parse(text.slice(0, nl))
  } catch {
    return null
  }
  if (!Array.isArray(header) || header.length !== 4) return null
  return { expiresAt: header[0], staleUntil: header[1], delta: header[2], tags: header[3], payload: text.slice(nl + 1) }
}

module.exports = { encode, decode }
