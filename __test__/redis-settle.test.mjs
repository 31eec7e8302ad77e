// No command is ever left unsettled: seeded random pipelines, transactions, bad arguments
// and disconnects (manual, CLIENT KILL, the server killed and restarted) thrown at one
// client. Every promise it returned must settle (with a reply, an error, or the
// connection's end) and no rejection may go unhandled. The settle deadline is a hang
// detector, generous on purpose: it measures nothing.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { startRedis } from './helpers/redis-server.mjs'

const Redis = createRequire(import.meta.url)('../lib/ioredis.js')

/** How long every promise gets to settle once the sequence is over. */
const SETTLE_DEADLINE_MS = 20_000
const STEPS = 800

/** mulberry32: a small seeded PRNG, so a failing seed can be replayed. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const KEYS = ['k1', 'k2', 'h', 'l', 's', 'z', 'n']
const VALUES = ['v', '', 'ünï', Buffer.from([0, 255, 1]), 42, -1.5, null, undefined, { o: 1 }, ['nested', 'array']]
/** Calls with arguments Redis or the client refuse: wrong arity, wrong type, bad names, bad values. */
const BAD_CALLS = [
  ['call', 'NOSUCHCOMMAND', 'x'],
  ['call', ''],
  ['call', 42],
  ['call', 'áéű'],
  ['set', 'k1'],
  ['incr', 'h'],
  ['hset', 'k1', 'f', 'v'],
  ['lpush', 'n'],
  ['expire', 'k1', 'soon'],
  ['zadd', 'z', 'nan', 'm'],
  ['eval', 'return redis.call("NOPE")', 0],
  ['eval', 'error("boom")', 0],
  ['evalsha', 'ffffffffffffffffffffffffffffffffffffffff', 0],
  ['set', Symbol('not sendable'), 'v'],
  ['get', { toString: null }],
  // An error reply that is not UTF-8: redis-rs's parser refuses it and drops the
  // connection; the command must still settle (it fails after a few re-sends).
  ['call', 'nosuchcmd', Buffer.from([0xc3])],
]

/** A valid command with random arguments: [method, ...args]. */
function goodCall(pick) {
  const k = pick(KEYS)
  const v = pick(VALUES)
  switch (pick(['set', 'get', 'incr', 'hset', 'hgetall', 'lpush', 'lrange', 'sadd', 'smembers', 'zadd', 'zrange', 'del', 'mget', 'getBuffer', 'hgetallBuffer', 'expire', 'scan', 'echo'])) {
    case 'set':
      return ['set', k, v]
    case 'get':
      return ['get', k]
    case 'incr':
      return ['incr', 'n']
    case 'hset':
      return ['hset', 'h', 'f', v]
    case 'hgetall':
      return ['hgetall', 'h']
    case 'lpush':
      return ['lpush', 'l', v]
    case 'lrange':
      return ['lrange', 'l', 0, -1]
    case 'sadd':
      return ['sadd', 's', v]
    case 'smembers':
      return ['smembers', 's']
    case 'zadd':
      return ['zadd', 'z', 1, v]
    case 'zrange':
      return ['zrange', 'z', 0, -1, 'WITHSCORES']
    case 'del':
      return ['del', k]
    case 'mget':
      return ['mget', KEYS]
    case 'getBuffer':
      return ['getBuffer', k]
    case 'hgetallBuffer':
      return ['hgetallBuffer', 'h']
    case 'expire':
      return ['expire', k, 100]
    case 'scan':
      return ['scan', 0, 'COUNT', 5]
    default:
      return ['echo', v]
  }
}

