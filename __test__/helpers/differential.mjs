// Differential testing of bulwark/ioredis against ioredis: seeded random command sequences,
// sent through real ioredis to one redis-server and through bulwark to another server
// (mode 'redis') or to its in-process engine (mode 'memory'), every reply and error compared.
// Shared by __test__/differential.test.mjs and scripts/diff.mjs. This module: the generator
// and the run; differential-compare.mjs: pictures and comparison; differential-known.mjs:
// the known mismatches.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { isDeepStrictEqual } from 'node:util'
import { RedisServer } from './redis-server.mjs'
import { SINGLE, UNSETTLED, describe, picture, samePicture } from './differential-compare.mjs'
import { KNOWN_MISMATCHES, explain } from './differential-known.mjs'

export { SINGLE, describe, picture, samePicture, KNOWN_MISMATCHES, explain }

const require = createRequire(import.meta.url)
const IORedis = require('ioredis')
const Bulwark = require('../../lib/ioredis.js')

// ---------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, fast, and the same sequence on every platform for a given seed. */
export function makeRng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n) => Math.floor(next() * n),
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  }
}

// ---------------------------------------------------------------------------------------
// The data a sequence works on: few keys per type (so commands meet each other's data),
// values that exercise number parsing, binary and UTF-8.

const POOLS = {
  str: ['s:1', 's:2', 's:3'],
  hash: ['h:1', 'h:2'],
  list: ['l:1', 'l:2'],
  set: ['t:1', 't:2', 't:3'],
  zset: ['z:1', 'z:2'],
  any: ['k', 'ключ🔑', Buffer.from([0x62, 0xff, 0x00, 0x80])],
}
const ALL_KEYS = Object.values(POOLS).flat()

const VALUES = [
  '',
  'v',
  'abc',
  '0',
  '1',
  '-1',
  '10',
  '3.5',
  '1e3',
  ' 1',
  '007',
  '9223372036854775807',
  'héllo wörld',
  '😀',
  'a\r\nb',
  '\u0000x',
  Buffer.from([0x00, 0x01, 0xfe, 0xff]),
  Buffer.from('é'),
  Buffer.from([0xc3]),
  'L'.repeat(100),
  42,
  -7,
  1.5,
]
const FIELDS = ['f1', 'f2', 'f3', 'constructor', 'ü', '', '1', Buffer.from([0xfe, 0x00])]
const MEMBERS = ['a', 'b', 'c', '1', '2', '10', '-3', 'ü', Buffer.from([0x00, 0xff])]
const INTS = ['0', '1', '-1', '2', '5', '100', '-100', 'abc', '1.5', '9223372036854775807', ' 3', 3, -2]
const FLOATS = ['0', '1.5', '-2.25', '1e3', 'inf', '-inf', '+inf', 'nan', 'abc', '0.1', 3, 0.1, '5.0e-1', '1e308', '-1e308', '5e-324', '0x10', '1.7976931348623157e309']
const SCORES = [0, 1, 2, 2.5, -1, '+inf', '-inf', '1e2', '0.1', 'abc', '3', '0x10', '1e400', '1e-400']
const SCORE_BOUNDS = ['-inf', '+inf', '0', '(0', '1', '(2', '2.5', '10', 'abc', '(abc', '0x1p1', '(1e400', '1e-400', ' 2', '']
const LEX_BOUNDS = ['-', '+', '[a', '(b', '[c', '[1', '(ü', 'a']
const INDEXES = [0, 1, 2, -1, -2, 5, -10, 100, 'x']
// Glob edge cases: '?' is one byte (not one character), ranges compare bytes, '^' negates,
// unterminated classes and trailing escapes.
const PATTERNS = ['*', 's:*', '?:1', '[hl]:*', 't:[12]', 'k*', '*ü*', 'nothing*', '\\*', '?', '??????????????', '[^st]:*', '[а-я]*', '[a-', '*[', 'k\\', '?:[0-9]', '*\\🔑', '[z-a]:*', 'b?*']
// Expiry values that are far from any boundary, or in the past (deleting at once): the
// replies of both sides must not depend on when exactly each ran.
const SECONDS = [100, 500, 1000, 0, -1, 'abc', '9223372036854775807', '-9223372036854775808', 1.5]
const nowS = () => Math.floor(Date.now() / 1000)
const FUTURE_S = () => nowS() + 5000
const PAST_S = () => nowS() - 5000

/** Deterministic Lua scripts (no SMEMBERS-order or time-dependent output). */
export const SCRIPTS = [
  "return redis.call('get', KEYS[1])",
  "return redis.call('incr', KEYS[1])",
  "return redis.pcall('lpush', KEYS[1], ARGV[1])",
  "return redis.call('hmget', KEYS[1], 'f1', 'f2', 'constructor')",
  "return redis.call('lrange', KEYS[1], 0, -1)",
  "return redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')",
  "return {1, 2, 'x', {3, 'y'}, false, 4}",
  "return redis.error_reply('MYERR custom failure')",
  "return redis.status_reply('FINE')",
  'return 3.7',
  'return nil',
  'return undefined_global',
  'return {ok = ARGV[1]}',
  "return redis.call('set', KEYS[1], ARGV[1])",
  "return redis.call('nosuchcommand')",
  "return cjson.encode({a = 1})",
  "return #KEYS + #ARGV",
  "local t = redis.call('type', KEYS[1]) return t",
  'return {err = ARGV[1]}',
  'syntax error here',
]

