// Lua scripts through the client on both backends: the real rate-limit-redis and
// rate-limiter-flexible, defineCommand, scripts crossing an outage, hostile scripts.
// Every comparison runs the same sequence against a memory:// client and against a
// client on a real redis-server and expects the same transcript.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { startRedis, rawCommand } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Redis } = require('../lib/index.js')
const { ReplyError } = Redis
const express = require('express')
const { rateLimit } = require('express-rate-limit')
const { RedisStore } = require('rate-limit-redis')
const { RateLimiterRedis } = require('rate-limiter-flexible')

let server
const clients = []
let engines = 0

before(async () => {
  server = await startRedis()
})
after(async () => {
  for (const c of clients) c.disconnect()
  await server.stop()
})

function track(c) {
  clients.push(c)
  return c
}

/** A fresh memory:// client (its own engine) and a client on the shared redis-server (flushed). */
async function bothBackends(options = {}) {
  const memory = track(new Redis(`memory://scripting-${process.pid}-${engines++}`, options))
  const redis = track(new Redis(server.port, '127.0.0.1', options))
  await redis.flushall()
  await redis.script('FLUSH')
  assert.equal(memory.backend, 'memory')
  assert.equal(redis.backend, 'redis')
  return { memory, redis }
}

/** Runs `scenario(client)` on both backends and asserts identical transcripts; returns one. */
async function sameOnBoth(scenario, options) {
  const { memory, redis } = await bothBackends(options)
  const fromRedis = await scenario(redis)
  const fromMemory = await scenario(memory)
  assert.deepEqual(fromMemory, fromRedis)
  assert.equal(memory.backend, 'memory')
  assert.equal(redis.backend, 'redis')
  return fromRedis
}

const sha1 = (text) => createHash('sha1').update(text).digest('hex')

/** The outcome of a promise as data: the value, or the error's class and message. */
async function outcome(promise) {
  try {
    return { value: await promise }
  } catch (err) {
    return { error: err.constructor.name, message: err.message }
  }
}

/** A pipeline/multi result row ([err] or [null, value]) as data. */
const row = ([err, value]) => (err ? { error: err.constructor.name, message: err.message } : { value })

test('rate-limit-redis behind express-rate-limit: same statuses, headers and hit counts on memory:// and Redis', async () => {
  const transcript = await sameOnBoth(async (client) => {
    const store = new RedisStore({ sendCommand: (...args) => client.call(...args), prefix: 'rl:' })
    const app = express()
    app.set('trust proxy', false)
    // A one-minute window: the sequence below ends long before it could reset.
    app.use(rateLimit({ windowMs: 60_000, limit: 4, standardHeaders: 'draft-6', legacyHeaders: false, store }))
    app.get('/', (req, res) => res.send('ok'))
    const http = app.listen(0, '127.0.0.1')
    await once(http, 'listening')
    const url = `http://127.0.0.1:${http.address().port}/`
    const seen = []
    try {
      for (let i = 0; i < 7; i++) {
        const res = await fetch(url)
        await res.text()
        const reset = Number(res.headers.get('ratelimit-reset'))
        assert.ok(reset > 0 && reset <= 60, `reset ${reset}`)
        seen.push([res.status, res.headers.get('ratelimit-limit'), res.headers.get('ratelimit-remaining')])
      }
      // The store API directly: get, decrement, resetKey.
      const key = '127.0.0.1'
      const info = await store.get(key)
      seen.push(['get', info.totalHits])
      await store.decrement(key)
      seen.push(['after decrement', (await store.get(key)).totalHits])
      await store.resetKey(key)
      seen.push(['after reset', (await store.get(key)).totalHits])
      const first = await store.increment('other')
      assert.ok(first.resetTime.getTime() > Date.now() && first.resetTime.getTime() <= Date.now() + 60_000)
      seen.push(['increment other', first.totalHits, (await store.increment('other')).totalHits])
      // The store survives SCRIPT FLUSH: NOSCRIPT makes it load the script again.
      await client.script('FLUSH')
      seen.push(['after flush', (await store.increment('other')).totalHits])
      seen.push(['raw key', await client.get('rl:other')])
    } finally {
      http.close()
    }
    return seen
  })
  assert.deepEqual(transcript, [
    [200, '4', '3'],
    [200, '4', '2'],
    [200, '4', '1'],
    [200, '4', '0'],
    [429, '4', '0'],
    [429, '4', '0'],
    [429, '4', '0'],
    ['get', 7],
    ['after decrement', 6],
    // rate-limit-redis's get script answers {false, -2} for a missing key: Redis turns
    // false into nil and the store parses that as NaN (on both backends alike).
    ['after reset', NaN],
    ['increment other', 1, 2],
    ['after flush', 3],
    ['raw key', '3'],
  ])
})

