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

test('a call pending through a long churn (a blocking command) moves aside and stays reachable', () => {
  const table = new IdTable()
  table.set(1, 'blocking')
  for (let id = 2; id <= 100_000; id++) {
    table.set(id, id)
    if (id > 9) assert.equal(table.delete(id - 8), true)
  }
  assert.equal(table.get(1), 'blocking')
  assert.equal(table.size, 9)
  assert.deepEqual(table.values(), ['blocking', ...Array.from({ length: 8 }, (_, i) => 100_000 - 7 + i)])
  assert.equal(table.delete(1), true)
  assert.equal(table.delete(1), false)
  assert.equal(table.get(1), undefined)
  assert.equal(table.size, 8)
})

test('thousands in flight at once grow the table; every id keeps its value', () => {
  const table = new IdTable()
  for (let id = 1; id <= 5000; id++) table.set(id, `v${id}`)
  table.set(4999, 'again')
  assert.equal(table.size, 5000)
  for (let id = 1; id <= 5000; id++) assert.equal(table.get(id), id === 4999 ? 'again' : `v${id}`)
  for (let id = 1; id <= 5000; id += 2) assert.equal(table.delete(id), true)
  assert.equal(table.size, 2500)
  assert.deepEqual([...table].map(([id]) => id), Array.from({ length: 2500 }, (_, i) => 2 * i + 2))
})

test('ids past 2^31 (a rate limiter counts on) are entries like any other', () => {
  const table = new IdTable()
  const base = 2 ** 33
  for (let k = 0; k < 600; k++) table.set(base + k, k)
  for (let k = 0; k < 600; k++) assert.equal(table.get(base + k), k)
  assert.equal(table.get(base - 1), undefined)
  assert.equal(table.get(base + 600), undefined)
})
