'use strict'
// The Redis 7 command table (generated from a real server's COMMAND by
// scripts/gen-redis-commands.mjs) and the key-spec interpreter keyPrefix relies on.
const { commands } = require('./redis-commands.json')

const byName = new Map()
for (const [name, arity, flags, keySpecs] of commands) byName.set(name, { name, arity, flags, keySpecs })

/** Top-level command names (no `container|sub` entries): one prototype method each. */
const list = commands.filter(([name]) => !name.includes('|')).map(([name]) => name)

const str = (arg) => (typeof arg === 'string' ? arg : String(arg))

/** The table entry for `name` with `args`, resolving container subcommands. */
function lookup(name, args) {
  const lower = name.toLowerCase()
  const top = byName.get(lower)
  if (top && args.length > 0 && byName.has(`${lower}|${str(args[0]).toLowerCase()}`)) {
    return byName.get(`${lower}|${str(args[0]).toLowerCase()}`)
  }
  return top
}

/**
 * Indexes into `args` (the arguments after the command name) that hold keys, per the
 * server's key specs: begin-search by index or keyword, then a key range or a key count.
 */
function keyIndexes(name, args) {
  const entry = lookup(name, args)
  if (!entry || entry.keySpecs.length === 0) return []
  const argv = [name, ...args] // key specs count argv[0] = the command
  const out = new Set()
  for (const [begin, find] of entry.keySpecs) {
    let start
    if (begin[0] === 'i') start = begin[1]
    else if (begin[0] === 'k') {
      const keyword = begin[1].toUpperCase()
      const from = begin[2]
      if (from >= 0) {
        for (let i = from; i < argv.length; i++) {
          if (str(argv[i]).toUpperCase() === keyword) {
            start = i + 1
            break
          }
        }
      } else {
        for (let i = argv.length + from; i > 0; i--) {
          if (str(argv[i]).toUpperCase() === keyword) {
            start = i + 1
            break
          }
        }
      }
    }
    if (start === undefined || start >= argv.length) continue
    if (find[0] === 'r') {
      const [, lastKey, step, limit] = find
      let last = lastKey >= 0 ? start + lastKey : argv.length + lastKey
      if (lastKey < 0 && limit > 1) last = start + Math.floor((argv.length - start) / limit) - 1
      for (let i = start; i <= last && i < argv.length; i += step) out.add(i - 1)
    } else if (find[0] === 'n') {
      const [, numIdx, firstKey, step] = find
      const count = Number.parseInt(str(argv[start + numIdx]), 10)
      if (!(count > 0)) continue
      for (let k = 0; k < count; k++) {
        const i = start + firstKey + k * step
        if (i < argv.length) out.add(i - 1)
      }
    }
  }
  const lower = name.toLowerCase()
  if (lower === 'sort' || lower === 'sort_ro') addSortPatterns(args, out)
  return [...out].sort((a, b) => a - b)
}

/**
 * SORT's BY and GET patterns name keys too, which the server's key specs do not say;
 * ioredis prefixes them (every GET pattern but `#`), and so do we.
 */
function addSortPatterns(args, out) {
  for (let i = 1; i < args.length - 1; i++) {
    if (typeof args[i] !== 'string') continue
    const directive = args[i].toUpperCase()
    if (directive === 'GET') {
      i += 1
      if (args[i] !== '#') out.add(i)
    } else if (directive === 'BY' || directive === 'STORE') {
      i += 1
      out.add(i)
    }
  }
}

const blocking = new Set(commands.filter(([, , flags]) => flags.includes('blocking')).map(([name]) => name))

/** Whether the command may block the connection server-side (BLPOP, XREAD BLOCK…). */
function isBlocking(name) {
  return blocking.has(name)
}

module.exports = { list, keyIndexes, isBlocking, lookup }
