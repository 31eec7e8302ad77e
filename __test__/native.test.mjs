// The package's entry points resolve from both module systems and reach the native core.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const subpaths = ['ioredis', 'opossum', 'rate-limit-redis', 'connect-redis']

test('require("bulwark") loads the native core of the same version', () => {
  const bulwark = require('bulwark')
  assert.equal(typeof bulwark.nativeVersion, 'function')
  assert.equal(bulwark.nativeVersion(), pkg.version)
})

test('import("bulwark") gives the same exports', async () => {
  const esm = await import('bulwark')
  assert.equal(esm.default, require('bulwark'))
  assert.equal(esm.nativeVersion(), pkg.version)
})

test('native exports ignore extra arguments instead of crashing', () => {
  const { nativeVersion } = require('bulwark')
  assert.equal(nativeVersion(undefined, null, 1, {}), pkg.version)
})

for (const sub of subpaths) {
  test(`bulwark/${sub} resolves by require and by import`, async () => {
    const cjs = require(`bulwark/${sub}`)
    const esm = await import(`bulwark/${sub}`)
    assert.equal(esm.default, cjs)
    assert.equal(typeof cjs, 'function')
  })
}

test('every subpath in the exports map has a types entry and a file', () => {
  for (const [key, target] of Object.entries(pkg.exports)) {
    if (key === './package.json') continue
    for (const file of [target.types, target.default]) {
      assert.ok(readFileSync(new URL(`../${file}`, import.meta.url)), `${key} → ${file}`)
    }
  }
})
