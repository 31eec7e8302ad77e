// IdTable: the by-id table behind a client's pending commands (lib/id-table.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { IdTable } = require('../lib/id-table.js')

test('set, get, delete and size follow the ids present', () => {
  const table = new IdTable()
  for (let id = 1; id <= 5; id++) table.set(id, `c${id}`)
  table.set(3, 'c3 again')
  assert.equal(table.size, 5)
  assert.equal(table.get(3), 'c3 again')
  assert.equal(table.delete(2), true)
  assert.equal(table.delete(2), false)
  assert.equal(table.get(2), undefined)
  assert.equal(table.size, 4)
  assert.deepEqual(table.values(), ['c1', 'c3 again', 'c4', 'c5'])
  assert.deepEqual([...table], [[1, 'c1'], [3, 'c3 again'], [4, 'c4'], [5, 'c5']])
  table.clear()
  assert.equal(table.size, 0)
  assert.deepEqual(table.values(), [])
})

test('ids like Object.prototype names, 0 and the wrap-around id are plain entries', () => {
  const table = new IdTable()
  table.set(0, 'zero')
  table.set(0x7fffffff, 'last')
  assert.equal(table.get('constructor'), undefined)
  assert.equal(table.get(0), 'zero')
  assert.equal(table.get(0x7fffffff), 'last')
  assert.equal(table.size, 2)
})

test('a long churn of growing ids keeps only what is present', () => {
  const table = new IdTable()
  for (let id = 1; id <= 200_000; id++) {
    table.set(id, id)
    if (id > 64) table.delete(id - 64)
  }
  assert.equal(table.size, 64)
  assert.deepEqual(table.values(), Array.from({ length: 64 }, (_, i) => 200_000 - 63 + i))
})
