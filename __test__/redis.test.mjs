// bulwark's ioredis-compatible client against real redis-server processes.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis, freePort } from './helpers/redis-server.mjs'
import { runChild } from './helpers/child.mjs'

const require = createRequire(import.meta.url)
const Redis = require('../lib/ioredis.js')
const { ReplyError } = Redis

let server
const clients = []
function client(...args) {
  const c = new Redis(...(args.length ? args : [server.port, '127.0.0.1']))
  clients.push(c)
  return c
}

before(async () => {
  server = await startRedis()
})
after(async () => {
  for (const c of clients) c.disconnect()
  await server.stop()
})

/** Like events.once, but does not reject on 'error' (these tests expect errors). */
const onceEvent = (emitter, name) => new Promise((resolve) => emitter.once(name, resolve))

async function waitFor(pred, ms = 10000) {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(20)
  }
}

test('module shape: default export, named Redis, ReplyError, Command; main entry', async () => {
  assert.equal(typeof Redis, 'function')
  assert.equal(Redis.Redis, Redis)
  assert.equal(Redis.default, Redis)
  assert.equal(typeof Redis.Command, 'function')
  assert.equal(require('../lib/index.js').Redis, Redis)
  assert.equal(typeof Redis.prototype.get, 'function')
  assert.equal(typeof Redis.prototype.hgetallBuffer, 'function')
  assert.equal(typeof Redis.prototype.xreadgroup, 'function')
  await assert.rejects(new Redis.Cluster([], { lazyConnect: true }).connect(), { message: '`startupNodes` should contain at least one node.' })
  assert.equal(Redis.createClient({ lazyConnect: true }).status, 'wait')
})

test('every command method ioredis has (and isCluster): on Redis, Cluster and pipelines; newer commands reach the server, their keys prefixed as in ioredis', async () => {
  // ioredis (a dev dependency) is the oracle: its command list, key positions and errors.
  const IORedis = require('ioredis')
  const ioCommands = createRequire(require.resolve('ioredis'))('@ioredis/commands')
  const io = new IORedis({ lazyConnect: true })
  const names = io.getBuiltinCommands()
  io.disconnect()
  const methods = [...names.flatMap((n) => [n, `${n}Buffer`]), 'call', 'callBuffer', 'send_command']
  const lazy = client({ lazyConnect: true })
  const cluster = new Redis.Cluster([{ host: '127.0.0.1', port: server.port }], { lazyConnect: true })
  for (const [label, target] of [['Redis', lazy], ['Cluster', cluster], ['Pipeline', lazy.pipeline()]]) {
    assert.deepEqual(methods.filter((m) => typeof target[m] !== 'function'), [], `${label} lacks these`)
  }
  assert.equal(lazy.isCluster, false)
  assert.equal(cluster.isCluster, true)
  cluster.disconnect()
  assert.deepEqual(lazy.getBuiltinCommands().sort(), [...names].sort())

  // Key positions of the commands newer than Redis 7.0 agree with ioredis's table.
  const { keyIndexes } = require('../lib/redis-commands.js')
  const samples = { msetex: ['2', 'a', '1', 'b', '2', 'EX', '10'], hexpire: ['h', '10', 'FIELDS', '1', 'f'] }
  for (const name of ['msetex', 'hexpire', 'hgetex', 'httl', 'vadd', 'vsim', 'armget', 'increx', 'xnack', 'sentinel']) {
    const args = samples[name] ?? ['k', 'a', 'b', 'c', 'd', 'e']
    assert.deepEqual(keyIndexes(name, args), ioCommands.exists(name) ? ioCommands.getKeyIndexes(name, args) : [], name)
  }

  // Redis 7.0 does not know them: the same error as through ioredis, keys prefixed alike.
  const ours = client({ port: server.port, host: '127.0.0.1', keyPrefix: 'app:' })
  const theirs = new IORedis({ port: server.port, host: '127.0.0.1', keyPrefix: 'app:' })
  try {
    for (const [method, args] of [
      ['msetex', [2, 'a', '1', 'b', '2', 'EX', 10]],
      ['hexpire', ['h', 10, 'FIELDS', 1, 'f']],
      ['hgetdelBuffer', ['h', 'FIELDS', 1, 'f']],
      ['sentinel', ['masters']],
    ]) {
      const expected = await theirs[method](...args).then(
        () => assert.fail(`${method} answered on Redis 7.0`),
        (err) => err.message,
      )
      assert.match(expected, /^ERR unknown command/)
      await assert.rejects(ours[method](...args), (err) => err instanceof ReplyError && err.message === expected)
    }
  } finally {
    theirs.disconnect()
  }
  // The memory engine answers like Redis 7.0.
  const memory = client('memory://newer-commands')
  await assert.rejects(memory.hexpire('h', 10, 'FIELDS', 1, 'f'), /^ReplyError: ERR unknown command 'hexpire'/)

  // The …Buffer twins of quit and pub/sub behave as the commands do.
  const sub = client()
  assert.equal(await sub.subscribeBuffer('ch1', 'ch2'), 2)
  assert.equal(await sub.unsubscribeBuffer('ch1'), 1)
  assert.deepEqual(await sub.quitBuffer(), Buffer.from('OK'))
  assert.equal(await lazy.send_command('echo', 'hi'), 'hi')
})

