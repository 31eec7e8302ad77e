'use strict'
// The components that health(), the metrics and the dashboard report on. Clients,
// breakers and limiters add themselves when constructed; a Cache or SessionStore (or
// any component of the user's) does the same with `registry.add(kind, component, name)`
// and counts its outcomes on the returned entry. The registry holds components weakly:
// one that is dropped without being closed disappears from the reports once collected.

/** Label names of the counts each kind keeps (see lib/metrics.js for the series). */
const KINDS = {
  client: [],
  breaker: ['event'],
  limiter: ['decision', 'backend'],
  cache: ['result', 'tier'],
  session: ['operation'],
}

/** A registered component: its unique name and its counts by label values. */
class Entry {
  constructor(kind, name, component) {
    this.kind = kind
    this.name = name
    this._ref = new WeakRef(component)
    /** Count cells `{ n }` by first label value, then second ('' for kinds with one label). */
    this._cells = new Map()
    // The cell counted last: a limiter counts the same labels decision after decision,
    // and two comparisons cost less than the two map lookups and the write.
    this._lastFirst = null
    this._lastSecond = null
    this._lastCell = null
    this.removed = false
  }

  /** The component, or undefined once it was garbage-collected. */
  get component() {
    return this._ref.deref()
  }

  /**
   * Adds one to the count of these label values, in KINDS[kind] order, e.g.
   * `entry.count('hit', 'l1')` for a cache. Pass fixed values only (never keys or IPs).
   */
  count(first, second = '') {
    if (first === this._lastFirst && second === this._lastSecond) {
      this._lastCell.n++
      return
    }
    let inner = this._cells.get(first)
    if (inner === undefined) this._cells.set(first, (inner = new Map()))
    let cell = inner.get(second)
    if (cell === undefined) inner.set(second, (cell = { n: 0 }))
    cell.n++
    this._lastFirst = first
    this._lastSecond = second
    this._lastCell = cell
  }

  /** The count of these label values (0 when never counted). */
  value(first, second = '') {
    return this._cells.get(first)?.get(second)?.n ?? 0
  }

  /** Counts by first label value, then second: `Map(first → Map(second → n))`. */
  get counts() {
    const out = new Map()
    for (const [first, inner] of this._cells) {
      const counts = new Map()
      for (const [second, cell] of inner) counts.set(second, cell.n)
      out.set(first, counts)
    }
    return out
  }
}

const entries = new Map(Object.keys(KINDS).map((kind) => [kind, new Map()]))
/** Per kind: the next suffix to try for a name already taken. */
const suffixes = new Map(Object.keys(KINDS).map((kind) => [kind, new Map()]))
/** Per kind: the entry count after the last prune (add() prunes when it doubled). */
const pruned = new Map(Object.keys(KINDS).map((kind) => [kind, 0]))

function checkKind(kind) {
  if (!entries.has(kind)) throw new TypeError(`kind must be one of ${Object.keys(KINDS).join(', ')}, got ${String(kind)}`)
}

/**
 * Registers `component` under `kind` ('client', 'breaker', 'limiter', 'cache',
 * 'session'). `name` becomes its `client`/`name`/`limiter`/`cache`/`store` label; a
 * name already taken gets `-2`, `-3`… Returns the entry to count on.
 */
function add(kind, component, name) {
  checkKind(kind)
  if (component === null || typeof component !== 'object') throw new TypeError('component must be an object')
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string')
  const byName = entries.get(kind)
  // Amortized: components dropped without being closed are forgotten once their
  // number doubled, not on every add (creating thousands of breakers stays O(1) each).
  if (byName.size >= 2 * pruned.get(kind) + 64) prune(kind)
  let unique = name
  if (byName.has(name)) {
    const next = suffixes.get(kind)
    let n = next.get(name) ?? 2
    while (byName.has(`${name}-${n}`)) n++
    next.set(name, n + 1)
    unique = `${name}-${n}`
  }
  const entry = new Entry(kind, unique, component)
  byName.set(unique, entry)
  return entry
}

/** Takes `entry` out of the reports (a client that quit, a breaker shut down). */
function remove(entry) {
  if (entry === undefined || entry === null || entry.removed) return
  entry.removed = true
  const byName = entries.get(entry.kind)
  if (byName.get(entry.name) === entry) byName.delete(entry.name)
}

function prune(kind) {
  const byName = entries.get(kind)
  for (const [name, entry] of byName) if (entry.component === undefined) byName.delete(name)
  pruned.set(kind, byName.size)
}

/** The live entries of `kind`, in registration order. */
function list(kind) {
  checkKind(kind)
  prune(kind)
  return [...entries.get(kind).values()]
}

module.exports = { KINDS, Entry, add, remove, list }
