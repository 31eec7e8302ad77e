// Load for outage tests: concurrent loops of one operation that count what succeeded and
// keep what failed, until stopped.

/** Runs `concurrency` loops of `op(worker, i)` until `stop()`; counts successes and failures. */
export function traffic(op, concurrency) {
  const stats = { ok: 0, failed: [], running: true }
  const loops = Array.from({ length: concurrency }, async (_, worker) => {
    for (let i = 0; stats.running; i++) {
      try {
        await op(worker, i)
        stats.ok++
      } catch (err) {
        stats.failed.push(err)
      }
    }
  })
  stats.stop = async () => {
    stats.running = false
    await Promise.all(loops)
    return stats
  }
  return stats
}