test('rate-limiter-flexible RateLimiterRedis (ioredis-style client): same decisions on memory:// and Redis', async () => {
  const transcript = await sameOnBoth(async (client) => {
    const limiter = new RateLimiterRedis({ storeClient: client, useRedisPackage: false, points: 5, duration: 60, keyPrefix: 'rlf' })
    const decisions = []
    const summary = (res) => [res.consumedPoints, res.remainingPoints, res.isFirstInDuration, res.msBeforeNext > 0 && res.msBeforeNext <= 60_000]
    for (let i = 0; i < 7; i++) {
      try {
        decisions.push(['allowed', ...summary(await limiter.consume('user-1'))])
      } catch (rejected) {
        assert.ok(!(rejected instanceof Error), `rejected with an error: ${rejected}`)
        decisions.push(['blocked', ...summary(rejected)])
      }
    }
    decisions.push(['consume 3', ...summary(await limiter.consume('user-2', 3))])
    decisions.push(['penalty 1', ...summary(await limiter.penalty('user-2', 1))])
    decisions.push(['reward 2', ...summary(await limiter.reward('user-2', 2))])
    decisions.push(['get', ...summary(await limiter.get('user-2'))])
    decisions.push(['get unknown', await limiter.get('nobody')])
    // block() writes with MULTI (SET EX + PTTL) instead of the script.
    decisions.push(['block', ...summary(await limiter.block('user-3', 30))])
    decisions.push(['blocked get', ...summary(await limiter.get('user-3'))])
    decisions.push(['delete', await limiter.delete('user-2'), await limiter.get('user-2')])
    decisions.push(['raw', await client.get('rlf:user-1'), await client.ttl('rlf:user-1') > 0])
    await assert.rejects(limiter.consume('user-4', 1.5), /decimal/)
    // duration 0 (no expiry): MULTI INCRBY + PTTL instead of the script.
    const forever = new RateLimiterRedis({ storeClient: client, useRedisPackage: false, points: 2, duration: 0, keyPrefix: 'rlf0' })
    for (let i = 0; i < 3; i++) {
      try {
        const res = await forever.consume('u')
        decisions.push(['forever allowed', res.consumedPoints, res.remainingPoints, res.msBeforeNext])
      } catch (res) {
        decisions.push(['forever blocked', res.consumedPoints, res.remainingPoints, res.msBeforeNext])
      }
    }
    return decisions
  })
  assert.deepEqual(transcript.slice(0, 7), [
    ['allowed', 1, 4, true, true],
    ['allowed', 2, 3, false, true],
    ['allowed', 3, 2, false, true],
    ['allowed', 4, 1, false, true],
    ['allowed', 5, 0, false, true],
    ['blocked', 6, 0, false, true],
    ['blocked', 7, 0, false, true],
  ])
  assert.deepEqual(transcript.slice(7), [
    ['consume 3', 3, 2, true, true],
    ['penalty 1', 4, 1, false, true],
    ['reward 2', 2, 3, false, true],
    ['get', 2, 3, false, true],
    ['get unknown', null],
    ['block', 6, 0, false, true],
    ['blocked get', 6, 0, false, true],
    ['delete', true, null],
    ['raw', '7', true],
    ['forever allowed', 1, 1, -1],
    ['forever allowed', 2, 0, -1],
    ['forever blocked', 3, 0, -1],
  ])
})

