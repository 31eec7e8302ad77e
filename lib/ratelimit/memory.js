'use strict'
// Decisions on a bulwark client's memory engine (`memory://`, or during an outage) go
// straight to it in one native call (`native.ratelimitMemoryIncrement`/`…Consume`): the core
// runs the same EVALSHA the client would send (the engine's native known script: same
// keys, values, TTLs, and the same record of written keys for the replay to Redis),
// without encoding a command in JS and without the client's promise per command.

/**
 * The client's memory-engine slot when a decision may go straight to it now, else null.
 * The only place that reads the bulwark client's internals (read-only): `_directSlot`
 * (lib/redis/client.js, the slot of `native.memoryExecute`), and the conditions under which
 * the client's own memory fast path (`_direct`) runs a command: normal mode, no command
 * waiting in its batch (which must run first), no MULTI wrapping; and no `keyPrefix`
 * (which the client would add to the key).
 */
function memorySlot(client) {
  const slot = client._directSlot
  if (slot === null || slot === undefined || client.mode !== 'normal' || client._execWraps) return null
  if ((client._batch !== undefined && client._batch.pos !== 0) || client.options?.keyPrefix) return null
  return slot
}

module.exports = { memorySlot }