test('reply shapes of common commands', async () => {
  const r = client()
  await r.flushdb()
  assert.equal(await r.set('s', 'v'), 'OK')
  assert.equal(await r.get('s'), 'v')
  assert.equal(await r.get('missing'), null)
  assert.equal(await r.set('s', 'w', 'NX'), null)
  assert.equal(await r.set('s', 'w', 'GET'), 'v')
  assert.equal(await r.incr('n'), 1)
  assert.equal(await r.incrby('n', 41), 42)
  assert.equal(await r.incrbyfloat('f', 1.5), '1.5')
  assert.equal(await r.exists('s', 'n', 'nope'), 2)
  assert.equal(await r.del(['s', 'n']), 2)
  assert.equal(await r.ttl('nope'), -2)
  assert.equal(await r.type('nope'), 'none')
  assert.equal(await r.mset({ a: '1', b: '2' }), 'OK')
  assert.deepEqual(await r.mget('a', 'b', 'c'), ['1', '2', null])
  assert.equal(await r.hset('h', { f1: 'v1', f2: 2 }), 2)
  assert.deepEqual(await r.hgetall('h'), { f1: 'v1', f2: '2' })
  assert.deepEqual(await r.hgetall('nohash'), {})
  assert.equal(await r.hmset('h', new Map([['f3', 'x']])), 'OK')
  assert.deepEqual(await r.hmget('h', 'f1', 'zz'), ['v1', null])
  assert.equal(await r.lpush('l', 'a', 'b'), 2)
  assert.deepEqual(await r.lrange('l', 0, -1), ['b', 'a'])
  assert.equal(await r.sadd('set', 'x'), 1)
  assert.deepEqual(await r.smembers('set'), ['x'])
  assert.equal(await r.zadd('z', 1, 'one', 2.5, 'two'), 2)
  assert.deepEqual(await r.zrange('z', 0, -1, 'WITHSCORES'), ['one', '1', 'two', '2.5'])
  assert.equal(await r.zscore('z', 'two'), '2.5')
  assert.equal(await r.zrank('z', 'nobody'), null)
  assert.equal(await r.ping(), 'PONG')
  assert.equal(await r.ping('hi'), 'hi')
  const [cursor, keys] = await r.scan('0', 'COUNT', 100)
  assert.equal(typeof cursor, 'string')
  assert.ok(keys.includes('h'))
  const time = await r.time()
  assert.equal(time.length, 2)
  assert.equal(typeof time[0], 'string')
  assert.deepEqual(await r.config('GET', 'maxmemory'), ['maxmemory', '0'])
  const id = await r.xadd('st', '*', 'f', 'v')
  const entries = await r.xrange('st', '-', '+')
  assert.deepEqual(entries, [[id, ['f', 'v']]])
  assert.equal(await r.publish('nobody-listens', 'x'), 0)
})

test('errors reject with ReplyError carrying the command; node callbacks work', async () => {
  const r = client()
  await r.set('str', 'x')
  await assert.rejects(r.lpush('str', 'a'), (err) => {
    assert.ok(err instanceof ReplyError)
    assert.equal(err.name, 'ReplyError')
    assert.match(err.message, /^WRONGTYPE /)
    assert.deepEqual(err.command, { name: 'lpush', args: ['str', 'a'] })
    return true
  })
  await assert.rejects(r.call('NOSUCHCOMMAND'), /ERR unknown command/)
  const viaCallback = await new Promise((resolve, reject) => r.get('str', (err, v) => (err ? reject(err) : resolve(v))))
  assert.equal(viaCallback, 'x')
  const errViaCallback = await new Promise((resolve) => r.lpush('str', 'a', (err) => resolve(err)))
  assert.ok(errViaCallback instanceof ReplyError)
})

test('call/callBuffer/sendCommand with Command, stringNumbers', async () => {
  const r = client()
  assert.equal(await r.call('set', 'c1', 'v'), 'OK')
  assert.deepEqual(await r.callBuffer('GET', 'c1'), Buffer.from('v'))
  const cmd = new Redis.Command('get', ['c1'])
  assert.equal(await r.sendCommand(cmd), 'v')
  assert.equal(await cmd.promise, 'v')
  const s = client({ port: server.port, host: '127.0.0.1', stringNumbers: true })
  assert.equal(await s.incr('sn'), '1')
})

test('binary safety: Buffer keys and values, invalid UTF-8, empty strings, big values', async () => {
  const r = client()
  const bin = Buffer.from([0, 255, 13, 10, 128, 0])
  await r.set(bin, bin)
  assert.deepEqual(await r.getBuffer(bin), bin)
  assert.equal(await r.get(bin), bin.toString())
  await r.set('empty', '')
  assert.equal(await r.get('empty'), '')
  const big = 'x'.repeat(5 * 1024 * 1024)
  await r.set('big', big)
  assert.equal((await r.get('big')).length, big.length)
  const unicode = 'héllo ☃ 😀'
  await r.set('u', unicode)
  assert.equal(await r.get('u'), unicode)
  assert.equal(await r.strlen('u'), Buffer.byteLength(unicode))
  await r.hset('hb', 'f', bin)
  const all = await r.hgetallBuffer('hb')
  assert.deepEqual(all.f, bin)
  assert.deepEqual(await r.pingBuffer(), Buffer.from('PONG'))
})

test('pipeline(): [[null, r] | [err]] shapes, length, callbacks, command arrays', async () => {
  const r = client()
  const p = r.pipeline().set('p1', 'a').get('p1').lpush('p1', 'x').hgetall('nohash')
  assert.equal(p.length, 4)
  const res = await p.exec()
  assert.equal(res.length, 4)
  assert.deepEqual(res[0], [null, 'OK'])
  assert.deepEqual(res[1], [null, 'a'])
  assert.equal(res[2].length, 1)
  assert.ok(res[2][0] instanceof ReplyError)
  assert.deepEqual(res[3], [null, {}])
  assert.deepEqual(await r.pipeline().exec(), [])
  const fromArray = await r.pipeline([['set', 'p2', '1'], ['incr', 'p2']]).exec()
  assert.deepEqual(fromArray, [[null, 'OK'], [null, 2]])
  assert.throws(() => r.pipeline('nope'), TypeError)
})