const DEFINED = {
  counter: { numberOfKeys: 1, lua: "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], 60000) return n" },
  shapes: {
    numberOfKeys: 0,
    lua: "return {1, 'two', 3.99, -3.99, true, false, {ok='fine'}, {'nested', {1}}, redis.status_reply('S'), cjson.encode({a={1,2}}), 'after'}",
  },
  stopsAtNil: { numberOfKeys: 0, lua: 'return {1, 2, nil, 4}' },
  custom: { numberOfKeys: 0, lua: "return redis.error_reply('MYERR custom ' .. ARGV[1])" },
  wrongType: { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" },
  caught: { numberOfKeys: 1, lua: "local r = redis.pcall('INCR', KEYS[1]) return {type(r), r.err}" },
  badCall: { numberOfKeys: 0, lua: "return redis.call('NOSUCHCMD')" },
  raising: { numberOfKeys: 0, lua: "error('raised ' .. ARGV[1])" },
  // numberOfKeys left to the caller, as ioredis allows.
  dynamic: { lua: 'return {#KEYS, #ARGV, KEYS[1], ARGV[1]}' },
}

/** Every defined command, called directly, by its Buffer twin, in a pipeline and in a MULTI. */
async function definedScenario(client) {
  for (const [name, def] of Object.entries(DEFINED)) client.defineCommand(name, def)
  await client.set('text', 'not a number')
  const t = []
  t.push(await outcome(client.counter('n', 5)))
  t.push(await outcome(client.counter('n', '2')))
  t.push(await outcome(client.shapes()))
  t.push(await outcome(client.stopsAtNil()))
  t.push(await outcome(client.custom('x')))
  t.push(await outcome(client.wrongType('text')))
  t.push(await outcome(client.caught('text')))
  t.push(await outcome(client.badCall()))
  t.push(await outcome(client.raising('boom')))
  t.push(await outcome(client.dynamic(2, 'k1', 'k2', 'a1')))
  t.push(await outcome(client.dynamic(0)))
  t.push(await outcome(client.dynamic(-1)))
  t.push(await outcome(client.dynamic(3, 'only-one')))
  t.push(await outcome(client.counterBuffer('n', 1)))
  t.push(await outcome(client.shapesBuffer()))
  const callback = await new Promise((resolve) => client.counter('n', 1, (err, value) => resolve([err, value])))
  t.push(callback)
  // SCRIPT FLUSH: as in ioredis, a script this connection ran is sent as EVALSHA; the
  // NOSCRIPT answer makes a direct call (and a pipeline's) send it again as EVAL, after
  // the pipeline's other commands; in MULTI the entry carries NOSCRIPT (stopsAtNil).
  await client.script('FLUSH')
  t.push(await outcome(client.counter('n', 1)))
  await client.script('FLUSH')
  const piped = await client.pipeline().counter('p', 1).custom('y').get('p').wrongType('text').shapes().counter('p', 10).dynamic(1, 'k', 'v').exec()
  t.push(piped.map(row))
  const multi = await client.multi().counter('m', 3).custom('z').wrongType('text').set('s', 'v').counter('m', 4).stopsAtNil().exec()
  t.push(multi.map(row))
  t.push(await outcome(client.multi().counter('m', 1).shapesBuffer().exec()))
  // A queue-time error (wrong numkeys is only known when EXEC runs the script; a wrong
  // arity is refused while queueing) aborts the whole transaction.
  t.push(await outcome(client.multi().counter('m', 1).call('GET').exec()))
  t.push(['m after abort', await client.get('m')])
  t.push(['keys', (await client.keys('*')).sort()])
  return t
}

test('defineCommand gives the same results and errors on memory:// and Redis, also in pipeline() and multi()', async () => {
  const t = await sameOnBoth(definedScenario)
  const shaOf = (name) => sha1(DEFINED[name].lua)
  assert.deepEqual(t[0], { value: 5 })
  assert.deepEqual(t[1], { value: 7 })
  assert.deepEqual(t[2], { value: [1, 'two', 3, -3, 1, null, 'fine', ['nested', [1]], 'S', '{"a":[1,2]}', 'after'] })
  assert.deepEqual(t[3], { value: [1, 2] })
  assert.deepEqual(t[4], { error: 'ReplyError', message: 'MYERR custom x' })
  assert.equal(t[5].error, 'ReplyError')
  assert.match(t[5].message, new RegExp(`^ERR value is not an integer or out of range script: ${shaOf('wrongType')}, on @user_script:1\\.$`))
  assert.deepEqual(t[6], { value: ['table', 'ERR value is not an integer or out of range'] })
  assert.match(t[7].message, /^ERR Unknown Redis command called from script/)
  assert.match(t[8].message, /^ERR user_script:1: raised boom script: /)
  assert.deepEqual(t[9], { value: [2, 1, 'k1', 'a1'] })
  assert.deepEqual(t[10], { value: [0, 0] }) // the reply array stops at the first nil
  assert.match(t[11].message, /^ERR Number of keys can't be negative/)
  assert.match(t[12].message, /^ERR Number of keys can't be greater than number of args/)
  assert.deepEqual(t[13], { value: 8 })
  assert.ok(Buffer.isBuffer(t[14].value[1]) && t[14].value[1].toString() === 'two')
  assert.deepEqual(t[15], [null, 9])
  assert.deepEqual(t[16], { value: 10 })
  assert.deepEqual(t[17].map((r) => ('value' in r ? r.value : r.message.split(' ')[0])), [1, 'MYERR', null, 'ERR', t[2].value, 11, [1, 1, 'k', 'v']])
  assert.deepEqual(t[18].map((r) => r.value ?? r.message.split(' ')[0]), [3, 'MYERR', 'ERR', 'OK', 7, 'NOSCRIPT'])
  assert.equal(t[19].value[1][1][1].toString(), 'two')
  assert.match(t[20].message, /^EXECABORT/)
  assert.deepEqual(t[21], ['m after abort', '8'])
  assert.deepEqual(t[22], ['keys', ['m', 'n', 'p', 's', 'text']])
})

test('defineCommand with keyPrefix: KEYS are prefixed the same way on both backends', async () => {
  const t = await sameOnBoth(
    async (client) => {
      client.defineCommand('touchBoth', { numberOfKeys: 2, lua: "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[1]) return KEYS" })
      const direct = await client.touchBoth('a', 'b', 'v')
      const [[, piped]] = await client.pipeline().touchBoth('c', 'd', 'w').exec()
      const unprefixed = new Redis({ ...client.options, keyPrefix: '' })
      track(unprefixed)
      return [direct, piped, (await unprefixed.keys('*')).sort()]
    },
    { keyPrefix: 'app:' },
  )
  assert.deepEqual(t, [['app:a', 'app:b'], ['app:c', 'app:d'], ['app:a', 'app:b', 'app:c', 'app:d']])
})

test('SCRIPT FLUSH forgets scripts on both backends: EVALSHA answers NOSCRIPT afterwards', async () => {
  const t = await sameOnBoth(async (client) => {
    const loaded = await client.script('LOAD', 'return 7')
    const out = [await outcome(client.evalsha(loaded, 0))]
    await client.eval('return 8', 0)
    out.push(await outcome(client.evalsha(sha1('return 8'), 0)))
    // A malformed FLUSH is refused and forgets nothing.
    out.push(await outcome(client.call('SCRIPT', 'FLUSH', 'NOW')))
    out.push(await outcome(client.evalsha(loaded, 0)))
    out.push(await client.script('FLUSH', 'ASYNC'))
    out.push(await client.script('EXISTS', loaded, sha1('return 8')))
    out.push(await outcome(client.evalsha(loaded, 0)))
    out.push(await outcome(client.evalsha(sha1('return 8'), 0)))
    return out
  })
  const noscript = { error: 'ReplyError', message: 'NOSCRIPT No matching script. Please use EVAL.' }
  assert.deepEqual(t[0], { value: 7 })
  assert.deepEqual(t[1], { value: 8 })
  assert.equal(t[2].error, 'ReplyError')
  assert.deepEqual(t.slice(3), [{ value: 7 }, 'OK', [0, 0], noscript, noscript])
})

const onceEvent = (emitter, name) => new Promise((resolve) => emitter.once(name, resolve))

test('scripts cross an outage: loaded on Redis, run by EVALSHA in memory; loaded in memory, run by EVALSHA on Redis', async () => {
  const redis = await startRedis()
  try {
    const client = track(new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 50 }))
    client.on('error', () => {}) // connection errors are expected during the outage
    const loaded = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
    const evaluated = "return {KEYS[1], redis.call('GET', KEYS[1])}"
    const duringOutage = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('STRLEN', KEYS[1])"
    const loadedSha = await client.script('LOAD', loaded)
    assert.equal(loadedSha, sha1(loaded))
    await client.set('counter', 10)
    assert.deepEqual(await client.eval(evaluated, 1, 'counter'), ['counter', '10'])
    assert.equal(client.backend, 'redis')

    const fellBack = onceEvent(client, 'fallback')
    await redis.kill()
    // Answered from memory once the outage is declared; memory starts empty.
    assert.equal(await client.evalsha(loadedSha, 1, 'counter', 5), 5)
    await fellBack
    assert.equal(client.backend, 'memory')
    assert.equal(await client.evalsha(loadedSha, 1, 'counter', 2), 7)
    assert.deepEqual(await client.evalsha(sha1(evaluated), 1, 'counter'), ['counter', '7'])
    // A client of the same server that never saw the scripts finds them too (shared engine).
    const other = track(new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 50 }))
    other.on('error', () => {})
    const otherFellBack = onceEvent(other, 'fallback')
    assert.equal(await other.evalsha(loadedSha, 1, 'counter', 1), 8)
    await otherFellBack
    assert.equal(other.backend, 'memory')
    // Unknown scripts still answer NOSCRIPT in memory, as Redis does.
    await assert.rejects(client.evalsha(sha1('return 0'), 0), (err) => err instanceof ReplyError && /^NOSCRIPT/.test(err.message))
    const outageSha = await client.script('LOAD', duringOutage)
    assert.equal(outageSha, sha1(duringOutage))
    assert.equal(await client.evalsha(outageSha, 1, 'written', 'abc'), 3)

    const recovered = onceEvent(client, 'recover')
    await redis.restart()
    await recovered
    assert.equal(client.backend, 'redis')
    // The restarted server knew no script: recovery loaded every script the client saw.
    assert.equal(await rawCommand(redis.port, `SCRIPT EXISTS ${outageSha} ${loadedSha} ${sha1(evaluated)}`), '*3\r\n:1\r\n:1\r\n:1')
    assert.equal(await client.evalsha(outageSha, 1, 'written2', 'abcd'), 4)
    assert.equal(await client.evalsha(loadedSha, 1, 'counter', 1), 9)
    // Replayed keys: the outage's writes are on Redis now.
    assert.equal(await rawCommand(redis.port, 'GET written'), '$3\r\nabc')
    assert.equal(await rawCommand(redis.port, 'GET written2'), '$4\r\nabcd')
    assert.equal(await rawCommand(redis.port, 'GET counter'), '$1\r\n9')
    await client.quit()
    await other.quit()
  } finally {
    await redis.stop()
  }
})