// ---------------------------------------------------------------------------------------
// Generator: one entry per command, returning the args (after the method name). `norm`
// names how a nondeterministic reply is made comparable (see normalise()).

function gen(r) {
  const key = (fam) => (r.chance(0.8) ? r.pick(POOLS[fam]) : r.pick(ALL_KEYS))
  const keys = (fam, min = 1, max = 3) => Array.from({ length: r.range(min, max) }, () => key(fam))
  const val = () => r.pick(VALUES)
  const pairs = (a, b, min = 1, max = 3) => Array.from({ length: r.range(min, max) }, () => [a(), b()]).flat()
  const opt = (p, xs) => (r.chance(p) ? xs() : [])
  return {
    // strings
    set: () => [key('str'), val(), ...r.pick([
      () => [],
      () => ['EX', r.pick(SECONDS)],
      () => ['PX', r.pick([100_000, 500_000, 0])],
      () => ['EXAT', r.pick([FUTURE_S(), PAST_S()])],
      () => ['NX'],
      () => ['XX'],
      () => ['GET'],
      () => ['KEEPTTL'],
      () => ['NX', 'XX'],
      () => ['EX', 100, 'KEEPTTL'],
      () => ['XX', 'GET'],
    ])()],
    get: () => [key('str')],
    getset: () => [key('str'), val()],
    getdel: () => [key('str')],
    getex: () => [key('str'), ...r.pick([() => [], () => ['EX', r.pick(SECONDS)], () => ['PERSIST'], () => ['EXAT', PAST_S()], () => ['BOGUS']])()],
    mget: () => keys('str', 1, 4),
    mset: () => (r.chance(0.3) ? [{ [r.pick(['s:1', 's:2'])]: val(), 's:3': val() }] : pairs(() => key('str'), val, 1, 3)),
    msetnx: () => pairs(() => key('str'), val, 1, 3),
    setnx: () => [key('str'), val()],
    setex: () => [key('str'), r.pick(SECONDS), val()],
    psetex: () => [key('str'), r.pick([100_000, 0, -5]), val()],
    incr: () => [key('str')],
    incrby: () => [key('str'), r.pick(INTS)],
    incrbyfloat: () => [key('str'), r.pick(FLOATS)],
    decr: () => [key('str')],
    decrby: () => [key('str'), r.pick(INTS)],
    append: () => [key('str'), val()],
    strlen: () => [key('str')],
    getrange: () => [key('str'), r.pick(INDEXES), r.pick(INDEXES)],
    substr: () => [key('str'), r.pick(INDEXES), r.pick(INDEXES)],
    setrange: () => [key('str'), r.pick([0, 1, 3, 10, -1, 536870912]), val()],
    // bitmaps (strings)
    setbit: () => [key('str'), r.pick([0, 7, 8, 13, 100, -1, 'x', 4294967296]), r.pick([0, 1, 1, 2, 'x'])],
    getbit: () => [key('str'), r.pick([0, 1, 7, 100, -1, 'x'])],
    bitcount: () => [key('str'), ...opt(0.6, () => [r.pick(INDEXES), r.pick(INDEXES), ...opt(0.4, () => [r.pick(['BIT', 'BYTE', 'bit', 'x'])])])],
    bitpos: () => [key('str'), r.pick([0, 1, 1, 2, 'x']), ...opt(0.6, () => [r.pick(INDEXES), ...opt(0.6, () => [r.pick(INDEXES), ...opt(0.5, () => [r.pick(['BIT', 'BYTE', 'x'])])])])],
    bitfield: () => [key('str'), ...Array.from({ length: r.range(1, 3) }, () => r.pick([() => ['GET', r.pick(['u8', 'i5', 'i64', 'u64'])], () => ['SET', 'i8'], () => ['INCRBY', r.pick(['u4', 'i16'])], () => ['OVERFLOW', r.pick(['WRAP', 'SAT', 'FAIL'])]])()).flatMap((o) => (o[0] === 'OVERFLOW' ? o : [...o, r.pick([0, 3, '#1', 100]), ...(o[0] === 'GET' ? [] : [r.pick(INTS)])]))],
    bitfield_ro: () => [key('str'), 'GET', r.pick(['u8', 'i5']), r.pick([0, 3, '#1']), ...opt(0.2, () => ['INCRBY', 'u8', 0, 1])],
    bitop: () => [r.pick(['AND', 'OR', 'XOR', 'NOT', 'not', 'NAND']), key('str'), ...keys('str', 1, 3)],
    // keys
    del: () => (r.chance(0.2) ? [keys('any', 1, 3)] : keys('any', 1, 3)),
    unlink: () => keys('any', 1, 3),
    exists: () => keys('any', 1, 4),
    touch: () => keys('any', 1, 2),
    expire: () => [key('any'), r.pick(SECONDS), ...opt(0.3, () => [r.pick(['NX', 'XX', 'GT', 'LT', 'BAD'])])],
    pexpire: () => [key('any'), r.pick([100_000, 1_000_000, 0, -1])],
    expireat: () => [key('any'), r.pick([FUTURE_S(), PAST_S()])],
    pexpireat: () => [key('any'), r.pick([FUTURE_S() * 1000, PAST_S() * 1000])],
    ttl: () => [key('any')],
    pttl: () => [key('any')],
    expiretime: () => [key('any')],
    pexpiretime: () => [key('any')],
    persist: () => [key('any')],
    type: () => [key('any')],
    rename: () => [key('any'), key('any')],
    renamenx: () => [key('any'), key('any')],
    copy: () => [key('any'), key('any'), ...opt(0.4, () => ['REPLACE']), ...opt(0.2, () => ['DB', r.pick([0, 1, 16, 'x'])])],
    // Lists only (a set's SORT BY nosort order is its hash order); BY/GET patterns are keys too.
    // No BY nosort: a list key may hold a set by then (SUNIONSTORE, COPY…), whose unsorted
    // order differs between two Redis servers.
    // Always ALPHA: a numeric SORT in Redis 7.0 reads errno without clearing it, so after any
    // rejected out-of-range float (ZADD z 1e400 …) it fails with "One or more scores can't be
    // converted into double" until some syscall resets errno. core/tests/differential.rs
    // compares numeric SORT.
    // BY or LIMIT, not both: with both, Redis's partial quicksort leaves elements that tie
    // (BY keys missing) in an order of its own on lists of 7 or more (docs/memory.md).
    // With BY, elements that tie keep the key's own order, which for a set (a list key can
    // hold one by then) differs between two Redis servers: such replies compare as sorted
    // (normFor), and are never STOREd.
    sort: () => {
      const by = r.pick([() => opt(0.6, () => ['BY', r.pick(['s:*', 'h:*->f1'])]), () => opt(0.6, () => ['LIMIT', 0, 2])])()
      const store = by[0] === 'BY' ? [] : opt(0.1, () => ['STORE', r.pick(POOLS.list)])
      return [r.pick(POOLS.list), 'ALPHA', ...by, ...opt(0.3, () => ['GET', r.pick(['#', 's:*', 'h:*->f2'])]), ...opt(0.3, () => ['DESC']), ...store]
    },
    sort_ro: () => [r.pick(POOLS.list), 'ALPHA', ...opt(0.3, () => ['GET', r.pick(['#', 's:*'])]), ...opt(0.2, () => ['STORE', 'x'])],
    // hashes
    hset: () => (r.chance(0.25) ? [key('hash'), { [r.pick(['f1', 'f2', 'constructor'])]: val(), f3: val() }] : [key('hash'), ...pairs(() => r.pick(FIELDS), val)]),
    hsetnx: () => [key('hash'), r.pick(FIELDS), val()],
    hget: () => [key('hash'), r.pick(FIELDS)],
    hmget: () => [key('hash'), ...Array.from({ length: r.range(1, 3) }, () => r.pick(FIELDS))],
    hmset: () => [key('hash'), ...pairs(() => r.pick(FIELDS), val)],
    hgetall: () => [key('hash')],
    hdel: () => [key('hash'), ...Array.from({ length: r.range(1, 2) }, () => r.pick(FIELDS))],
    hexists: () => [key('hash'), r.pick(FIELDS)],
    hincrby: () => [key('hash'), r.pick(FIELDS), r.pick(INTS)],
    hincrbyfloat: () => [key('hash'), r.pick(FIELDS), r.pick(FLOATS)],
    hkeys: () => [key('hash')],
    hvals: () => [key('hash')],
    hlen: () => [key('hash')],
    hstrlen: () => [key('hash'), r.pick(FIELDS)],
    hrandfield: () => [key('hash'), ...opt(0.6, () => [r.pick([1, 2, -2, 5, 0, 'x']), ...opt(0.3, () => [r.pick(['WITHVALUES', 'x'])])])],
    // lists
    lpush: () => [key('list'), ...Array.from({ length: r.range(1, 3) }, val)],
    rpush: () => [key('list'), ...Array.from({ length: r.range(1, 3) }, val)],
    lpushx: () => [key('list'), val()],
    rpushx: () => [key('list'), val()],
    lpop: () => [key('list'), ...opt(0.3, () => [r.pick([0, 1, 2, 10, -1])])],
    rpop: () => [key('list'), ...opt(0.3, () => [r.pick([0, 1, 3, 'x'])])],
    lrange: () => [key('list'), r.pick(INDEXES), r.pick(INDEXES)],
    lindex: () => [key('list'), r.pick(INDEXES)],
    lset: () => [key('list'), r.pick(INDEXES), val()],
    llen: () => [key('list')],
    lrem: () => [key('list'), r.pick([0, 1, -1, 2]), val()],
    ltrim: () => [key('list'), r.pick(INDEXES), r.pick(INDEXES)],
    linsert: () => [key('list'), r.pick(['BEFORE', 'AFTER', 'MIDDLE']), val(), val()],
    lpos: () => [key('list'), val(), ...opt(0.3, () => ['RANK', r.pick([1, -1, 2, 0])]), ...opt(0.3, () => ['COUNT', r.pick([0, 1, 2])]), ...opt(0.2, () => ['MAXLEN', r.pick([0, 1, 5])])],
    lmove: () => [key('list'), key('list'), r.pick(['LEFT', 'RIGHT']), r.pick(['LEFT', 'RIGHT', 'UP'])],
    rpoplpush: () => [key('list'), key('list')],
    lmpop: () => [r.pick([1, 2, 0, 'x']), key('list'), key('list'), r.pick(['LEFT', 'RIGHT', 'MIN']), ...opt(0.4, () => ['COUNT', r.pick([1, 2, 10, 0])])],
    // sets
    sadd: () => {
      const members = Array.from({ length: r.range(1, 4) }, () => r.pick(MEMBERS))
      return r.chance(0.2) ? [key('set'), members] : [key('set'), ...members]
    },
    srem: () => [key('set'), ...Array.from({ length: r.range(1, 2) }, () => r.pick(MEMBERS))],
    smembers: () => [key('set')],
    sismember: () => [key('set'), r.pick(MEMBERS)],
    smismember: () => [key('set'), ...Array.from({ length: r.range(1, 3) }, () => r.pick(MEMBERS))],
    scard: () => [key('set')],
    sinter: () => keys('set', 1, 3),
    sunion: () => keys('set', 1, 3),
    sdiff: () => keys('set', 1, 3),
    sinterstore: () => [key('set'), ...keys('set', 1, 2)],
    sunionstore: () => [key('set'), ...keys('set', 1, 2)],
    sdiffstore: () => [key('set'), ...keys('set', 1, 2)],
    smove: () => [key('set'), key('set'), r.pick(MEMBERS)],
    sintercard: () => [r.pick([2, 1, 3, 0]), key('set'), key('set'), ...opt(0.3, () => ['LIMIT', r.pick([1, 0, -1])])],
    srandmember: () => [key('set'), ...opt(0.7, () => [r.pick([1, 2, 5, 100, -3, 0, 'x'])])],
    spop: () => [key('set'), ...opt(0.5, () => [r.pick([1, 2, 100, 0, -1])])],
    // sorted sets
    zadd: () => [key('zset'), ...opt(0.3, () => [r.pick(['NX', 'XX', 'GT', 'LT', 'CH', 'INCR', 'NX GT'])].flatMap((o) => o.split(' '))), ...pairs(() => r.pick(SCORES), () => r.pick(MEMBERS), 1, 3)],
    zincrby: () => [key('zset'), r.pick(SCORES), r.pick(MEMBERS)],
    zscore: () => [key('zset'), r.pick(MEMBERS)],
    zmscore: () => [key('zset'), r.pick(MEMBERS), r.pick(MEMBERS)],
    zrange: () => r.pick([
      () => [key('zset'), r.pick(INDEXES), r.pick(INDEXES), ...opt(0.4, () => ['WITHSCORES']), ...opt(0.2, () => ['REV'])],
      () => [key('zset'), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS), 'BYSCORE', ...opt(0.3, () => ['LIMIT', r.pick([0, 1]), r.pick([1, 2, -1])]), ...opt(0.3, () => ['WITHSCORES'])],
      () => [key('zset'), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS), 'BYLEX', ...opt(0.2, () => ['REV'])],
    ])(),
    zrangebyscore: () => [key('zset'), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS), ...opt(0.4, () => ['WITHSCORES']), ...opt(0.3, () => ['LIMIT', r.pick([0, 1, 2]), r.pick([1, 2, -1])])],
    zrevrangebyscore: () => [key('zset'), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS), ...opt(0.4, () => ['WITHSCORES'])],
    zrangebylex: () => [key('zset'), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS), ...opt(0.2, () => ['LIMIT', 0, r.pick([1, 2])])],
    zrevrangebylex: () => [key('zset'), r.pick(LEX_BOUNDS), r.pick(LEX_BOUNDS)],
    zrevrange: () => [key('zset'), r.pick(INDEXES), r.pick(INDEXES), ...opt(0.4, () => ['WITHSCORES'])],
    zrank: () => [key('zset'), r.pick(MEMBERS)],
    zrevrank: () => [key('zset'), r.pick(MEMBERS)],
    zrem: () => [key('zset'), r.pick(MEMBERS), ...opt(0.3, () => [r.pick(MEMBERS)])],
    zremrangebyscore: () => [key('zset'), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS)],
    zremrangebyrank: () => [key('zset'), r.pick(INDEXES), r.pick(INDEXES)],
    zcard: () => [key('zset')],
    zcount: () => [key('zset'), r.pick(SCORE_BOUNDS), r.pick(SCORE_BOUNDS)],
    zpopmin: () => [key('zset'), ...opt(0.4, () => [r.pick([1, 2, 10, 0, -1])])],
    zpopmax: () => [key('zset'), ...opt(0.4, () => [r.pick([1, 3])])],
    zmpop: () => [r.pick([1, 2, 0]), key('zset'), key('zset'), r.pick(['MIN', 'MAX', 'LEFT']), ...opt(0.4, () => ['COUNT', r.pick([1, 2, 10, 'x'])])],
    zunionstore: () => [key('zset'), 2, key('zset'), key('zset'), ...opt(0.3, () => ['WEIGHTS', 2, r.pick([0.5, -1, 'x'])]), ...opt(0.2, () => ['AGGREGATE', r.pick(['MIN', 'MAX', 'x'])])],
    zinterstore: () => [key('zset'), r.pick([2, 1, 0]), key('zset'), key('set'), ...opt(0.3, () => ['AGGREGATE', r.pick(['SUM', 'MAX'])])],
    zdiffstore: () => [key('zset'), 2, key('zset'), key('zset')],
    zunion: () => [2, key('zset'), key('set'), ...opt(0.5, () => ['WITHSCORES'])],
    zinter: () => [2, key('zset'), key('zset'), ...opt(0.3, () => ['WEIGHTS', 1, 'inf']), ...opt(0.5, () => ['WITHSCORES'])],
    zdiff: () => [r.pick([2, 1]), key('zset'), key('zset'), ...opt(0.5, () => ['WITHSCORES'])],
    zintercard: () => [2, key('zset'), key('zset'), ...opt(0.3, () => ['LIMIT', r.pick([1, 0, -1])])],
    zrandmember: () => [key('zset'), ...opt(0.6, () => [r.pick([1, 2, -2, 5, 0]), ...opt(0.3, () => [r.pick(['WITHSCORES', 'x'])])])],
    // server
    ping: () => opt(0.5, () => [val()]),
    echo: () => [val()],
    time: () => [],
    publish: () => [r.pick(['ch', 'ch:ü']), val()],
    // scripts
    eval: () => [r.pick(SCRIPTS), ...r.pick([() => [1, key(r.pick(['str', 'hash', 'list', 'zset']))], () => [0], () => [2, key('str'), key('list')], () => [-1], () => ['x']])(), ...opt(0.7, () => [val()])],
  }
}