test('multi(): results, runtime errors as entries, EXECABORT with previousErrors, WATCH conflict → null', async () => {
  const r = client()
  await r.del('t1')
  const res = await r.multi().set('t1', '5').incr('t1').lpush('t1', 'x').hgetall('nohash').exec()
  assert.deepEqual(res[0], [null, 'OK'])
  assert.deepEqual(res[1], [null, 6])
  assert.ok(res[2][0] instanceof ReplyError)
  assert.deepEqual(res[3], [null, {}])
  await assert.rejects(r.multi().set('t1', '1').call('NOSUCHCMD').exec(), (err) => {
    assert.ok(err instanceof ReplyError)
    assert.match(err.message, /^EXECABORT/)
    assert.equal(err.previousErrors.length, 1)
    return true
  })
  const other = client()
  await r.watch('t1')
  await other.set('t1', 'changed')
  assert.equal(await r.multi().set('t1', 'mine').exec(), null)
  assert.equal(await r.get('t1'), 'changed')
  assert.equal(await r.unwatch(), 'OK')
})

test('keyPrefix at key positions of every command and in call(), not in patterns', async () => {
  const raw = client()
  const r = client({ port: server.port, host: '127.0.0.1', keyPrefix: 'app:' })
  await r.set('k', 'v')
  assert.equal(await raw.get('app:k'), 'v')
  await r.mset('m1', '1', 'm2', '2')
  assert.deepEqual(await raw.mget('app:m1', 'app:m2'), ['1', '2'])
  await r.call('SET', 'viacall', 'x')
  assert.equal(await raw.get('app:viacall'), 'x')
  assert.equal(await r.eval("return redis.call('GET', KEYS[1])", 1, 'k'), 'v')
  await r.del('s1', 's2')
  await r.xadd('s1', '*', 'a', '1')
  const read = await r.xread('COUNT', 1, 'STREAMS', 's1', '0')
  assert.equal(read[0][0], 'app:s1')
  await r.zadd('za', 1, 'a')
  await r.zunionstore('zdest', 1, 'za')
  assert.equal(await raw.zcard('app:zdest'), 1)
  assert.deepEqual(await r.keys('app:k'), ['app:k'])
  assert.equal(await r.object('ENCODING', 'k'), 'embstr')
  const bufPrefix = client({ port: server.port, host: '127.0.0.1', keyPrefix: 'b:' })
  await bufPrefix.set(Buffer.from('bk'), 'bv')
  assert.equal(await raw.get('b:bk'), 'bv')
  // SORT's BY and GET patterns are keys too (as ioredis prefixes them); GET # is not.
  await r.rpush('ids', '2', '1', '3')
  await r.mset('weight_1', '30', 'weight_2', '10', 'weight_3', '20', 'name_1', 'one', 'name_2', 'two', 'name_3', 'three')
  await r.hset('obj_1', 'n', 'h1')
  assert.deepEqual(await r.sort('ids', 'BY', 'weight_*', 'GET', '#', 'GET', 'name_*', 'GET', 'obj_*->n'), ['2', 'two', null, '3', 'three', null, '1', 'one', 'h1'])
  assert.equal(await r.sort('ids', 'BY', 'weight_*', 'GET', 'name_*', 'STORE', 'sorted'), 3)
  assert.deepEqual(await raw.lrange('app:sorted', 0, -1), ['two', 'three', 'one'])
  assert.deepEqual(await r.sort_ro('ids', 'BY', 'nosort', 'GET', 'name_*'), ['two', 'one', 'three'])
})

test('scripting: eval, evalsha, script, defineCommand with NOSCRIPT fallback and in pipelines', async () => {
  const r = client()
  assert.equal(await r.eval('return 1 + 1', 0), 2)
  assert.deepEqual(await r.eval("return {1, 'a', false, true}", 0), [1, 'a', null, 1])
  await assert.rejects(r.eval("return redis.error_reply('MYERR boom')", 0), /MYERR boom/)
  const sha = await r.script('LOAD', 'return ARGV[1]')
  assert.equal(await r.evalsha(sha, 0, 'x'), 'x')
  await r.script('FLUSH')
  r.defineCommand('echoKey', { numberOfKeys: 1, lua: "return {KEYS[1], ARGV[1]}" })
  assert.deepEqual(await r.echoKey('k', 'a'), ['k', 'a'])
  assert.deepEqual(await r.echoKeyBuffer('k', 'a'), [Buffer.from('k'), Buffer.from('a')])
  r.defineCommand('dyn', { lua: 'return #KEYS' })
  assert.equal(await r.dyn(2, 'a', 'b'), 2)
  await r.script('FLUSH')
  const res = await r.pipeline().echoKey('k1', 'v1').exec()
  assert.deepEqual(res, [[null, ['k1', 'v1']]])
  assert.throws(() => r.defineCommand('', { lua: 'x' }), TypeError)
  assert.throws(() => r.defineCommand('x', {}), TypeError)
  assert.throws(() => r.defineCommand('x', { lua: 'return 1', numberOfKeys: -1 }), TypeError)
})

test('scanStream / hscanStream deliver every element', async () => {
  const r = client()
  for (let i = 0; i < 120; i++) await r.set(`scan:${i}`, i)
  const seen = new Set()
  for await (const batch of r.scanStream({ match: 'scan:*', count: 25 })) for (const k of batch) seen.add(k)
  assert.equal(seen.size, 120)
  await r.hset('hs', { a: 1, b: 2 })
  const flat = []
  for await (const batch of r.hscanStream('hs')) flat.push(...batch)
  assert.equal(flat.length, 4)
})