test('rate-limit-redis and rate-limiter-flexible keep limiting through an outage (their scripts run from memory) and recover', async () => {
  const redis = await startRedis()
  let http
  try {
    const client = track(new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 50 }))
    client.on('error', () => {})
    const store = new RedisStore({ sendCommand: (...args) => client.call(...args), prefix: 'rl:' })
    const app = express()
    app.use(rateLimit({ windowMs: 60_000, limit: 3, standardHeaders: 'draft-6', legacyHeaders: false, store }))
    app.get('/', (req, res) => res.send('ok'))
    http = app.listen(0, '127.0.0.1')
    await once(http, 'listening')
    const url = `http://127.0.0.1:${http.address().port}/`
    const hit = async () => {
      const res = await fetch(url)
      await res.text()
      return [res.status, res.headers.get('ratelimit-remaining')]
    }
    const limiter = new RateLimiterRedis({ storeClient: client, useRedisPackage: false, points: 3, duration: 60, keyPrefix: 'rlf' })
    const consume = () =>
      limiter.consume('u').then(
        (res) => ['allowed', res.remainingPoints],
        (res) => (res instanceof Error ? ['error', res.message] : ['blocked', res.remainingPoints]),
      )

    assert.deepEqual([await hit(), await hit()], [[200, '2'], [200, '1']])
    assert.deepEqual([await consume(), await consume()], [['allowed', 2], ['allowed', 1]])

    const fellBack = onceEvent(client, 'fallback')
    await redis.kill()
    // The memory engine starts empty: each limiter counts a fresh window there, by the
    // sha of the script it loaded on Redis (no store error, no 500).
    const during = [await hit(), await hit(), await hit(), await hit()]
    await fellBack
    assert.equal(client.backend, 'memory')
    assert.deepEqual(during, [[200, '2'], [200, '1'], [200, '0'], [429, '0']])
    assert.deepEqual([await consume(), await consume(), await consume(), await consume()], [['allowed', 2], ['allowed', 1], ['allowed', 0], ['blocked', 0]])

    const recovered = onceEvent(client, 'recover')
    await redis.restart()
    await recovered
    assert.equal(client.backend, 'redis')
    // recovery: 'replay' wrote the outage's counts back; both limiters go on from them on Redis.
    assert.equal(await rawCommand(redis.port, 'GET rl:127.0.0.1'), '$1\r\n4')
    assert.deepEqual(await hit(), [429, '0'])
    assert.deepEqual(await consume(), ['blocked', 0])
    assert.equal(await rawCommand(redis.port, 'GET rlf:u'), '$1\r\n5')
    await client.quit()
  } finally {
    http?.close()
    await redis.stop()
  }
})

