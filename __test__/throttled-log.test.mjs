// Unlistened errors are logged, not thrown, and at most once per interval (an outage
// produces them continuously).
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { throttledLog } = require('../lib/throttled-log.js')

test('logs the first error, then at most one per interval', (t) => {
  let now = 0
  t.mock.method(Date, 'now', () => now)
  const lines = []
  t.mock.method(console, 'error', (...args) => lines.push(args))
  const log = throttledLog('[label]', 1000)
  const err = new Error('boom')
  log(err)
  now = 500
  log(err)
  now = 1000
  log('plain')
  now = 1001
  log('plain')
  assert.equal(lines.length, 2)
  assert.equal(lines[0][0], '[label]')
  assert.match(lines[0][1], /^Error: boom\n/)
  assert.deepEqual(lines[1], ['[label]', 'plain'])
})

test('each logger keeps its own interval', (t) => {
  const lines = []
  t.mock.method(console, 'error', (...args) => lines.push(args[0]))
  const a = throttledLog('[a]')
  const b = throttledLog('[b]')
  a(new Error('x'))
  b(new Error('y'))
  a(new Error('x'))
  assert.deepEqual(lines, ['[a]', '[b]'])
})