test('constructor forms, URL parsing and option validation', async () => {
  const forms = [
    () => new Redis(server.port, '127.0.0.1', { lazyConnect: true }),
    () => new Redis(`redis://127.0.0.1:${server.port}/2`, { lazyConnect: true }),
    () => new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true }),
    () => new Redis(String(server.port), { host: '127.0.0.1', lazyConnect: true }),
  ]
  for (const make of forms) {
    const c = make()
    assert.equal(c.status, 'wait')
    assert.equal(c.options.port, server.port)
    c.disconnect()
  }
  const url = new Redis(`redis://u%40x:p%3Ass@127.0.0.1:${server.port}/3?connectTimeout=500`, { lazyConnect: true })
  assert.equal(url.options.username, 'u@x')
  assert.equal(url.options.password, 'p:ss')
  assert.equal(url.options.db, 3)
  assert.equal(new Redis('rediss://h:1', { lazyConnect: true }).options.tls !== undefined, true)
  assert.equal(new Redis({ lazyConnect: true, someUnknownOption: 1 }).options.port, 6379)
  const bad = [
    [{ port: -1 }], [{ port: 70000 }], [{ port: NaN }], [{ port: Infinity }], [{ db: -1 }], [{ db: 1.5 }],
    [{ connectTimeout: 0 }], [{ commandTimeout: -5 }], [{ maxRetriesPerRequest: -1 }], [{ retryStrategy: 5 }],
    [{ keyPrefix: 5 }], [{ lazyConnect: 'yes' }], [{ host: '' }], [{ tls: 'on' }], [{ password: 123 }],
    [() => {}], [1, 2], ['redis://h:1', 'extra'], ['http://x'], [[1]], [{ maxQueueLength: 0 }],
  ]
  for (const args of bad) assert.throws(() => new Redis(...args), TypeError, JSON.stringify(args))
})

test('bad input on command methods: wrong types, empty, huge, non-finite', async () => {
  const r = client()
  assert.throws(() => r.call(), TypeError)
  assert.throws(() => r.call(''), TypeError)
  assert.throws(() => r.call(42), TypeError)
  assert.throws(() => new Redis.Command('', []), TypeError)
  assert.throws(() => new Redis.Command('get', 'k'), TypeError)
  // Non-string arguments are stringified as ioredis does; null/undefined become "".
  await r.set('nf', Infinity)
  assert.equal(await r.get('nf'), 'Infinity')
  await r.set('nn', null)
  assert.equal(await r.get('nn'), '')
  await r.set('obj', { a: 1 })
  assert.equal(await r.get('obj'), '[object Object]')
  await assert.rejects(r.expire('nf', NaN), /ERR value is not an integer/)
  await assert.rejects(r.get(), /wrong number of arguments/)
  await assert.rejects(r.lrange('l', -1.5, 'x'), /ERR value is not an integer/)
  const huge = Buffer.allocUnsafe(512 * 1024 * 1024)
  await assert.rejects(r.set('huge', huge), RangeError)
  assert.equal(await r.ping(), 'PONG')
})

test('bounded queue: a full queue fails fast with a clear error', async () => {
  const r = client({ port: server.port, host: '127.0.0.1', maxQueueLength: 10 })
  await r.ping()
  // Hold replies server-side so the queue really fills up.
  await client().client('PAUSE', 300)
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => r.set(`q${i}`, i)))
  const rejected = results.filter((x) => x.status === 'rejected')
  assert.ok(rejected.length > 0)
  assert.equal(rejected[0].reason.code, 'ERR_BULWARK_QUEUE_FULL')
  assert.ok(results.some((x) => x.status === 'fulfilled'))
  assert.equal(await r.ping(), 'PONG')
})

test('lifecycle events in ioredis order; quit drains pending commands; disconnect is idempotent', async () => {
  const r = new Redis(server.port, '127.0.0.1', { lazyConnect: true })
  const events = []
  for (const e of ['connecting', 'connect', 'ready', 'close', 'end']) r.on(e, () => events.push(e))
  assert.equal(r.status, 'wait')
  await r.connect()
  assert.equal(r.status, 'ready')
  await assert.rejects(r.connect(), /already connecting\/connected/)
  const pending = Array.from({ length: 200 }, (_, i) => r.set(`d${i}`, i))
  assert.equal(await r.quit(), 'OK')
  const settled = await Promise.allSettled(pending)
  assert.ok(settled.every((s) => s.status === 'fulfilled'))
  await once(r, 'end')
  assert.deepEqual(events, ['connecting', 'connect', 'ready', 'close', 'end'])
  await assert.rejects(r.get('x'), /Connection is closed\./)
  assert.equal(await r.quit(), 'OK')
  r.disconnect()
  r.disconnect()
  const lazy = new Redis({ lazyConnect: true })
  lazy.disconnect()
  assert.equal(lazy.status, 'end')
})

test('disconnect() with commands in flight rejects them, never hangs', async () => {
  const r = client()
  await r.ping()
  const blocked = r.blpop('never-filled', 0)
  await sleep(50)
  const ended = once(r, 'end')
  r.disconnect()
  await assert.rejects(blocked, /aborted|closed/i)
  await ended
})

test('reconnects after CLIENT KILL and after a server restart; db is re-selected', async () => {
  const r = client({ port: server.port, host: '127.0.0.1', db: 4, retryStrategy: () => 50 })
  await r.set('sel', 'db4')
  const admin = client()
  const errors = []
  r.on('error', (e) => errors.push(e))
  admin.on('error', () => {})
  const reconnecting = onceEvent(r, 'reconnecting')
  const readyAfterKill = onceEvent(r, 'ready')
  await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
  await reconnecting
  await readyAfterKill
  assert.equal(await r.get('sel'), 'db4')
  const readyAgain = onceEvent(r, 'ready')
  await server.restart()
  await readyAgain
  assert.equal(await r.set('after', 'restart'), 'OK')
  assert.equal(await r.get('after'), 'restart')
  assert.equal(r.retryAttempts, 0)
  assert.ok(errors.every((e) => typeof e.message === 'string'))
})