test('a script flushed on Redis before an outage answers NOSCRIPT in memory, as Redis would', async () => {
  const redis = await startRedis()
  try {
    const client = track(new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 50 }))
    client.on('error', () => {})
    const kept = await client.script('LOAD', 'return 1')
    await client.script('FLUSH')
    const reloaded = await client.script('LOAD', 'return 2')
    const fellBack = onceEvent(client, 'fallback')
    await redis.kill()
    await assert.rejects(client.evalsha(kept, 0), (err) => err instanceof ReplyError && /^NOSCRIPT/.test(err.message))
    await fellBack
    assert.equal(client.backend, 'memory')
    assert.equal(await client.evalsha(reloaded, 0), 2)
    await client.quit()
  } finally {
    await redis.stop()
  }
})

test("scripts loaded during an outage are on Redis after recovery also with recovery: 'discard'", async () => {
  const redis = await startRedis()
  try {
    const client = track(new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 50, recovery: 'discard' }))
    client.on('error', () => {})
    await client.ping()
    const fellBack = onceEvent(client, 'fallback')
    await redis.kill()
    const lua = "return redis.call('INCR', KEYS[1])"
    const sha = await client.script('LOAD', lua)
    await fellBack
    assert.equal(await client.evalsha(sha, 1, 'gone'), 1)
    const recovered = onceEvent(client, 'recover')
    await redis.restart()
    await recovered
    assert.equal(await client.get('gone'), null) // discarded, as asked
    assert.equal(await client.evalsha(sha, 1, 'kept'), 1)
    await client.quit()
  } finally {
    await redis.stop()
  }
})