/** Commands whose reply is a set (order is the server's hash order): compared sorted. */
// Hashes too: a hash with a long value leaves listpack encoding and comes back in hash order.
const SORTED_REPLY = new Set(['smembers', 'sinter', 'sunion', 'sdiff', 'keys', 'hkeys', 'hvals'])
// Allowed difference between the sides (the time between their runs), by unit.
const TTL_SLACK = { ttl: 2, expiretime: 2, pttl: 2000, pexpiretime: 2000 }

/**
 * Commands the memory engine does not implement (it answers "unknown command": see
 * docs/deviations.md). Sent now and then: on Redis they test the client like any other.
 */
function genUnimplemented(r) {
  const key = (fam) => (r.chance(0.8) ? r.pick(POOLS[fam]) : r.pick(ALL_KEYS))
  const opt = (p, xs) => (r.chance(p) ? xs() : [])
  return {
    pfadd: () => [key('any'), r.pick(VALUES), r.pick(VALUES)],
    pfcount: () => [key('any')],
    object: () => ['ENCODING', key('any')],
  }
}

/**
 * One step: a form and the ops it sends. An op is `{ m, a, cmd, norm }`: ioredis method
 * name, its arguments, the command name for call(), and how to normalise its reply.
 */
export function generateStep(r) {
  const table = gen(r)
  const names = Object.keys(table)
  const form = r.pick(FORMS_WEIGHTED)
  const prefixed = r.chance(0.15)
  const batch = SINGLE.has(form) ? 1 : form === 'watch' ? r.range(2, 5) : r.range(1, 6)
  const ops = []
  for (let i = 0; i < batch; i++) {
    let op
    const roll = r.next()
    if (roll < 0.04 && form !== 'callback' && form !== 'select') op = scanOp(r, form)
    else if (roll < 0.06) op = scriptOp(r)
    else if (roll < 0.075) op = { m: 'difget', a: [r.pick(POOLS.str), r.pick(VALUES)], cmd: 'difget' }
    else if (roll < 0.085) op = { m: null, a: [r.pick(['nosuchcmd', 'GETT', 'hgetBuffer']), r.pick(VALUES)], cmd: 'unknown' }
    else if (roll < 0.1) op = arityOp(r)
    // Each unimplemented command as often as when there were 13 of them (1.5 % in all).
    else if (roll < 0.1035) {
      const table = genUnimplemented(r)
      const name = r.pick(Object.keys(table))
      op = { m: name, a: table[name](), cmd: name, unimplemented: true }
    } else {
      let name = r.pick(names)
      // SPOP changes the two sides differently: only where the step can reconcile them.
      if (name === 'spop' && form !== 'direct' && form !== 'call') name = 'srandmember'
      op = { m: name, a: table[name](), cmd: name }
    }
    if (op.m && op.cmd !== 'unknown' && !op.stream && r.chance(0.2)) op.buffer = true
    op.norm = normFor(op)
    ops.push(op)
  }
  const step = { form, prefixed, ops }
  // WATCH the first key of the op run before the transaction (or another key): whether
  // that op modified it decides whether EXEC aborts.
  // SELECT another database for one command, then back to 0.
  if (form === 'select') step.db = r.range(1, 3)
  if (form === 'watch') step.watchKey = r.chance(0.7) && Array.isArray(ops[0].a) && ops[0].a.length ? firstKey(ops[0].a) : r.pick(ALL_KEYS)
  return step
}