// These tests pin ioredis's own semantics when Redis is down: `fallback: false`.
test('refused port: error events with ECONNREFUSED, MaxRetriesPerRequestError, no listener → no crash', async () => {
  const port = await freePort()
  const r = new Redis(port, '127.0.0.1', { fallback: false, maxRetriesPerRequest: 1, retryStrategy: () => 10 })
  const errors = []
  r.on('error', (e) => errors.push(e))
  await assert.rejects(r.get('x'), (err) => err.name === 'MaxRetriesPerRequestError')
  assert.equal(errors[0].code, 'ECONNREFUSED')
  r.disconnect()
  const quiet = new Redis(port, '127.0.0.1', { fallback: false, enableOfflineQueue: false, retryStrategy: () => null })
  const quietEnded = onceEvent(quiet, 'end')
  await assert.rejects(quiet.get('x'), /enableOfflineQueue options is false|Connection is closed/)
  await quietEnded
})

test('commandTimeout rejects "Command timed out" against a frozen server', async () => {
  const frozen = await startRedis()
  const r = new Redis(frozen.port, '127.0.0.1', { fallback: false, commandTimeout: 200, retryStrategy: () => null })
  r.on('error', () => {})
  await r.ping()
  frozen.pause()
  try {
    await assert.rejects(r.get('x'), /Command timed out/)
  } finally {
    frozen.resume()
    r.disconnect()
    await frozen.stop()
  }
})

test('AUTH with an ACL user and password; wrong password never leaks into errors', async () => {
  const admin = client()
  await admin.acl('SETUSER', 'alice', 'on', '>s3cret-pw', '~*', '+@all')
  const ok = client({ port: server.port, host: '127.0.0.1', username: 'alice', password: 's3cret-pw' })
  assert.equal(await ok.acl('WHOAMI'), 'alice')
  const bad = new Redis({ port: server.port, host: '127.0.0.1', username: 'alice', password: 'wrong-pw-xyz', retryStrategy: () => null })
  const errors = []
  bad.on('error', (e) => errors.push(e))
  await onceEvent(bad, 'end')
  assert.ok(errors.length > 0)
  for (const e of errors) {
    assert.doesNotMatch(`${e.message} ${e.stack}`, /wrong-pw-xyz/)
  }
  assert.match(errors[0].message, /WRONGPASS|invalid/i)
  // With failover the client still answers from memory after the strategy gave up.
  bad.disconnect()
})

/**
 * A CA and server and client certificates signed by it, made with the openssl CLI in a
 * fresh directory (webpki refuses a CA used as end entity); null when openssl is absent.
 */
async function makeCertificates() {
  if (spawnSync('openssl', ['version']).status !== 0) return null
  const fs = await import('node:fs')
  const dir = fs.mkdtempSync('/tmp/bulwark-tls-')
  fs.writeFileSync(`${dir}/ext.cnf`, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  const signed = (name, cn) => [
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/${name}.key`, '-out', `${dir}/${name}.csr`, '-subj', `/CN=${cn}`],
    ['x509', '-req', '-in', `${dir}/${name}.csr`, '-CA', `${dir}/ca.pem`, '-CAkey', `${dir}/ca.key`, '-CAcreateserial', '-out', `${dir}/${name}.pem`, '-days', '1', '-extfile', `${dir}/ext.cnf`],
  ]
  const steps = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/ca.key`, '-out', `${dir}/ca.pem`, '-days', '1', '-subj', '/CN=bulwark test CA'],
    ...signed('server', 'localhost'),
    ...signed('client', 'bulwark test client'),
  ]
  for (const step of steps) {
    const gen = spawnSync('openssl', step)
    assert.equal(gen.status, 0, String(gen.stderr))
  }
  const read = (name) => fs.readFileSync(`${dir}/${name}`)
  return { dir, ca: read('ca.pem'), clientCert: read('client.pem'), clientKey: read('client.key') }
}

/**
 * Runs `body(certs, tlsPort)` against a redis-server serving TLS on a second port, its
 * `--tls-auth-clients` set to `clients`; skips the test when openssl is absent.
 */
async function withTlsRedis(t, clients, body) {
  const certs = await makeCertificates()
  if (certs === null) {
    t.skip('openssl CLI not available to make a certificate')
    return
  }
  const tlsPort = await freePort()
  const args = ['--tls-port', String(tlsPort), '--tls-cert-file', `${certs.dir}/server.pem`, '--tls-key-file', `${certs.dir}/server.key`, '--tls-auth-clients', clients]
  if (clients === 'yes') args.push('--tls-ca-cert-file', `${certs.dir}/ca.pem`)
  const tlsServer = await startRedis({ args })
  try {
    await body(certs, tlsPort)
  } finally {
    await tlsServer.stop()
  }
}

test('TLS with a self-signed certificate (rediss:// + tls.ca, and rejectUnauthorized: false)', (t) =>
  withTlsRedis(t, 'no', async (certs, tlsPort) => {
    const verified = new Redis(`rediss://localhost:${tlsPort}`, { tls: { ca: certs.ca } })
    assert.equal(await verified.ping(), 'PONG')
    await verified.quit()
    const insecure = new Redis({ host: '127.0.0.1', port: tlsPort, tls: { rejectUnauthorized: false } })
    assert.equal(await insecure.set('tls', 'yes'), 'OK')
    await insecure.quit()
  }))