test('an EVAL that does not compile does not spoil recovery: the outage keys are replayed and good scripts loaded', async () => {
  const redis = await startRedis()
  try {
    const client = track(new Redis(redis.port, '127.0.0.1', { retryStrategy: () => 50 }))
    client.on('error', () => {})
    // The client remembers every EVAL source, also one Redis refuses to compile.
    await assert.rejects(client.eval('this is not lua', 0), (err) => err instanceof ReplyError && /Error compiling script/.test(err.message))
    const fellBack = onceEvent(client, 'fallback')
    await redis.kill()
    await assert.rejects(client.eval('neither is this', 0), (err) => err instanceof ReplyError && /Error compiling script/.test(err.message))
    const good = "return redis.call('SET', KEYS[1], ARGV[1])"
    assert.equal(await client.eval(good, 1, 'during', 'outage'), 'OK')
    await fellBack
    const recovered = onceEvent(client, 'recover')
    await redis.restart()
    await recovered
    assert.equal(client.backend, 'redis')
    assert.equal(await rawCommand(redis.port, 'GET during'), '$6\r\noutage')
    assert.equal(await rawCommand(redis.port, `SCRIPT EXISTS ${sha1(good)}`), '*1\r\n:1')
    assert.equal(await client.evalsha(sha1(good), 1, 'after', 'recovery'), 'OK')
    assert.equal(client.backend, 'redis')
    assert.equal(await rawCommand(redis.port, 'GET after'), '$8\r\nrecovery')
    await client.quit()
  } finally {
    await redis.stop()
  }
})

/** A client on a fresh engine with a little data in place, and the check that it is intact. */
async function victim() {
  const client = track(new Redis(`memory://hostile-${process.pid}-${engines++}`))
  await client.set('safe', 'value')
  await client.hset('h', { a: '1', b: '2' })
  await client.rpush('l', 'x', 'y')
  const intact = async () => {
    assert.equal(await client.ping(), 'PONG')
    assert.equal(await client.get('safe'), 'value')
    assert.deepEqual(await client.hgetall('h'), { a: '1', b: '2' })
    assert.deepEqual(await client.lrange('l', 0, -1), ['x', 'y'])
    assert.equal(await client.incr('counter-after'), 1)
    await client.del('counter-after')
  }
  return { client, intact }
}

