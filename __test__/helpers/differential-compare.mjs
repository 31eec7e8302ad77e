// Differential test, comparison: a reply or error becomes a plain, type-tagged descriptor,
// normalised where the server's reply is nondeterministic; a step's outcome becomes a
// "picture" (per command, per exec result) and two pictures are compared.
import { createRequire } from 'node:module'
import { isDeepStrictEqual } from 'node:util'

const require = createRequire(import.meta.url)
const RedisErrors = require('redis-errors')

/** Forms that send one op (the others carry a batch). */
export const SINGLE = new Set(['direct', 'call', 'callback', 'select'])

/** The text of the rejection a step gets when it does not settle in time. */
export const UNSETTLED = 'step did not settle within'

/** Whether a picture holds a step that never settled. */
export function unsettled(pictureOfSide) {
  return JSON.stringify(pictureOfSide).includes(UNSETTLED)
}

/** A type-tagged, JSON-able picture of a reply: Buffer vs string vs number vs nil, error class and text. */
export function describe(v) {
  if (v === null) return ['nil']
  if (v === undefined) return ['undefined']
  if (Buffer.isBuffer(v)) return ['buf', v.toString('hex')]
  if (typeof v === 'string') return ['str', v]
  if (typeof v === 'number') return ['num', Number.isNaN(v) ? 'NaN' : v]
  if (Array.isArray(v)) return ['arr', ...v.map(describe)]
  if (v instanceof Error) {
    const d = ['err', v.constructor.name, v.name, v.message, v instanceof RedisErrors.ReplyError]
    if (Array.isArray(v.previousErrors)) d.push(v.previousErrors.map((e) => e.message))
    return d
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v)
    return ['obj', proto === null ? 'null-proto' : proto === Object.prototype ? 'object' : proto.constructor?.name, ...Object.keys(v).map((k) => [k, describe(v[k])])]
  }
  return [typeof v, String(v)]
}

export const byJSON = (a, b) => {
  const x = JSON.stringify(a)
  const y = JSON.stringify(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Makes `d` (a descriptor of one command's reply) comparable across servers. */
function normalise(d, norm) {
  if (d[0] === 'err' || norm === null) return d
  switch (norm) {
    case 'sorted':
    case 'scanAll':
      return d[0] === 'arr' ? ['arr-sorted', ...uniq(d.slice(1).sort(byJSON))] : d
    case 'entries':
      // HGETALL: an object (named method) or a flat field/value array (call()), as sorted pairs.
      if (d[0] === 'obj') return ['obj-sorted', d[1], ...d.slice(2).sort(byJSON)]
      if (d[0] === 'arr') return ['pairs-sorted', ...pairsOf(d.slice(1)).sort(byJSON)]
      return d
    case 'scanOnce':
      return d[0] === 'arr' ? ['scan', d[1], d[2][0] === 'arr' ? d[2].slice(1).sort(byJSON) : d[2]] : d
    case 'scanOncePairs':
      if (d[0] !== 'arr' || d[2][0] !== 'arr') return d
      return ['scan', d[1], pairsOf(d[2].slice(1)).sort(byJSON)]
    case 'randmember':
    case 'spop':
      // A random pick: its shape (nil / one member / how many) is deterministic, which members is not.
      if (d[0] === 'arr') return ['random-members', d.length - 1, [...new Set(d.slice(1).map((x) => x[0]))]]
      return ['random-member', d[0]]
    case 'time':
      return d[0] === 'arr' ? ['time', d.length, d.slice(1).map((x) => [x[0], /^\d+$/.test(String(x[1]))])] : d
    case 'randomkey':
      return ['random-key', d[0]]
    case 'count':
      return ['count', d[0]]
    default:
      return d
  }
}

function pairsOf(items) {
  const pairs = []
  for (let i = 0; i < items.length; i += 2) pairs.push([items[i], items[i + 1]])
  return pairs
}

export function uniq(sorted) {
  return sorted.filter((x, i) => i === 0 || JSON.stringify(x) !== JSON.stringify(sorted[i - 1]))
}

/** Equality of normalised descriptors; TTL-like replies allow the time between the two sides. */
function sameReply(a, b, norm) {
  if (norm?.startsWith('ttl:') && a[0] === 'num' && b[0] === 'num' && a[1] >= 0 && b[1] >= 0) {
    return Math.abs(a[1] - b[1]) <= Number(norm.slice(4))
  }
  return isDeepStrictEqual(a, b)
}

/** Picture of one side of a step (exec results are per op). */
export function picture(step, outcome) {
  const { form, ops } = step
  if (outcome.err) return { rejected: describe(outcome.err) }
  if (SINGLE.has(form)) return single(outcome, ops[0])
  if (form === 'multiNoPipeline') {
    const { opened, queued, exec } = outcome.ok
    return { opened: single(opened, null), queued: queued.map((q) => single(q, null)), exec: batch(exec, ops) }
  }
  if (form === 'watch') {
    const { watched, before, exec } = outcome.ok
    return { watched: single(watched, null), before: single(before, ops[0]), exec: batch(exec, ops.slice(1)) }
  }
  return batch(outcome, ops)
}

/** One command's outcome (`op` null: a reply that needs no normalising, such as QUEUED). */
function single(outcome, op) {
  if (outcome.err) return { rejected: describe(outcome.err) }
  return { reply: normalise(describe(outcome.ok), op?.norm ?? null), norm: op?.norm ?? null }
}

/** An exec() outcome: per-op [err, result] pairs, nil (WATCH conflict), or a rejection. */
function batch(outcome, ops) {
  if (outcome.err) return { rejected: describe(outcome.err) }
  const results = outcome.ok
  if (!Array.isArray(results)) return { execReply: describe(results) }
  return {
    results: results.map((entry, i) => {
      const norm = ops[i]?.norm ?? null
      if (!Array.isArray(entry)) return ['not-a-pair', describe(entry)]
      const [err, res] = entry
      return err ? ['error', describe(err), norm] : ['ok', normalise(describe(res), norm), norm]
    }),
  }
}

/** Whether two pictures of the same step agree (TTL-like replies within the time between the sides). */
export function samePicture(step, a, b) {
  return samePart(a, b)
}

function samePart(a, b) {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b
  if ('reply' in a && 'reply' in b) return a.norm === b.norm && sameReply(a.reply, b.reply, a.norm)
  if (Array.isArray(a.results) && Array.isArray(b.results)) {
    if (a.results.length !== b.results.length) return false
    return a.results.every((x, i) => x[0] === b.results[i][0] && sameReply(x[1], b.results[i][1], x[2]))
  }
  const keys = Object.keys(a)
  if (!isDeepStrictEqual(keys, Object.keys(b))) return false
  return keys.every((k) => (Array.isArray(a[k]) && Array.isArray(b[k]) ? a[k].length === b[k].length && a[k].every((x, i) => samePart(x, b[k][i])) : samePart(a[k], b[k])))
}
