// Differential test, the known mismatches, in one place. Each names its cause and the
// differences it explains: a `rewrite` of both pictures that must make them equal, and/or
// `applies` (the steps it covers). `client:*` entries are client-layer differences awaiting
// their fix (delete the entry when it merges: the test then checks the case); `memory:*`
// and `deviation:*` are the deliberate deviations of docs/deviations.md. `resync`: the
// sides' data differ afterwards, so both are flushed.
import { isUtf8 } from 'node:buffer'
import { createHash } from 'node:crypto'
import { samePicture, byJSON, uniq, unsettled } from './differential-compare.mjs'


/** Applies `f` to every error descriptor inside a picture (replies, exec results, rejections). */
function mapErrors(x, f) {
  if (!Array.isArray(x)) {
    if (x && typeof x === 'object') for (const k of Object.keys(x)) x[k] = mapErrors(x[k], f)
    return x
  }
  if (x[0] === 'err') return f(x)
  return x.map((y) => mapErrors(y, f))
}

/** The test's scripts that answer a status or error made of ARGV[1], by text and by sha. */
const STATUS_SCRIPTS = new Set(['return {ok = ARGV[1]}', 'return {err = ARGV[1]}'].flatMap((lua) => [lua, createHash('sha1').update(lua).digest('hex')]))

export const KNOWN_MISMATCHES = [
  {
    id: 'memory:status-reply-invalid-utf8',
    layer: 'memory',
    reason: "the engine's status and error replies are Rust Strings: a script returning {ok=…}/{err=…} with bytes that are not valid UTF-8 gets U+FFFD in their place (Redis passes the bytes through)",
    modes: ['memory'],
    applies: (step) => step.ops.some((op) => ['eval', 'evalsha'].includes(op.cmd) && STATUS_SCRIPTS.has(String(op.a[0])) && op.a.some((a) => Buffer.isBuffer(a) && !isUtf8(a))),
    // It may cover a step whose other commands changed the data differently.
    resync: true,
  },
  {
    id: 'client:error-reply-invalid-utf8',
    layer: 'client',
    reason: 'an error or status reply whose text is not valid UTF-8 (an unknown command quoting a byte like 0xc3, a script returning {err=…}/{ok=…}) makes bulwark drop the connection: AbortError for it and every command queued behind it',
    modes: ['redis'],
    applies: (step) => step.ops.some((op) => ['unknown', 'eval', 'evalsha'].includes(op.cmd) && op.a.some((a) => Buffer.isBuffer(a) && !isUtf8(a))),
    // The commands behind it in the batch were aborted.
    resync: true,
  },
  {
    id: 'deviation:array-form-unknown-method-message',
    layer: 'client',
    reason: "pipeline([...])/multi([...]) with a name that is no method: both throw TypeError; ioredis's message is an accident of its code (\"Cannot read properties of undefined (reading 'apply')\"), bulwark's names the command (docs/deviations.md)",
    applies: (step) => (step.form === 'pipelineArray' || step.form === 'multiArray') && step.ops.some((op) => op.cmd === 'unknown'),
    rewrite: (p) => mapErrors(p, (e) => (e[1] === 'TypeError' ? [...e.slice(0, 3), 'unknown method', ...e.slice(4)] : e)),
  },
  {
    id: 'deviation:prefix-object-key',
    layer: 'client',
    reason: "with keyPrefix, ioredis sends OBJECT's key unprefixed (its command table lists no key for OBJECT) and reads another key; bulwark prefixes it (docs/deviations.md)",
    applies: (step) => step.prefixed && step.ops.some((op) => op.m === 'object' || op.cmd === 'object'),
    resync: true,
  },
  {
    id: 'deviation:prefix-missing-key',
    layer: 'client',
    reason: "with keyPrefix, ioredis sends GET pf:undefined for get() without a key (answer: nil), and pads SINTERCARD 3 k1 k2 with a key pf:undefined; bulwark sends what it was given and Redis answers the arity / 'Number of keys' error (docs/deviations.md)",
    applies: (step) => step.prefixed && step.ops.some((op) => (op.a?.length === 0 && (op.m === 'get' || op.m === 'sadd')) || (op.cmd === 'sintercard' && op.a[0] === 3)),
    // In a transaction the arity error aborts bulwark's whole block.
    resync: true,
  },
  {
    id: 'memory:unimplemented-command',
    layer: 'memory',
    reason: 'the engine answers "ERR unknown command" for commands it does not implement (PFADD, PFCOUNT, OBJECT, …: docs/memory.md lists what it implements)',
    modes: ['memory'],
    applies: (step) => step.ops.some((op) => op.unimplemented),
    resync: true,
  },
  {
    id: 'client:big-integer-parse',
    layer: 'client',
    reason: "integer replies beyond 2^53: ioredis's parser accumulates digits in a double (9223372036854775807 → 9223372036854778000), bulwark rounds once (→ 9223372036854776000)",
    // 13 digits: the two roundings differ in the last bits, which 15 digits can straddle.
    rewrite: (p) => mapNumbers(p, (n) => (Math.abs(n) > Number.MAX_SAFE_INTEGER ? `~${n.toPrecision(13)}` : n)),
  },
]