const HOSTILE = [
  ['os.execute', "return os.execute('touch /tmp/bulwark-pwned')", /nonexistent global variable 'os'/],
  ['io.open', "return io.open('/etc/passwd'):read('*a')", /nonexistent global variable 'io'/],
  ['loadfile', "return loadfile('/etc/passwd')", /nonexistent global variable 'loadfile'/],
  ['dofile', "return dofile('/etc/passwd')", /nonexistent global variable 'dofile'/],
  ['require', "return require('os')", /nonexistent global variable 'require'/],
  ['package', 'return package.loaded', /nonexistent global variable 'package'/],
  ['debug', 'return debug.getregistry()', /nonexistent global variable 'debug'/],
  ['getfenv', 'return getfenv(0)', /nonexistent global variable 'getfenv'/],
  ['new global', 'pwned = 1 return 1', /Attempt to modify a readonly table/],
  ['overwrite redis.call', "redis.call = function() return 'fake' end return 1", /Attempt to modify a readonly table/],
  ['overwrite string.rep', 'string.rep = nil return 1', /Attempt to modify a readonly table/],
  ['rawset _G', "rawset(_G, 'pwned', 1) return 1", /Attempt to modify a readonly table/],
  ['setmetatable _G', 'setmetatable(_G, nil) return 1', /Attempt to modify a readonly table/],
  ['string metatable', "getmetatable('').__index = {} return 1", /Attempt to modify a readonly table/],
  ['bytecode', "return assert(loadstring(string.char(27) .. 'Lua'))", /attempt to load a binary chunk/],
  ['huge string', "return string.rep('x', 1024 * 1024 * 1024)", /script ran out of memory \(the Lua memory limit is \d+ bytes\)/],
  ['huge table', 'local t = {} for i = 1, 1e9 do t[i] = i end return #t', /script ran out of memory \(the Lua memory limit is \d+ bytes\)/],
  ['huge concat', "local s = 'x' for i = 1, 40 do s = s .. s end return #s", /script ran out of memory \(the Lua memory limit is \d+ bytes\)/],
  ['huge via command', "return redis.call('SET', 'big', string.rep('x', 512 * 1024 * 1024))", /script ran out of memory \(the Lua memory limit is \d+ bytes\)/],
  ['deep recursion', 'local function f(n) return 1 + f(n + 1) end return f(1)', /stack overflow/],
  ['deep cjson', "return cjson.decode(string.rep('[', 100000))", /recursion limit exceeded/],
  ['error object', 'error({}) return 1', /^ERR unknown error script: /],
]

test('hostile scripts through a memory:// client: clear ReplyErrors, the client keeps working, data intact', async () => {
  const { client, intact } = await victim()
  for (const [name, lua, expected] of HOSTILE) {
    await assert.rejects(
      client.eval(lua, 0),
      (err) => {
        assert.ok(err instanceof ReplyError, `${name}: ${err}`)
        assert.match(err.message, expected, name)
        assert.match(err.message, /^ERR /, name)
        return true
      },
      name,
    )
    await intact()
  }
  assert.equal(await client.exists('big', 'pwned'), 0)
  // The sandbox still works for ordinary scripts afterwards.
  assert.equal(await client.eval("return redis.call('GET', KEYS[1])", 1, 'safe'), 'value')
  assert.equal(await client.eval('return string.rep("ab", 3)', 0), 'ababab')
})

test('sandbox escapes fail on memory:// as they do on Redis (same error text)', async () => {
  const escapes = HOSTILE.filter(([name]) => ['os.execute', 'io.open', 'loadfile', 'dofile', 'require', 'package', 'getfenv', 'overwrite redis.call', 'rawset _G'].includes(name))
  const t = await sameOnBoth(async (client) => {
    const out = []
    for (const [, lua] of escapes) out.push(await outcome(client.eval(lua, 0)))
    return out
  })
  for (const o of t) assert.equal(o.error, 'ReplyError')
})

test('an endless script is killed at the time limit; the engine keeps its data and answers again', async () => {
  const { client, intact } = await victim()
  const other = track(new Redis(client.options.host ? `memory://${client.options.host}` : 'memory://'))
  await assert.rejects(
    client.eval("redis.call('SET', KEYS[1], 'before') while true do end", 1, 'partial'),
    (err) => err instanceof ReplyError && /^ERR bulwark: script killed after running past its time limit of 5000 ms script: [0-9a-f]{40}/.test(err.message),
  )
  await intact()
  // Writes made before the kill are kept (Redis does not roll scripts back either).
  assert.equal(await client.get('partial'), 'before')
  assert.equal(await other.get('safe'), 'value')
})
