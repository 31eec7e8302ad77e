// Regenerates lib/redis-commands.json from a real redis-server's `COMMAND` reply:
//   node scripts/gen-redis-commands.mjs
// Each entry: [name, arity, flags, keySpecs] where keySpecs is a compact list of
// [beginSearch, findKeys] (see lib/redis-keys.js for how they are interpreted).
import net from 'node:net'
import { writeFileSync } from 'node:fs'
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
  table.sort((a, b) => (a[0] < b[0] ? -1 : 1))
  const out = { generatedFrom: `redis-server ${version} COMMAND`, commands: table }
  writeFileSync(new URL('../lib/redis-commands.json', import.meta.url), JSON.stringify(out) + '\n')
  console.log(`wrote ${table.length} entries from redis ${version}`)
} finally {
  await server.stop()
}