test('mutual TLS: tls.cert + tls.key get in where the server requires a client certificate; without them the handshake fails', (t) =>
  withTlsRedis(t, 'yes', async (certs, tlsPort) => {
    // PEM as a string (cert, in an array) and as a Buffer (key), as Node's tls takes them.
    const withCert = new Redis(`rediss://localhost:${tlsPort}`, { tls: { ca: certs.ca, cert: [certs.clientCert.toString()], key: certs.clientKey } })
    assert.equal(await withCert.set('mtls', 'yes'), 'OK')
    assert.equal(await withCert.get('mtls'), 'yes')
    await withCert.quit()

    const without = new Redis(`rediss://localhost:${tlsPort}`, { tls: { ca: certs.ca }, fallback: false, retryStrategy: () => null })
    const errors = []
    without.on('error', (e) => errors.push(e))
    await onceEvent(without, 'end')
    assert.ok(errors.length > 0, 'the refused handshake is reported')
    await assert.rejects(without.get('mtls'), /Connection is closed/)
    for (const e of errors) assert.doesNotMatch(`${e.message} ${e.stack}`, /PRIVATE KEY/)
  }))

test('tls options: bad values are a TypeError naming the option', () => {
  const cases = [
    [{ tls: 'yes' }, /"tls" must be an object/],
    [{ tls: { ca: 42 } }, /"tls.ca" must be PEM/],
    [{ tls: { ca: '' } }, /"tls.ca" must be PEM/],
    [{ tls: { ca: [] } }, /"tls.ca" must be PEM/],
    [{ tls: { cert: 'x' } }, /"tls.cert" and "tls.key" must be given together/],
    [{ tls: { key: Buffer.from('x') } }, /"tls.cert" and "tls.key" must be given together/],
    [{ tls: { cert: 'x', key: { pem: 'y' } } }, /"tls.key" must be PEM/],
    [{ tls: { cert: 'x', key: 'y', passphrase: 'secret' } }, /passphrase.*not supported/],
    [{ tls: { pfx: Buffer.from('x') } }, /pfx.*not supported/],
    [{ tls: { rejectUnauthorized: 'no' } }, /"tls.rejectUnauthorized" must be a boolean/],
  ]
  for (const [options, message] of cases) {
    assert.throws(() => new Redis({ lazyConnect: true, ...options }), (err) => err instanceof TypeError && message.test(err.message), JSON.stringify(options))
  }
})

test('nothing keeps the process alive after quit() or disconnect(), nor after the client ended (child process exits)', async () => {
  const deadPort = await freePort()
  const cases = [
    [`new Redis(${server.port}, '127.0.0.1')`, 'await r.quit()'],
    [`new Redis(${server.port}, '127.0.0.1')`, 'r.disconnect()'],
    ["new Redis('memory://exit')", 'await r.quit()'],
    ["new Redis('memory://exit')", 'r.disconnect()'],
    // On memory because nothing listens; then closed.
    [`new Redis(${deadPort}, '127.0.0.1')`, 'await r.quit()'],
    // On memory, then the retry strategy gives up: memory keeps answering until disconnect().
    [`new Redis(${deadPort}, '127.0.0.1', { retryStrategy: (n) => (n < 3 ? 10 : null) })`, "await new Promise((resolve) => r.once('end', resolve)); await r.get('exit'); r.disconnect()"],
    // The same without failover: the client ends by itself.
    [`new Redis(${deadPort}, '127.0.0.1', { fallback: false, retryStrategy: (n) => (n < 3 ? 10 : null) })`, "await new Promise((resolve) => r.once('end', resolve))"],
  ]
  for (const [make, close] of cases) {
    const code = `
      const Redis = require(${JSON.stringify(require.resolve('../lib/ioredis.js'))})
      const r = ${make}
      r.on('error', () => {})
      ;(async () => { await r.set('exit', 1).catch(() => {}); await r.get('exit').catch(() => {}); ${close}; console.log('closed') })()
    `
    const { exitCode, signal, out } = await runChild(code)
    assert.equal(signal, null, `process did not exit on its own after ${make}; ${close}`)
    assert.equal(exitCode, 0)
    assert.match(out, /closed/)
  }
})

test('BULWARK_SPIN_MICROS (the connection thread spin window) off, short or odd: commands are answered, the process exits', async () => {
  for (const value of ['0', '1', '5000', 'not-a-number']) {
    const code = `
      const Redis = require(${JSON.stringify(require.resolve('../lib/ioredis.js'))})
      const r = new Redis(${server.port}, '127.0.0.1', { fallback: false })
      ;(async () => {
        let sum = 0
        for (let i = 0; i < 200; i++) sum += await r.incr('spin:${value}')
        const pipelined = await Promise.all(Array.from({ length: 100 }, () => r.incr('spin:${value}')))
        await r.quit()
        console.log(JSON.stringify({ sum, last: Math.max(...pipelined) }))
      })()
    `
    const { exitCode, signal, out } = await runChild(code, { ...process.env, BULWARK_SPIN_MICROS: value })
    assert.equal(signal, null, `BULWARK_SPIN_MICROS=${value}: the process did not exit on its own`)
    assert.equal(exitCode, 0)
    assert.deepEqual(JSON.parse(out), { sum: (200 * 201) / 2, last: 300 }, `BULWARK_SPIN_MICROS=${value}`)
  }
})

test('duplicate() copies options', async () => {
  const r = client({ port: server.port, host: '127.0.0.1', keyPrefix: 'dup:', lazyConnect: true })
  const d = r.duplicate({ lazyConnect: false })
  clients.push(d)
  assert.equal(d.options.keyPrefix, 'dup:')
  await d.set('x', 1)
  assert.equal(await client().get('dup:x'), '1')
})

