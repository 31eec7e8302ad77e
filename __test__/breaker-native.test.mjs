// The native breaker binding: handles, bad arguments, garbage collection of breakers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const native = require('../index.js')

test('handles: create, use, drop, reuse; dead or unknown handles are errors, not crashes', () => {
  const h = native.breakerCreate(10, 1000, false, true, 0)
  native.breakerConfigure(h, 50, 0, 1, 1, 0)
  assert.equal(native.breakerFailure(h, 1, 0, 1, 0), true)
  native.breakerDrop(h)
  assert.throws(() => native.breakerFailure(h, 1, 0, 0, 0), /not live/)
  assert.throws(() => native.breakerStats(2 ** 31, 0), /not live/)
  native.breakerDrop(h) // twice is harmless
  native.breakerDrop(4_000_000_000)
  const again = native.breakerCreate(1, 1, true, false, 0)
  assert.equal(again, h, 'the freed slot is reused')
  native.breakerDrop(again)
})

test('bad arguments: unknown field, invalid config, wrong types', () => {
  const h = native.breakerCreate(0, 0, false, true, NaN)
  assert.throws(() => native.breakerIncrement(h, 11, 0, 0), /unknown statistics field/)
  assert.throws(() => native.breakerConfigure(h, NaN, 0, 1, 1, 0), /errorThresholdPercentage/)
  assert.throws(() => native.breakerConfigure(h, 50, -1, 1, 1, 0), /volumeThreshold/)
  assert.throws(() => native.breakerConfigure(h, 50, 0, 0, 1, 0), /halfOpenTrials/)
  assert.throws(() => native.breakerConfigure(h, 50, 0, 1, 2, 0), /halfOpenSuccessThreshold/)
  assert.throws(() => native.breakerOpen(h, 'now'))
  // Zero buckets and a NaN origin still give a usable one-bucket window.
  native.breakerIncrement(h, 4, 0, 5)
  assert.equal(native.breakerBucketCount(h), 1)
  assert.equal(native.breakerStats(h, Infinity)[4], 1)
  assert.equal(native.breakerBucket(h, 1, 0), null)
  native.breakerDrop(h)
})

test('breakers that become garbage free their native slot', async () => {
  const script = `
    const Status = require('bulwark/opossum/lib/status')
    const native = require('./index.js')
    let list = []
    for (let i = 0; i < 2000; i++) list.push(new Status({ enableSnapshots: false }))
    list = null
    ;(async () => {
      for (let i = 0; i < 10; i++) { global.gc(); await new Promise((r) => setImmediate(r)) }
      const h = native.breakerCreate(1, 1, true, false, 0)
      process.stdout.write(String(h))
    })()
  `
  const child = spawn(process.execPath, ['--expose-gc', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  assert.equal(code, 0)
  assert.ok(Number(out) < 2000, `handle ${out} was not reused`)
})
