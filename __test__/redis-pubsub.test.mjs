// Pub/sub on bulwark's client across two connections to a real redis-server.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis } from './helpers/redis-server.mjs'

const Redis = createRequire(import.meta.url)('../lib/ioredis.js')

let server
let pub
before(async () => {
  server = await startRedis()
  pub = new Redis(server.port, '127.0.0.1')
})
after(async () => {
  await pub.quit()
  await server.stop()
})

const nextEvent = (emitter, name) => new Promise((resolve) => emitter.once(name, (...args) => resolve(args)))

async function publishUntil(channel, message, received) {
  for (let i = 0; i < 200 && !received(); i++) {
    await pub.publish(channel, message)
    await sleep(25)
  }
}

test('subscribe/psubscribe/ssubscribe: counts, message/messageBuffer/pmessage/smessage events', async () => {
  const sub = pub.duplicate()
  try {
    assert.equal(await sub.subscribe('news', 'sport'), 2)
    assert.equal(sub.mode, 'subscriber')
    assert.equal(await sub.psubscribe('user:*'), 3)
    assert.equal(await sub.ssubscribe('shard-chan'), 1)
    const message = nextEvent(sub, 'message')
    const messageBuffer = nextEvent(sub, 'messageBuffer')
    assert.equal(await pub.publish('news', 'hello'), 1)
    assert.deepEqual(await message, ['news', 'hello'])
    assert.deepEqual(await messageBuffer, [Buffer.from('news'), Buffer.from('hello')])
    const pmessage = nextEvent(sub, 'pmessage')
    await pub.publish('user:42', Buffer.from([0xff, 0x00]))
    const [pattern, channel, payload] = await pmessage
    assert.equal(pattern, 'user:*')
    assert.equal(channel, 'user:42')
    assert.equal(typeof payload, 'string')
    const smessage = nextEvent(sub, 'smessage')
    assert.equal(await pub.spublish('shard-chan', 'sharded'), 1)
    assert.deepEqual(await smessage, ['shard-chan', 'sharded'])
  } finally {
    await sub.quit()
  }
})

test('subscriber mode rejects other commands; unsubscribe() from all returns to normal mode', async () => {
  const sub = pub.duplicate()
  try {
    await sub.subscribe('a', 'b')
    await assert.rejects(sub.get('k'), /Connection in subscriber mode, only subscriber commands may be used/)
    assert.equal(await sub.unsubscribe('a'), 1)
    assert.equal(await sub.unsubscribe(), 0)
    assert.equal(sub.mode, 'normal')
    assert.equal(await sub.set('k', 'v'), 'OK')
    const cb = await new Promise((resolve, reject) => sub.subscribe('c', (err, n) => (err ? reject(err) : resolve(n))))
    assert.equal(cb, 1)
  } finally {
    await sub.quit()
  }
})

test('bad input: empty subscribe, non-string channels', async () => {
  const sub = pub.duplicate()
  try {
    await assert.rejects(sub.subscribe(), /wrong number of arguments/)
    await assert.rejects(sub.subscribe(42), TypeError)
    await assert.rejects(sub.psubscribe({}), TypeError)
    assert.equal(await sub.unsubscribe(), 0)
  } finally {
    await sub.quit()
  }
})

test('auto-resubscribe after the server kills the subscriber connection', async () => {
  const sub = new Redis(server.port, '127.0.0.1', { retryStrategy: () => 20 })
  sub.on('error', () => {})
  try {
    await sub.subscribe('resub')
    await sub.psubscribe('re*')
    const got = []
    sub.on('message', (c, m) => got.push(m))
    await pub.client('KILL', 'TYPE', 'pubsub')
    await publishUntil('resub', 'after-kill', () => got.includes('after-kill'))
    assert.ok(got.includes('after-kill'))
    assert.equal(await pub.publish('resub', 'x'), 2) // channel + pattern on one connection
  } finally {
    sub.disconnect()
  }
})
