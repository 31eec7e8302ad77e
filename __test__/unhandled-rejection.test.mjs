// Guard for the whole suite: an unhandled promise rejection anywhere fails `npm test`.
// node:test does this on its own; this test pins that behaviour so it cannot regress.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

test('a leaked rejection fails the test run', () => {
  const fixture = fileURLToPath(new URL('./fixtures/unhandled-rejection.mjs', import.meta.url))
  // Without NODE_TEST_CONTEXT the child runs as its own top-level test run.
  const { NODE_TEST_CONTEXT, ...env } = process.env
  const run = spawnSync(process.execPath, ['--test', fixture], { encoding: 'utf8', env })
  assert.notEqual(run.status, 0, run.stdout)
  assert.match(run.stdout, /unhandledRejection/)
  assert.match(run.stdout, /leaked rejection/)
})