function firstKey(args) {
  const a = args[0]
  return Array.isArray(a) ? a[0] : a !== null && typeof a === 'object' && !Buffer.isBuffer(a) ? Object.keys(a)[0] : a
}

const FORMS_WEIGHTED = ['direct', 'direct', 'direct', 'call', 'call', 'callback', 'select', 'pipeline', 'pipeline', 'pipelineArray', 'multi', 'multi', 'multiArray', 'multiNoPipeline', 'watch']
export const FORMS = [...new Set(FORMS_WEIGHTED)]

function scanOp(r, form) {
  const kind = r.pick(['scan', 'hscan', 'sscan', 'zscan'])
  const key = { scan: null, hscan: r.pick(POOLS.hash), sscan: r.pick(POOLS.set), zscan: r.pick(POOLS.zset) }[kind]
  const match = r.chance(0.4) ? r.pick(PATTERNS) : null
  const count = r.pick([1, 2, 5, 1000])
  const type = kind === 'scan' && r.chance(0.2) ? r.pick(['string', 'hash', 'zset', 'nothing']) : null
  const opts = [...(match ? ['MATCH', match] : []), ...(type ? ['TYPE', type] : [])]
  if (form === 'direct') {
    // Full iterations, compared as sorted sets of what they returned.
    if (r.chance(0.4)) return { m: `${kind}Stream`, stream: true, key, options: { ...(match ? { match } : {}), ...(type ? { type } : {}), count }, cmd: kind }
    return { m: kind, full: true, key, opts, count, cmd: kind }
  }
  // In one round trip: COUNT 1000 over a small keyspace returns everything at cursor 0.
  return { m: kind, a: [...(key === null ? [] : [key]), 0, ...opts, 'COUNT', 1000], cmd: kind }
}