test('reconnectOnError: 2 reconnects and resends the failing command once more', async () => {
  const seen = []
  const r = client({
    port: server.port,
    host: '127.0.0.1',
    retryStrategy: () => 10,
    reconnectOnError: (err) => {
      seen.push(err.message.split(' ')[0])
      return seen.length === 1 ? 2 : false
    },
  })
  await r.del('roe')
  await r.lpush('roe', 'x')
  const reconnecting = onceEvent(r, 'reconnecting')
  const outcome = r.get('roe').then(() => null, (e) => e)
  await reconnecting
  // The resend hits the same WRONGTYPE on the new connection; the second decision is no.
  assert.ok((await outcome) instanceof ReplyError)
  assert.deepEqual(seen, ['WRONGTYPE', 'WRONGTYPE'])
  assert.equal(await r.llen('roe'), 1)
})

test('bad input on lifecycle, pipeline, multi, scan and script methods', async () => {
  const r = client()
  assert.throws(() => r.pipeline([['get']]).call(''), TypeError)
  assert.throws(() => r.pipeline([[42]]), TypeError)
  assert.throws(() => r.multi([null]), TypeError)
  const res = await r.pipeline().call('NOSUCH').get().exec()
  assert.equal(res.length, 2)
  assert.ok(res.every((entry) => entry.length === 1 && entry[0] instanceof ReplyError))
  assert.throws(() => r.scanStream(null), TypeError)
  assert.throws(() => r.scanStream('x'), TypeError)
  assert.throws(() => r.defineCommand(undefined, { lua: 'return 1' }), TypeError)
  assert.throws(() => r.defineCommand('s', { lua: 'return 1', numberOfKeys: Infinity }), TypeError)
  assert.throws(() => r.defineCommand('s', { lua: 'return 1', numberOfKeys: 1.5 }), TypeError)
  await assert.rejects(r.eval('return 1', -1), /ERR/)
  await assert.rejects(r.eval('return 1', 2 ** 40), /ERR/)
  // Empty key and empty value are valid Redis arguments.
  assert.equal(await r.set('', ''), 'OK')
  assert.equal(await r.get(''), '')
  // Many arguments in one command.
  const many = Array.from({ length: 100_000 }, (_, i) => `m${i}`)
  assert.equal(await r.sadd('many', many), 100_000)
  assert.equal(await r.scard('many'), 100_000)
  r.disconnect(true)
  assert.equal(await r.ping(), 'PONG')
})

test('multi({ pipeline: false }) then exec() wraps results like ioredis', async () => {
  const r = client()
  await r.del('np')
  assert.equal(await r.multi({ pipeline: false }), 'OK')
  assert.equal(await r.set('np', 'a'), 'QUEUED')
  assert.equal(await r.lpush('np', 'x'), 'QUEUED')
  const res = await r.exec()
  assert.deepEqual(res[0], [null, 'OK'])
  assert.equal(res[1].length, 1)
  assert.ok(res[1][0] instanceof ReplyError)
})

test('dead connection detection: a frozen server is detected by the idle PING probe, then reconnected', async () => {
  const frozen = await startRedis()
  const r = new Redis(frozen.port, '127.0.0.1', { fallback: false, pingInterval: 200, retryStrategy: () => 50 })
  const errors = []
  r.on('error', (e) => errors.push(e))
  try {
    await r.ping()
    const reconnecting = onceEvent(r, 'reconnecting')
    frozen.pause()
    await reconnecting
    assert.ok(errors.some((e) => e.code === 'ETIMEDOUT' && /PING/.test(e.message)))
    const ready = onceEvent(r, 'ready')
    frozen.resume()
    await ready
    assert.equal(await r.ping(), 'PONG')
  } finally {
    frozen.resume()
    r.disconnect()
    await frozen.stop()
  }
})

test('offline queue: commands issued while the server is down run after it comes back', async () => {
  const flaky = await startRedis()
  const r = new Redis(flaky.port, '127.0.0.1', { fallback: false, pingInterval: 200, retryStrategy: () => 50, maxRetriesPerRequest: null })
  r.on('error', () => {})
  try {
    await r.set('q', 'before')
    const closed = onceEvent(r, 'close')
    await flaky.kill()
    await closed
    const queued = r.get('q') // the new server starts empty
    const set = r.set('q', 'after')
    await flaky.restart()
    assert.equal(await queued, null)
    assert.equal(await set, 'OK')
    assert.equal(await r.get('q'), 'after')
  } finally {
    r.disconnect()
    await flaky.stop()
  }
})

test('blocking commands are not mistaken for a dead connection by the PING probe', async () => {
  const r = client({ port: server.port, host: '127.0.0.1', pingInterval: 100 })
  const errors = []
  r.on('error', (e) => errors.push(e))
  let reconnects = 0
  r.on('reconnecting', () => reconnects++)
  await r.del('blk')
  assert.equal(await r.blpop('blk', 1), null)
  const waiting = r.brpop('blk', 5)
  await sleep(300)
  await client().lpush('blk', 'v')
  assert.deepEqual(await waiting, ['blk', 'v'])
  assert.deepEqual(errors, [])
  assert.equal(reconnects, 0)
})

