'use strict'
// `Command`: one Redis command with its promise, as ioredis's `Redis.Command`.
const { ReplyError } = require('./redis-errors')

const argumentTransformers = new Map()
const replyTransformers = new Map()

/** ioredis flattens arguments one level: `del([a, b])`, `mget(['a'], 'b')`. */
function flatten(args) {
  let nested = false
  for (let i = 0; i < args.length; i++) {
    if (Array.isArray(args[i])) {
      nested = true
      break
    }
  }
  if (!nested) return args
  const out = []
  for (const arg of args) {
    if (Array.isArray(arg)) for (const a of arg) out.push(a)
    else out.push(arg)
  }
  return out
}

function pairs(obj) {
  const out = []
  if (obj instanceof Map) {
    for (const [k, v] of obj) out.push(k, v)
  } else {
    for (const k of Object.keys(obj)) out.push(k, obj[k])
  }
  return out
}

const isPlainArg = (x) => x instanceof Map || (x !== null && typeof x === 'object' && !Buffer.isBuffer(x) && !Array.isArray(x))

// mset/msetnx({k: v}) and hset/hmset(key, {f: v}) expand to pairs, as in ioredis.
const msetTransform = (args) => (args.length === 1 && isPlainArg(args[0]) ? pairs(args[0]) : args)
const hsetTransform = (args) => (args.length === 2 && isPlainArg(args[1]) ? [args[0], ...pairs(args[1])] : args)
argumentTransformers.set('mset', msetTransform)
argumentTransformers.set('msetnx', msetTransform)
argumentTransformers.set('hset', hsetTransform)
argumentTransformers.set('hmset', hsetTransform)

/** hgetall → plain object ({} when the key is missing); field names kept verbatim. */
function hgetallTransform(reply) {
  if (!Array.isArray(reply)) return reply
  const obj = {}
  for (let i = 0; i < reply.length; i += 2) {
    const key = String(reply[i])
    // defineProperty so a field named "__proto__" is an own property, not the prototype.
    if (key === '__proto__') Object.defineProperty(obj, key, { value: reply[i + 1], enumerable: true, writable: true, configurable: true })
    else obj[key] = reply[i + 1]
  }
  return obj
}
replyTransformers.set('hgetall', hgetallTransform)

/** The arguments as sent: flattened one level, then through `name`'s transformer. */
function prepareArgs(lowerName, args) {
  const flat = flatten(args)
  const transform = argumentTransformers.get(lowerName)
  return transform ? transform(flat) : flat
}

/** The reply as the user sees it (after any reply transformer, e.g. hgetall → object). */
function transformReply(lowerName, value) {
  const transform = replyTransformers.get(lowerName)
  return transform ? transform(value) : value
}

class Command {
  /**
   * @param {string} name command name
   * @param {unknown[]} [args]
   * @param {{replyEncoding?: string | null, keyPrefix?: string}} [options]
   * @param {Function} [callback] node-style callback
   */
  constructor(name, args = [], options = {}, callback) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError('Command name must be a non-empty string')
    }
    if (!Array.isArray(args)) throw new TypeError('Command args must be an array')
    this.name = name
    this.replyEncoding = options.replyEncoding === undefined ? 'utf8' : options.replyEncoding
    const lower = name.toLowerCase()
    this.lowerName = lower
    this.args = prepareArgs(lower, args)
    this.isReadOnly = false
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    if (typeof callback === 'function') {
      this.promise.then(
        (value) => callback(null, value),
        (err) => callback(err),
      )
    }
  }

  /** The reply as the user sees it (after any reply transformer, e.g. hgetall → object). */
  transformReply(value) {
    return transformReply(this.lowerName, value)
  }

  /** Settles the promise with a transformed reply. */
  settle(value) {
    try {
      this.resolve(this.transformReply(value))
    } catch (err) {
      this.reject(err)
    }
  }

  /** Rejects with a ReplyError carrying `command: {name, args}` as ioredis does. */
  replyError(message) {
    const err = new ReplyError(message)
    err.command = { name: this.name, args: this.args }
    this.reject(err)
  }

  /** Registers an argument transformer for `name` (ioredis `Command.setArgumentTransformer`). */
  static setArgumentTransformer(name, fn) {
    argumentTransformers.set(name.toLowerCase(), fn)
  }

  /** Registers a reply transformer for `name` (ioredis `Command.setReplyTransformer`). */
  static setReplyTransformer(name, fn) {
    replyTransformers.set(name.toLowerCase(), fn)
  }
}

module.exports = { Command, flatten, prepareArgs, transformReply }