/** Applies `f` to every number descriptor of a picture. */
function mapNumbers(x, f) {
  if (!Array.isArray(x)) {
    if (x && typeof x === 'object') for (const k of Object.keys(x)) x[k] = mapNumbers(x[k], f)
    return x
  }
  if (x[0] === 'num' && typeof x[1] === 'number') return ['num', f(x[1])]
  return x.map((y) => mapNumbers(y, f))
}

/** Every Buffer descriptor of a picture as the string it decodes to (UTF-8). */
function mapBuffers(x) {
  if (!Array.isArray(x)) {
    if (x && typeof x === 'object') for (const k of Object.keys(x)) x[k] = mapBuffers(x[k])
    return x
  }
  if (x[0] === 'buf' && typeof x[1] === 'string') return ['str', Buffer.from(x[1], 'hex').toString()]
  if (x[0] === 'buf' && typeof x[1] === 'boolean') return ['str', x[1]]
  // Normalised forms carry type tags and sorted contents: retag, and sort again.
  if (x[0] === 'random-member') return ['random-member', x[1] === 'buf' ? 'str' : x[1]]
  if (x[0] === 'random-members') return ['random-members', x[1], [...new Set(x[2].map((t) => (t === 'buf' ? 'str' : t)))]]
  if (x[0] === 'arr-sorted') return ['arr-sorted', ...uniq(x.slice(1).map(mapBuffers).sort(byJSON))]
  if (x[0] === 'scan') return ['scan', mapBuffers(x[1]), x[2].map(mapBuffers).sort(byJSON)]
  if (x[0] === 'obj-sorted') return ['obj-sorted', x[1], ...x.slice(2).map(mapBuffers).sort(byJSON)]
  if (x[0] === 'pairs-sorted') return ['pairs-sorted', ...x.slice(1).map(mapBuffers).sort(byJSON)]
  return x.map(mapBuffers)
}

/**
 * The known mismatches that explain a difference (one id, or several joined by ' + ' when
 * only their rewrites together make the pictures equal), or null.
 */
export function explain(step, mode, ref, bul) {
  // A step that never settled is a bug of its own, whatever else differs.
  if (unsettled(ref) || unsettled(bul)) return null
  const candidates = KNOWN_MISMATCHES.filter((k) => (!k.modes || k.modes.includes(mode)) && (!k.applies || k.applies(step)))
  const blanket = candidates.find((k) => !k.rewrite)
  if (blanket) return blanket
  const equalAfter = (list) => {
    let a = structuredClone(ref)
    let b = structuredClone(bul)
    for (const k of list) {
      a = k.rewrite(a, step)
      b = k.rewrite(b, step)
    }
    return samePicture(step, a, b)
  }
  const single = candidates.find((k) => equalAfter([k]))
  if (single) return single
  if (candidates.length > 1 && equalAfter(candidates)) {
    let needed = candidates.filter((k) => !equalAfter(candidates.filter((other) => other !== k)))
    if (needed.length === 0) needed = candidates
    return { id: needed.map((k) => k.id).join(' + '), resync: needed.some((k) => k.resync) }
  }
  return null
}
