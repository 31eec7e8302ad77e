'use strict'
/**
 * Replies the memory engine gives at once settle in the same microtask burst, which
 * is fast, but a loop of awaits on such replies would never let timers or I/O run (a
 * socket reply always arrives in a later event-loop turn). So at most this many are
 * settled per turn; beyond it they wait for setImmediate, as network replies would.
 */
const SYNC_SETTLES_PER_TURN = 1000
let syncSettles = 0
let turnResetScheduled = false
function resetTurn() {
  turnResetScheduled = false
  syncSettles = 0
}

/** Replies held for the next turn: [resolve, outcome] pairs, released by one setImmediate. */
let deferred = []
function releaseDeferred() {
  const held = deferred
  deferred = []
  for (const [resolve, outcome] of held) resolve(outcome)
}
function deferToNextTurn(outcome) {
  if (deferred.length === 0) setImmediate(releaseDeferred)
  return new Promise((resolve) => deferred.push([resolve, outcome]))
}

/** Counts `n` replies settled at once; false when this turn's share is used up. */
function settleNowAllowed(n) {
  if (!turnResetScheduled) {
    turnResetScheduled = true
    setImmediate(resetTurn)
  }
  syncSettles += n
  return syncSettles <= SYNC_SETTLES_PER_TURN
}

module.exports = { settleNowAllowed, deferToNextTurn }
