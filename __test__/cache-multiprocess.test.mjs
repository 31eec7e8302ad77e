// Cache across processes: 4 child processes (__test__/fixtures/cache-peer.cjs) on one REAL
// redis-server: the fill lock runs a stampede's factory once in all of them; the bus drops
// stale L1 entries in the others on set/del/deleteByTag/clear.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { startRedis } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Redis } = require('../lib/index.js')
const PEER = fileURLToPath(new URL('./fixtures/cache-peer.cjs', import.meta.url))

let server
let direct
const peers = []
before(async () => {
  server = await startRedis()
  direct = new Redis(server.url, { fallback: false })
})
after(async () => {
  for (const p of peers) p.kill('SIGKILL')
  direct.disconnect()
  await server.stop()
})

/** A Cache in a child process; `call(op, ...args)` runs it there. */
async function peer(options) {
  const child = fork(PEER, [server.url, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  peers.push(child)
  const pending = new Map()
  let next = 0
  child.on('message', (msg) => {
    const p = pending.get(msg.id)
    if (p === undefined) return
    pending.delete(msg.id)
    if ('error' in msg) p.reject(new Error(msg.error))
    else p.resolve(msg.result)
  })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('peer not ready within 20 s')), 20_000)
    child.once('message', (msg) => {
      clearTimeout(timer)
      if (msg.ready) resolve()
    })
  })
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    call(op, ...args) {
      const id = ++next
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ id, op, args })
      })
    },
    /** Asks the peer to close and quit; resolves with its exit code (it must exit on its own). */
    async exit() {
      child.send({ op: 'exit' })
      return exited
    },
  }
}

async function waitFor(condition, what, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

test('4 processes × 250 concurrent wraps of one missing key with the lock: the factory runs once in all', async () => {
  const ps = await Promise.all(Array.from({ length: 4 }, () => peer({ prefix: 'mp1:', lock: { wait: 15_000 } })))
  const results = await Promise.all(ps.map((p) => p.call('wrap', 'hot', 250, 300, { answer: 42 })))
  for (const r of results) {
    assert.equal(r.length, 250)
    for (const v of r) assert.deepEqual(v, { answer: 42 })
  }
  assert.equal(await direct.get('calls:hot'), '1', 'one factory run across 4 processes')
  const stats = await Promise.all(ps.map((p) => p.call('stats')))
  assert.equal(stats.reduce((n, s) => n + s.factoryRuns, 0), 1)
  assert.equal(stats.reduce((n, s) => n + s.coalesced, 0), 4 * 249, 'one Redis waiter per process, the rest coalesced locally')
  // No lock left behind.
  assert.equal(await direct.exists('mp1:l:hot'), 0)
  for (const p of ps) assert.equal(await p.exit(), 0)
})

test('without the lock each process runs the factory once (local single-flight only)', async () => {
  const ps = await Promise.all(Array.from({ length: 2 }, () => peer({ prefix: 'mp2:' })))
  await Promise.all(ps.map((p) => p.call('wrap', 'cold', 100, 300, 'v')))
  assert.equal(await direct.get('calls:cold'), '2')
  for (const p of ps) assert.equal(await p.exit(), 0)
})

test('the bus drops other processes\' L1 entries on set, del, deleteByTag and clear', async () => {
  const [a, b] = await Promise.all([peer({ prefix: 'mp3:', ttl: '1h' }), peer({ prefix: 'mp3:', ttl: '1h' })])
  // b's own read of a value can race the bus message announcing it (harmless: b reads L2
  // again later); wait for the messages before reading, so the test checks the bus alone.
  const heard = async (n) => waitFor(async () => (await b.call('stats')).bus.received >= n, `b to hear ${n} messages`)
  await a.call('set', 'x', 1)
  await heard(1)
  assert.equal(await b.call('get', 'x'), 1)
  assert.equal(await b.call('inL1', 'x'), true)

  await a.call('set', 'x', 2)
  await waitFor(async () => !(await b.call('inL1', 'x')), 'b to drop x after a set')
  assert.equal(await b.call('get', 'x'), 2)

  await a.call('del', 'x')
  await waitFor(async () => !(await b.call('inL1', 'x')), 'b to drop x after a del')
  assert.equal(await b.call('get', 'x'), undefined)

  await a.call('set', 't1', 'one', { tags: ['group'] })
  await a.call('set', 't2', 'two', { tags: ['group', 'other'] })
  await a.call('set', 'u', 'untagged')
  await heard(5)
  for (const k of ['t1', 't2', 'u']) assert.notEqual(await b.call('get', k), undefined)
  await a.call('deleteByTag', 'group')
  await waitFor(async () => !(await b.call('inL1', 't1')) && !(await b.call('inL1', 't2')), 'b to drop tagged keys')
  assert.equal(await b.call('inL1', 'u'), true, 'untagged entries stay')
  assert.equal(await b.call('get', 't1'), undefined)
  assert.equal(await b.call('get', 't2'), undefined)

  await a.call('clear')
  await waitFor(async () => !(await b.call('inL1', 'u')), 'b to drop everything after clear')
  assert.equal(await b.call('get', 'u'), undefined)
  const stats = await b.call('stats')
  assert.ok(stats.bus.received >= 4, `b received ${stats.bus.received} bus messages`)
  for (const p of [a, b]) assert.equal(await p.exit(), 0)
})