function scriptOp(r) {
  const script = r.pick(SCRIPTS)
  const sha = sha1(script)
  return r.pick([
    () => ({ m: 'evalsha', a: [r.chance(0.8) ? sha : 'ffffffffffffffffffffffffffffffffffffffff', 1, r.pick(POOLS.str), r.pick(VALUES)], cmd: 'evalsha' }),
    () => ({ m: 'script', a: ['LOAD', script], cmd: 'script' }),
    () => ({ m: 'script', a: ['EXISTS', sha, sha1('nope')], cmd: 'script' }),
    () => ({ m: 'eval', a: [script, 1, r.pick(ALL_KEYS), r.pick(VALUES)], cmd: 'eval' }),
  ])()
}

function arityOp(r) {
  return r.pick([
    () => ({ m: 'get', a: [], cmd: 'get' }),
    () => ({ m: 'get', a: ['s:1', 's:2'], cmd: 'get' }),
    () => ({ m: 'set', a: ['s:1'], cmd: 'set' }),
    () => ({ m: 'hset', a: ['h:1', 'f1'], cmd: 'hset' }),
    () => ({ m: 'lpush', a: ['l:1'], cmd: 'lpush' }),
    () => ({ m: 'zadd', a: ['z:1', 1], cmd: 'zadd' }),
    () => ({ m: 'expire', a: ['k'], cmd: 'expire' }),
    () => ({ m: 'sadd', a: [], cmd: 'sadd' }),
    () => ({ m: 'mset', a: ['s:1', 'v', 's:2'], cmd: 'mset' }),
    () => ({ m: 'incrby', a: ['s:1'], cmd: 'incrby' }),
  ])()
}