async function chaos(seed, options) {
  const random = prng(seed)
  const pick = (list) => list[Math.floor(random() * list.length)]
  const server = await startRedis()
  const redis = new Redis({ port: server.port, host: '127.0.0.1', retryStrategy: () => 20, ...options })
  const killer = new Redis({ port: server.port, host: '127.0.0.1', fallback: false, retryStrategy: () => 20 })
  redis.on('error', () => {})
  killer.on('error', () => {})
  redis.defineCommand('bump', { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" })
  const unhandled = []
  const onUnhandled = (reason) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  const tracked = []
  const outcomes = { replies: 0, errors: 0, thrown: 0 }
  const track = (make) => {
    let promise
    try {
      promise = make()
    } catch {
      outcomes.thrown++ // a synchronous TypeError/RangeError is an answer too
      return
    }
    tracked.push(
      Promise.resolve(promise).then(
        () => outcomes.replies++,
        () => outcomes.errors++,
      ),
    )
  }
  try {
    for (let step = 0; step < STEPS; step++) {
      const roll = random()
      if (roll < 0.35) {
        const [method, ...args] = random() < 0.8 ? goodCall(pick) : pick(BAD_CALLS)
        track(() => redis[method](...args))
      } else if (roll < 0.55) {
        // A pipeline, chained or as an array, with good and bad entries and a script.
        const entries = Array.from({ length: 1 + Math.floor(random() * 6) }, () => (random() < 0.8 ? goodCall(pick) : pick(BAD_CALLS)))
        if (random() < 0.3) entries.push(['bump', 'n'])
        if (random() < 0.5) {
          track(() => redis.pipeline(entries).exec())
        } else {
          track(() => {
            const p = redis.pipeline()
            for (const [method, ...args] of entries) p[method](...args)
            return p.exec()
          })
        }
      } else if (roll < 0.72) {
        // A transaction, sometimes aborted by a queue-time error, sometimes inline in a pipeline.
        const entries = Array.from({ length: 1 + Math.floor(random() * 5) }, () => (random() < 0.85 ? goodCall(pick) : pick(BAD_CALLS)))
        const form = random()
        if (form < 0.4) track(() => redis.multi(entries).exec())
        else if (form < 0.8) {
          track(() => {
            const m = redis.multi()
            for (const [method, ...args] of entries) m[method](...args)
            return m.exec()
          })
        } else {
          track(() => {
            const p = redis.pipeline().get('k1').multi()
            for (const [method, ...args] of entries) p[method](...args)
            return p.exec().incr('n').exec()
          })
        }
      } else if (roll < 0.8) {
        // Bad input to the client API itself.
        const bad = pick([
          () => redis.pipeline('not an array'),
          () => redis.pipeline([['noSuchMethod', 'x']]).exec(),
          () => redis.pipeline([[42]]).exec(),
          () => redis.multi([null]).exec(),
          () => redis.call(),
          () => redis.defineCommand('', { lua: 'return 1' }),
          () => redis.set('k1', 'x'.repeat(10), 'EX', -5),
        ])
        track(bad)
      } else if (roll < 0.86) {
        track(() => redis.ping())
        await sleep(Math.floor(random() * 5))
      } else if (roll < 0.9) {
        redis.disconnect(true)
      } else if (roll < 0.94) {
        track(() => killer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes'))
      } else if (roll < 0.96) {
        await server.kill()
        await sleep(Math.floor(random() * 60))
        await server.restart()
      } else if (roll < 0.98) {
        redis.disconnect()
        track(() => redis.get('k1')) // after a manual close: "Connection is closed."
        await sleep(5)
        track(() => redis.connect())
      } else {
        await sleep(Math.floor(random() * 20))
      }
    }
    track(() => redis.quit())
    let timer
    const deadline = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timed out'), SETTLE_DEADLINE_MS)
    })
    const settled = await Promise.race([Promise.all(tracked).then(() => 'settled'), deadline])
    clearTimeout(timer)
    const open = tracked.length - (outcomes.replies + outcomes.errors)
    assert.equal(settled, 'settled', `seed ${seed}: ${open} of ${tracked.length} promises never settled`)
    // Let any late rejection surface before checking for unhandled ones.
    await sleep(50)
    assert.deepEqual(unhandled, [], `seed ${seed}: unhandled rejections`)
    assert.ok(outcomes.replies > 0 && outcomes.errors > 0, `seed ${seed}: ${JSON.stringify(outcomes)}`)
    return outcomes
  } finally {
    process.off('unhandledRejection', onUnhandled)
    redis.disconnect()
    killer.disconnect()
    await server.stop()
  }
}

for (const seed of [1, 2, 3]) {
  test(`every promise settles, none unhandled (fallback off, seed ${seed})`, async () => {
    await chaos(seed, { fallback: false, maxRetriesPerRequest: 3 })
  })
  test(`every promise settles, none unhandled (fallback on, seed ${seed})`, async () => {
    await chaos(seed, { fallbackTimeout: 50 })
  })
}
