'use strict'
// Decisions on a bulwark client's memory engine (`memory://`, or during an outage) go
// straight to it in one native call (`decide`, src/ratelimit.rs): the core decides in
// place on the keyspace, or runs the same EVALSHA the client would send (the engine's
// native known script: same keys, values, TTLs, and the same record of written keys for
// the replay to Redis), without encoding a command in JS and without the client's promise
// per command.
const native = require('../native')

/** `decide(policy, slot, key, cost)`: a raw N-API function (see src/ratelimit.rs for why). */
const decide = native.ratelimitMemoryDecideFunction()

const policies = new FinalizationRegistry((handle) => native.ratelimitMemoryPolicyDrop(handle))

/**
 * What every memory decision of one store (`algorithmIndex` -1) or limiter shares, held by
 * the core so a decision passes only its key and cost: the key prefix (the core writes it
 * before the key, so no `prefix + key` string is built), limit and window.
 */
class MemoryPolicy {
  constructor(algorithmIndex, limit, windowMs, prefix) {
    this.handle = native.ratelimitMemoryPolicy(algorithmIndex, limit, windowMs, prefix)
    policies.register(this, this.handle)
  }

  /** The decision for `key` on the memory engine of the client in `slot` (see `decide`). */
  decide(slot, key, cost) {
    return decide(this.handle, slot, key, cost)
  }
}

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

module.exports = { MemoryPolicy, memorySlot }