function normFor(op) {
  if (op.full || op.stream) return 'scanAll'
  if (op.cmd === 'scan' || op.cmd === 'sscan') return 'scanOnce'
  if (op.cmd === 'hscan' || op.cmd === 'zscan') return 'scanOncePairs'
  if (SORTED_REPLY.has(op.cmd)) return 'sorted'
  if (op.cmd === 'sort' && op.a.includes('BY')) return 'sorted'
  if (op.cmd === 'hgetall') return 'entries'
  if (op.cmd in TTL_SLACK) return `ttl:${TTL_SLACK[op.cmd]}`
  if (op.cmd === 'srandmember' || op.cmd === 'hrandfield' || op.cmd === 'zrandmember') return 'randmember'
  if (op.cmd === 'spop') return 'spop'
  if (op.cmd === 'time') return 'time'
  if (op.cmd === 'randomkey') return 'randomkey'
  return null
}

function sha1(s) {
  return createHash('sha1').update(s).digest('hex')
}

// ---------------------------------------------------------------------------------------
// Sending: each form through the library's public API.

/** Arguments for call(): objects flattened like ioredis flattens them for named methods. */
function flatArgs(args) {
  const out = []
  for (const a of args) {
    if (Array.isArray(a)) out.push(...flatArgs(a))
    else if (a !== null && typeof a === 'object' && !Buffer.isBuffer(a)) for (const [k, v] of Object.entries(a)) out.push(k, v)
    else out.push(a)
  }
  return out
}

function methodName(op) {
  return op.buffer ? `${op.m}Buffer` : op.m
}

/** The [name, ...args] a pipeline or call() carries for `op`. */
function callArgs(op) {
  if (op.cmd === 'unknown') return op.a
  // A defineCommand command has no name of its own for call(): send its script.
  if (op.m === 'difget') return ['eval', CUSTOM.lua, CUSTOM.numberOfKeys, ...op.a]
  return [op.cmd, ...flatArgs(op.a)]
}

/** Outcome of `send()`: a synchronous throw counts like a rejection. */
async function settle(send) {
  try {
    return { ok: await send() }
  } catch (err) {
    return { err }
  }
}

async function fullScan(client, op) {
  const out = []
  if (op.stream) {
    const stream = op.key === null ? client[op.m](op.options) : client[op.m](op.key, op.options)
    for await (const chunk of stream) out.push(...chunk)
    return out
  }
  let cursor = '0'
  for (let i = 0; i < 10_000; i++) {
    const args = [...(op.key === null ? [] : [op.key]), cursor, ...op.opts, 'COUNT', op.count]
    const [next, items] = await client[methodName(op)](...args)
    out.push(...items)
    cursor = String(next)
    if (cursor === '0') return out
  }
  throw new Error('SCAN did not finish in 10,000 iterations')
}

