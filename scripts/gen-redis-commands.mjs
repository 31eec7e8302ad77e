// Regenerates lib/redis-commands.json from a real redis-server's `COMMAND` reply:
//   node scripts/gen-redis-commands.mjs
// Each entry: [name, arity, flags, keySpecs] where keySpecs is a compact list of
// [beginSearch, findKeys] (see lib/redis-commands.js for how they are interpreted).
// Commands newer than that server which ioredis has methods for (its @ioredis/commands
// table, and `sentinel`) are added from ioredis's table, so that code written for ioredis
// finds every method it calls; their keys come from that table's first/last/step.
import net from 'node:net'
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { startRedis } from '../__test__/helpers/redis-server.mjs'

class Incomplete extends Error {}

/** Minimal RESP2 reader for one reply (enough for COMMAND's output). */
function parse(buf, pos) {
  if (pos >= buf.length || buf.indexOf('\r\n', pos) < 0) throw new Incomplete()
  const type = String.fromCharCode(buf[pos])
  const eol = buf.indexOf('\r\n', pos)
  const line = buf.toString('utf8', pos + 1, eol)
  pos = eol + 2
  if (type === '+' ) return [line, pos]
  if (type === '-') return [new Error(line), pos]
  if (type === ':') return [Number(line), pos]
  if (type === '$') {
    const n = Number(line)
    if (n < 0) return [null, pos]
    if (pos + n + 2 > buf.length) throw new Incomplete()
    return [buf.toString('utf8', pos, pos + n), pos + n + 2]
  }
  if (type === '*') {
    const n = Number(line)
    if (n < 0) return [null, pos]
    const out = []
    for (let i = 0; i < n; i++) {
      const [v, p] = parse(buf, pos)
      out.push(v)
      pos = p
    }
    return [out, pos]
  }
  throw new Error(`unexpected RESP type ${type}`)
}

function command(port, line) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let data = Buffer.alloc(0)
    socket.on('connect', () => socket.write(line + '\r\n'))
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk])
      try {
        const [value, end] = parse(data, 0)
        if (end === data.length) {
          socket.end()
          resolve(value)
        }
      } catch (err) {
        if (!(err instanceof Incomplete)) throw err
      }
    })
    socket.on('error', reject)
  })
}

const toObject = (flat) => {
  const o = {}
  for (let i = 0; i < flat.length; i += 2) o[flat[i]] = flat[i + 1]
  return o
}

function compactSpec(spec) {
  const s = toObject(spec)
  const bs = toObject(s.begin_search)
  const fk = toObject(s.find_keys)
  const bsSpec = toObject(bs.spec)
  const fkSpec = toObject(fk.spec)
  const begin = bs.type === 'index' ? ['i', bsSpec.index] : bs.type === 'keyword' ? ['k', bsSpec.keyword, bsSpec.startfrom] : ['u']
  const find = fk.type === 'range' ? ['r', fkSpec.lastkey, fkSpec.keystep, fkSpec.limit] : fk.type === 'keynum' ? ['n', fkSpec.keynumidx, fkSpec.firstkey, fkSpec.keystep] : ['u']
  return [begin, find]
}

/**
 * Entries for the commands ioredis has a method for and this server does not list. Every
 * such command in @ioredis/commands 1.10 names its keys by first/last/step except MSETEX
 * (numkeys, then key value pairs), whose keys ioredis finds the same way.
 */
function ioredisOnly(known) {
  const require = createRequire(createRequire(import.meta.url).resolve('ioredis'))
  const data = require('@ioredis/commands/built/commands.json')
  const version = require('@ioredis/commands/package.json').version
  const added = []
  for (const [name, { arity, flags, keyStart, keyStop, step }] of Object.entries(data)) {
    if (known.has(name)) continue
    let keySpecs = []
    if (name === 'msetex') keySpecs = [[['i', 1], ['n', 0, 1, 2]]]
    else if (keyStart > 0) keySpecs = [[['i', keyStart], ['r', keyStop < 0 ? keyStop : keyStop - keyStart, step, 0]]]
    else if (flags.includes('movablekeys')) throw new Error(`@ioredis/commands ${version}: no key rule for ${name}`)
    added.push([name, arity, flags, keySpecs])
  }
  // ioredis adds `sentinel` itself (a sentinel's command, absent from a server's COMMAND).
  if (!known.has('sentinel')) added.push(['sentinel', -2, ['admin', 'noscript', 'loading', 'stale'], []])
  return { added, source: `@ioredis/commands ${version}` }
}

const server = await startRedis()
try {
  const version = (await command(server.port, 'INFO server')).match(/redis_version:(\S+)/)[1]
  const reply = await command(server.port, 'COMMAND')
  const table = []
  const add = (entry, parent) => {
    const [name, arity, flags, , , , , , specs, subcommands] = entry
    table.push([name.toLowerCase(), arity, flags, (specs || []).map(compactSpec)])
    if (!parent) for (const sub of subcommands || []) add(sub, name)
  }
  for (const entry of reply) add(entry)
  const { added, source } = ioredisOnly(new Set(table.map(([name]) => name)))
  table.push(...added)
  table.sort((a, b) => (a[0] < b[0] ? -1 : 1))
  const out = { generatedFrom: `redis-server ${version} COMMAND; ${added.length} newer commands ioredis has methods for (${source})`, commands: table }
  writeFileSync(new URL('../lib/redis-commands.json', import.meta.url), JSON.stringify(out) + '\n')
  console.log(`wrote ${table.length} entries from redis ${version} (${added.length} newer, ioredis: ${source})`)
} finally {
  await server.stop()
}