test('blockingTimeout (opt-in, as ioredis): deadlines computed from each command; a BLPOP on a hung server resolves null instead of hanging', async () => {
  const { blockingDeadlineMs } = require('../lib/redis-blocking.js')
  const on = { blockingTimeout: 1000, blockingTimeoutGrace: 100 }
  assert.equal(blockingDeadlineMs('blpop', ['q', '2'], on), 2100)
  assert.equal(blockingDeadlineMs('blmove', ['a', 'b', 'LEFT', 'RIGHT', 0.5], on), 600)
  assert.equal(blockingDeadlineMs('blmpop', ['3', '1', 'q', 'LEFT'], on), 3100)
  assert.equal(blockingDeadlineMs('blpop', ['q', '0'], on), 1000, 'blocks forever: the option is the safety net')
  assert.equal(blockingDeadlineMs('xread', ['COUNT', '1', 'BLOCK', '250', 'STREAMS', 's', '$'], on), 350)
  assert.equal(blockingDeadlineMs('xread', ['STREAMS', 's', '0'], on), 1000)
  assert.equal(blockingDeadlineMs('blpop', ['q', 'soon'], on), undefined, 'unparsable timeout: no deadline')
  assert.equal(blockingDeadlineMs('get', ['q'], on), undefined)
  assert.equal(blockingDeadlineMs('blpop', ['q', '2'], { blockingTimeout: undefined, blockingTimeoutGrace: 100 }), undefined, 'off by default')

  const hung = await startRedis()
  try {
    const r = client({ port: hung.port, host: '127.0.0.1', fallback: false, blockingTimeout: 300 })
    await r.rpush('q', 'a')
    assert.deepEqual(await r.blpop('q', 0), ['q', 'a'], 'answered normally while the server answers')
    hung.pause()
    assert.equal(await r.blpop('q', 0), null)
    assert.equal(await r.brpop('q', 0.1), null)
    hung.resume()
    // Off (the default): the same call waits for the server, which answers once resumed.
    const plain = client({ port: hung.port, host: '127.0.0.1', fallback: false })
    await plain.ping()
    hung.pause()
    const waiting = plain.blpop('q2', 5)
    const early = await Promise.race([waiting, sleep(600).then(() => 'still waiting')])
    assert.equal(early, 'still waiting')
    hung.resume()
    // From another connection: r's is still behind the BLPOP 0 it gave up on (the
    // caveat of this option, in ioredis as here), and plain's is blocked by its BLPOP.
    const pusher = client({ port: hung.port, host: '127.0.0.1', fallback: false })
    await pusher.rpush('q2', 'b')
    assert.deepEqual(await waiting, ['q2', 'b'])
  } finally {
    hung.resume()
    await hung.stop()
  }
})

test('blockingTimeout options: bad values are a TypeError naming the option', () => {
  for (const [options, name] of [
    [{ blockingTimeout: -1 }, 'blockingTimeout'],
    [{ blockingTimeout: 'soon' }, 'blockingTimeout'],
    [{ blockingTimeout: Infinity }, 'blockingTimeout'],
    [{ blockingTimeoutGrace: -5 }, 'blockingTimeoutGrace'],
    [{ blockingTimeoutGrace: null }, 'blockingTimeoutGrace'],
  ]) {
    assert.throws(() => new Redis({ lazyConnect: true, ...options }), (err) => err instanceof TypeError && err.message.includes(`"${name}"`), JSON.stringify(options))
  }
})

test('a burst larger than one hand-over (32 commands) keeps its order, also around a transaction', async () => {
  const r = client({ port: server.port, host: '127.0.0.1' })
  await r.del('burst', 'burst:tx')
  const before = Array.from({ length: 100 }, () => r.incr('burst'))
  const tx = r.multi()
  for (let i = 0; i < 70; i++) tx.rpush('burst:tx', String(i))
  const exec = tx.exec()
  const after = Array.from({ length: 100 }, () => r.incr('burst'))
  assert.deepEqual(await Promise.all(before), Array.from({ length: 100 }, (_, i) => i + 1))
  const results = await exec
  assert.equal(results.length, 70)
  assert.deepEqual(results.at(-1), [null, 70])
  assert.deepEqual(await Promise.all(after), Array.from({ length: 100 }, (_, i) => i + 101))
  assert.deepEqual(await r.lrange('burst:tx', 0, -1), Array.from({ length: 70 }, (_, i) => String(i)))
})

test('with nothing in flight, a batch leaves at 4 commands (head start); order holds across the split; a pipeline is never split', async () => {
  const r = client({ port: server.port, host: '127.0.0.1' })
  await r.del('head', 'head:tx')
  const link = r._link
  const submit = link.submitBatch
  const handovers = []
  link.submitBatch = function (buf, len) {
    handovers.push(len)
    return submit.call(this, buf, len)
  }
  try {
    // Idle connection: the first 4 commands leave at once, the rest at the end of the tick.
    const incrs = Array.from({ length: 6 }, () => r.incr('head'))
    assert.equal(handovers.length, 1, 'the first 4 commands were handed over before the end of the tick')
    assert.deepEqual(await Promise.all(incrs), [1, 2, 3, 4, 5, 6])
    assert.equal(handovers.length, 2)
    // A transaction (MULTI, 3 commands, EXEC) and a pipeline leave whole, with what the
    // tick adds after them.
    handovers.length = 0
    const tx = r.multi().rpush('head:tx', 'a').rpush('head:tx', 'b').rpush('head:tx', 'c').exec()
    const piped = r.pipeline().incr('head').incr('head').incr('head').incr('head').incr('head').exec()
    const after = r.incr('head')
    assert.equal(handovers.length, 0)
    assert.deepEqual(await tx, [[null, 1], [null, 2], [null, 3]])
    assert.deepEqual(await piped, [[null, 7], [null, 8], [null, 9], [null, 10], [null, 11]])
    assert.equal(await after, 12)
    assert.equal(handovers.length, 1)
    // With replies owed, no head start: 6 commands issued while others are in flight
    // leave together at the end of the tick.
    const blocker = r.blpop('head:never', 0.2)
    await new Promise((resolve) => setImmediate(resolve))
    handovers.length = 0
    const more = Array.from({ length: 6 }, () => r.incr('head'))
    assert.equal(handovers.length, 0)
    assert.deepEqual(await Promise.all(more), [13, 14, 15, 16, 17, 18])
    assert.equal(await blocker, null)
    assert.equal(handovers.length, 1)
  } finally {
    link.submitBatch = submit
    r.disconnect()
  }
})