/** Runs one step's form on `client`; resolves with `{ ok }` / `{ err }` (a batch: one exec result). */
export async function runStep(client, step) {
  const { form, ops } = step
  if (form === 'direct') return settle(() => send(client, ops[0]))
  if (form === 'select') {
    await client.select(step.db)
    try {
      return await settle(() => send(client, ops[0]))
    } finally {
      await client.select(0)
    }
  }
  if (form === 'call') {
    const op = ops[0]
    return settle(() => (op.buffer ? client.callBuffer(...callArgs(op)) : client.call(...callArgs(op))))
  }
  if (form === 'callback') {
    const op = ops[0]
    return settle(
      () =>
        new Promise((resolve, reject) => {
          const done = (err, res) => (err ? reject(err) : resolve(res))
          const returned = op.cmd === 'unknown' ? client.call(...op.a, done) : client[methodName(op)](...op.a, done)
          // The callback carries the outcome; the promise returned alongside must not go unhandled.
          if (returned && typeof returned.catch === 'function') returned.catch(() => {})
        }),
    )
  }
  if (form === 'multiNoPipeline') {
    // MULTI sent at once; each command answers QUEUED (or its queue-time error), then EXEC.
    const opened = await settle(() => client.multi({ pipeline: false }))
    const queued = ops.map((op) => settle(() => send(client, op)))
    const exec = await settle(() => client.exec())
    return { ok: { opened, queued: await Promise.all(queued), exec } }
  }
  if (form === 'watch') {
    const watched = await settle(() => client.watch(step.watchKey))
    const before = await settle(() => send(client, ops[0]))
    const exec = await settle(() => {
      const batch = client.multi()
      for (const op of ops.slice(1)) {
        if (op.cmd === 'unknown') batch.call(...op.a)
        else batch[methodName(op)](...op.a)
      }
      return batch.exec()
    })
    return { ok: { watched, before, exec } }
  }
  const transaction = form === 'multi' || form === 'multiArray'
  return settle(() => {
    let batch
    if (form === 'pipelineArray' || form === 'multiArray') {
      const list = ops.map((op) => (op.cmd === 'unknown' ? [...op.a] : [methodName(op), ...op.a]))
      batch = transaction ? client.multi(list) : client.pipeline(list)
    } else {
      batch = transaction ? client.multi() : client.pipeline()
      for (const op of ops) {
        if (op.cmd === 'unknown') batch.call(...op.a)
        else batch[methodName(op)](...op.a)
      }
    }
    return batch.exec()
  })
}

/** One op as a direct call (scans: the full iteration). */
function send(client, op) {
  if (op.full || op.stream) return fullScan(client, op)
  if (op.cmd === 'unknown') return client.call(...op.a)
  return client[methodName(op)](...op.a)
}

// ---------------------------------------------------------------------------------------
// The run: servers, client pairs (plain and keyPrefix'd), steps, resyncs and state checks.

const PREFIX = 'pf:'
const CUSTOM = { numberOfKeys: 1, lua: "local v = redis.call('get', KEYS[1]) if v then return {v, ARGV[1]} end return ARGV[1]" }

function withCustom(client) {
  client.defineCommand('difget', CUSTOM)
  return client
}

/** Starts what a mode needs: a reference redis-server, and a second one in mode 'redis'. */
export async function startBackends(mode) {
  const servers = [await new RedisServer().start()]
  if (mode === 'redis') servers.push(await new RedisServer().start())
  return {
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.stop()))
    },
  }
}

let memoryRuns = 0

/** Opens the four clients of a run: ioredis and bulwark, each plain and with keyPrefix. */
export async function openClients(mode, backends, seed) {
  const ref = backends.servers[0]
  const options = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true }
  const target = mode === 'redis' ? backends.servers[1].url : `memory://diff-${process.pid}-${seed}-${memoryRuns++}`
  const bulOptions = mode === 'redis' ? { ...options, fallback: false } : options
  const clients = {
    ref: withCustom(new IORedis(ref.url, options)),
    refPrefixed: withCustom(new IORedis(ref.url, { ...options, keyPrefix: PREFIX })),
    bul: withCustom(new Bulwark(target, bulOptions)),
    bulPrefixed: withCustom(new Bulwark(target, { ...bulOptions, keyPrefix: PREFIX })),
  }
  await Promise.all(Object.values(clients).map((c) => c.ping()))
  await Promise.all([clients.ref.flushall(), clients.bul.flushall(), clients.ref.script('FLUSH'), clients.bul.script('FLUSH')])
  return {
    ...clients,
    async close() {
      await Promise.all(Object.values(clients).map((c) => c.quit().catch(() => c.disconnect())))
    },
  }
}

/** The whole keyspace of one side, as a sorted, comparable list (types, contents, TTL presence). */
async function snapshot(client) {
  const keys = (await client.keysBuffer('*')).sort(Buffer.compare)
  const out = []
  for (const k of keys) {
    const type = await client.type(k)
    let content
    if (type === 'string') content = await client.getBuffer(k)
    else if (type === 'list') content = await client.lrangeBuffer(k, 0, -1)
    else if (type === 'set') content = (await client.smembersBuffer(k)).sort(Buffer.compare)
    else if (type === 'zset') content = await client.zrangeBuffer(k, 0, -1, 'WITHSCORES')
    else if (type === 'hash') {
      const flat = await client.hgetallBuffer(k)
      content = Object.entries(flat).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    }
    const ttl = await client.pttl(k)
    out.push([k.toString('hex'), type, describe(content), ttl >= 0 ? 'volatile' : ttl])
  }
  return out
}

/**
 * Runs `steps` seeded steps in `mode` and returns the tally:
 * `{ steps, mismatches, known: {id: n}, unexplained: [...] }`.
 */
