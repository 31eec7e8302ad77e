// diagnostics_channel tracing: the same `ioredis:command` / `ioredis:connect` events and
// contexts as ioredis 5.11 (checked side by side against the real ioredis on a REAL
// redis-server), plus `backend`; nothing published without subscribers.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import dc from 'node:diagnostics_channel'
import { createRequire } from 'node:module'
import { startRedis, redisServerAvailable } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Redis } = require('../lib/index.js')
const IORedis = require('ioredis')
const { sanitizeArgs } = require('../lib/redis-tracing.js')

const servers = []
after(async () => {
  for (const s of servers) await s.stop()
})

/** Records every event of a tracing channel while `run()` runs. */
async function traced(name, run) {
  const channel = dc.tracingChannel(name)
  const events = []
  const handlers = Object.fromEntries(['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((kind) => [kind, (ctx) => events.push({ kind, ctx: { ...ctx } })]))
  channel.subscribe(handlers)
  try {
    await run()
  } finally {
    channel.unsubscribe(handlers)
  }
  return events
}

/** Context without what differs by design or by run (result/error objects, backend). */
function comparable(events) {
  return events.map(({ kind, ctx }) => {
    const { result, error, backend, ...rest } = ctx
    return { kind, ...rest, ...(error ? { error: error.message } : {}) }
  })
}

test('command and connect events match ioredis 5.11 event for event, plus backend', { skip: !redisServerAvailable() && 'redis-server is not installed' }, async () => {
  const s = await startRedis()
  servers.push(s)
  const work = async (client) => {
    await client.set('traced', 'secret-value')
    await client.get('traced')
    await client.hset('h', 'field', 'secret')
    await client.incr('traced').catch(() => {})
    await client.auth('nobody', 'pw').catch(() => {})
  }
  const run = async (Client) => {
    const client = new Client({ host: '127.0.0.1', port: s.port, lazyConnect: true })
    client.on('error', () => {})
    const connect = await traced('ioredis:connect', () => client.connect())
    const commands = await traced('ioredis:command', () => work(client))
    await client.quit()
    return { connect, commands }
  }
  const theirs = await run(IORedis)
  const ours = await run(Redis)
  assert.deepEqual(comparable(ours.commands), comparable(theirs.commands))
  assert.deepEqual(comparable(ours.connect), comparable(theirs.connect))
  assert.ok(ours.commands.length >= 10, 'start/end/asyncStart/asyncEnd per command')
  assert.ok(ours.commands.every((e) => e.ctx.backend === 'redis'))
  const set = ours.commands.find((e) => e.kind === 'start' && e.ctx.command === 'set')
  assert.deepEqual(set.ctx.args, ['traced', '?'], 'values are redacted as ioredis does')
  assert.ok(ours.commands.some((e) => e.kind === 'error' && e.ctx.command === 'incr'))
})

test('memory commands are traced with backend memory, also on the fast path', async () => {
  const r = new Redis(`memory://tracing-${process.pid}`)
  await r.set('warm', '1')
  const events = await traced('ioredis:command', async () => {
    await r.set('k', 'v')
    assert.equal(await r.get('k'), 'v')
  })
  const starts = events.filter((e) => e.kind === 'start')
  assert.deepEqual(
    starts.map((e) => [e.ctx.command, e.ctx.backend, e.ctx.database]),
    [
      ['set', 'memory', 0],
      ['get', 'memory', 0],
    ],
  )
  assert.equal(events.filter((e) => e.kind === 'asyncEnd').length, 2)
  await r.quit()
})

test('without subscribers nothing is published and the promise is the command promise', async () => {
  const channel = dc.tracingChannel('ioredis:command')
  assert.equal(channel.hasSubscribers, false)
  const r = new Redis(`memory://untraced-${process.pid}`)
  assert.equal(await r.set('a', '1'), 'OK')
  await r.quit()
})

test('sanitizeArgs keeps exactly the arguments ioredis keeps', () => {
  const theirs = require('ioredis/built/tracing.js').sanitizeArgs
  const cases = [
    ['set', ['k', 'v', 'EX', 10]],
    ['hset', ['h', 'f', 'v']],
    ['mget', ['a', 'b']],
    ['get', ['k']],
    ['eval', ['return 1', 0]],
    ['auth', ['user', 'pw']],
    ['echo', ['x']],
    ['publish', ['ch', 'message']],
    ['zadd', ['z', 1, 'm']],
    ['lrange', ['l', 0, -1]],
    ['custom-command', ['x', 'y']],
  ]
  for (const [name, args] of cases) assert.deepEqual(sanitizeArgs(name, args), theirs(name, args), name)
  assert.deepEqual(sanitizeArgs('set', ['k', 'v']), ['k', '?'])
})
