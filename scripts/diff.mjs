#!/usr/bin/env node
// Differential run of bulwark/ioredis against ioredis (see __test__/helpers/differential.mjs):
//   node scripts/diff.mjs --steps 50000 --seed 7 [--mode redis|memory] [--seeds 3] [--report 20]
// Without --mode both modes run. --seeds N runs seeds seed, seed+1, … seed+N-1.
// Prints one line per run (mode × seed × steps → mismatches), the known mismatches by cause,
// and reproductions of unexplained ones. Exit code 1 when any mismatch is unexplained.
import { parseArgs } from 'node:util'
import { runDifferential, startBackends, repro, KNOWN_MISMATCHES } from '../__test__/helpers/differential.mjs'

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    seeds: { type: 'string', default: '1' },
    mode: { type: 'string' },
    report: { type: 'string', default: '20' },
    // Prints every step (ops and both pictures) to stdout: for finding where sides diverge.
    trace: { type: 'boolean', default: false },
  },
})
const steps = Number(values.steps)
const seed = Number(values.seed)
const seeds = Number(values.seeds)
const modes = values.mode ? [values.mode] : ['redis', 'memory']
for (const [name, n] of [['--steps', steps], ['--seed', seed], ['--seeds', seeds], ['--report', Number(values.report)]]) {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`)
}
for (const mode of modes) if (mode !== 'redis' && mode !== 'memory') throw new RangeError(`--mode must be redis or memory, got ${mode}`)

const describeKnown = (id) => (id.includes(' + ') ? 'together' : KNOWN_MISMATCHES.find((k) => k.id === id)?.reason ?? '')
let unexplained = 0
const rows = []
for (const mode of modes) {
  const backends = await startBackends(mode)
  try {
    for (let s = seed; s < seed + seeds; s++) {
      const started = Date.now()
      const tally = await runDifferential({
        mode,
        seed: s,
        steps,
        backends,
        maxReported: Number(values.report),
        onStep: values.trace ? (i, step, ref, bul) => console.log(JSON.stringify({ trace: i, ...repro(step), ioredis: ref, bulwark: bul })) : undefined,
        onProgress: (n, t) => process.stderr.write(`\r${mode} seed ${s}: ${n}/${steps} steps, ${t.mismatches} mismatches`),
      })
      process.stderr.write('\n')
      const open = tally.mismatches - tally.knownCount + tally.stateMismatches
      unexplained += open
      rows.push({ mode, seed: s, steps, mismatches: tally.mismatches + tally.stateMismatches, known: tally.knownCount, unexplained: open, seconds: Math.round((Date.now() - started) / 1000) })
      for (const [id, n] of Object.entries(tally.known)) console.log(`  known ${id}: ${n}  (${describeKnown(id)})`)
      for (const u of tally.unexplained) console.log(JSON.stringify(u))
    }
  } finally {
    await backends.stop()
  }
}
console.log('\nmode    seed  steps   mismatches  known  unexplained  seconds')
for (const r of rows) {
  console.log(`${r.mode.padEnd(7)} ${String(r.seed).padStart(4)}  ${String(r.steps).padStart(6)}  ${String(r.mismatches).padStart(10)}  ${String(r.known).padStart(5)}  ${String(r.unexplained).padStart(11)}  ${String(r.seconds).padStart(7)}`)
}
process.exitCode = unexplained > 0 ? 1 : 0