export async function runDifferential({ mode, seed, steps, backends, onProgress, onStep, maxReported = 20, snapshotEvery = 250 }) {
  const r = makeRng(seed)
  const clients = await openClients(mode, backends, seed)
  const tally = { mode, seed, steps, mismatches: 0, knownCount: 0, known: {}, unexplained: [], stateMismatches: 0 }
  // When a key that is expired but still stored in Redis (SET … EXAT <past>) was last made.
  const ctx = { pastExpiryAt: -Infinity }
  // Data are flushed; scripts are loaded on both sides instead of flushed (ioredis remembers
  // which scripts it loaded for pipelines, and would answer NOSCRIPT after a SCRIPT FLUSH).
  const resync = async () => {
    await Promise.all([clients.ref, clients.bul].map(async (c) => {
      await c.flushall()
      for (const lua of [...SCRIPTS, CUSTOM.lua]) await c.script('LOAD', lua).catch(() => {})
    }))
  }
  try {
    for (let i = 0; i < steps; i++) {
      const step = generateStep(r)
      const [refClient, bulClient] = step.prefixed ? [clients.refPrefixed, clients.bulPrefixed] : [clients.ref, clients.bul]
      const [refOut, bulOut] = await Promise.all([bounded(runStep(refClient, step)), bounded(runStep(bulClient, step))])
      if (step.ops.some(leavesExpiredKey)) ctx.pastExpiryAt = Date.now()
      // Redis's DBSIZE counts such a key until its expiry cycle reclaims it: a count that
      // depends on timing inside each server (docs/deviations.md); compared by shape then.
      if (Date.now() - ctx.pastExpiryAt < 2000) for (const op of step.ops) if (op.cmd === 'dbsize') op.norm = 'count'
      const ref = picture(step, refOut)
      const bul = picture(step, bulOut)
      if (onStep) onStep(i, step, ref, bul)
      if (!samePicture(step, ref, bul)) {
        tally.mismatches++
        const known = explain(step, mode, ref, bul)
        if (known) {
          tally.knownCount++
          tally.known[known.id] = (tally.known[known.id] ?? 0) + 1
          if (known.resync) await resync()
        } else {
          if (tally.unexplained.length < maxReported) tally.unexplained.push({ step: i, ...repro(step), ioredis: ref, bulwark: bul })
          await resync()
          continue
        }
      }
      await reconcileRandomPops(step, refClient, bulClient, refOut, bulOut)
      if (snapshotEvery && (i + 1) % snapshotEvery === 0) {
        const [a, b] = await Promise.all([snapshot(clients.ref), snapshot(clients.bul)])
        if (!isDeepStrictEqual(a, b)) {
          tally.stateMismatches++
          if (tally.unexplained.length < maxReported) tally.unexplained.push({ step: i, state: true, ioredis: a, bulwark: b })
          await resync()
        }
      }
      if (onProgress && (i + 1) % 1000 === 0) onProgress(i + 1, tally)
    }
  } finally {
    await clients.close()
  }
  return tally
}

const STEP_LIMIT_MS = 10_000

/** A step that does not settle in time counts as a rejection (keeps every run bounded). */
async function bounded(promise) {
  let timer
  const limit = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ err: new Error(`${UNSETTLED} ${STEP_LIMIT_MS} ms`) }), STEP_LIMIT_MS)
  })
  try {
    return await Promise.race([promise, limit])
  } finally {
    clearTimeout(timer)
  }
}

/** SET … EXAT/PXAT <past>: Redis stores the key and reclaims it later (GETEX/EXPIRE delete at once). */
function leavesExpiredKey(op) {
  if (op.cmd !== 'set' || !op.a) return false
  const i = op.a.findIndex((a) => a === 'EXAT' || a === 'PXAT')
  return i >= 0 && Number(op.a[i + 1]) * (op.a[i] === 'EXAT' ? 1000 : 1) <= Date.now()
}

/**
 * SPOP removed different random members on each side: make the reference set hold what
 * the target's holds, read as Buffers (a popped member that is not valid UTF-8 comes back
 * as a lossy string and could not be added back as it was).
 */
async function reconcileRandomPops(step, refClient, bulClient, refOut, bulOut) {
  const op = step.ops[0]
  if (op.cmd !== 'spop' || refOut.err || bulOut.err) return
  const key = op.a[0]
  const [members, ttl] = await Promise.all([bulClient.smembersBuffer(key), refClient.pttl(key)])
  await refClient.del(key)
  if (members.length === 0) return
  await refClient.sadd(key, ...members)
  if (ttl > 0) await refClient.pexpire(key, ttl)
}

/** A minimal, printable reproduction of a step. */
export function repro(step) {
  const show = (a) => (Buffer.isBuffer(a) ? `<Buffer ${a.toString('hex')}>` : a)
  return {
    form: step.form,
    keyPrefix: step.prefixed ? PREFIX : undefined,
    watch: step.watchKey === undefined ? undefined : show(step.watchKey),
    db: step.db,
    ops: step.ops.map((op) =>
      op.full ? { full: op.m, key: op.key, opts: op.opts, count: op.count } : op.stream ? { stream: op.m, key: op.key, options: op.options } : [op.cmd === 'unknown' ? 'call' : methodName(op), ...JSON.parse(JSON.stringify((op.a ?? []).map(show)))],
    ),
  }
}
