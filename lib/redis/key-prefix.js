'use strict'
// ioredis's keyPrefix, prepended at the key positions of a command.
const commands = require('../redis-commands')

function prefixed(prefix, key) {
  if (Buffer.isBuffer(key) || Buffer.isBuffer(prefix)) return Buffer.concat([Buffer.from(prefix), Buffer.from(key)])
  return prefix + key
}

/** Prepends keyPrefix at every key position the server's key specs name. */
function applyPrefix(prefix, name, args) {
  const indexes = commands.keyIndexes(name, args)
  if (indexes.length === 0) return args
  const out = args.slice()
  for (const i of indexes) out[i] = prefixed(prefix, out[i] ?? '')
  return out
}

module.exports = { applyPrefix }
