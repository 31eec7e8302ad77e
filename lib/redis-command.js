'use strict'
// `Command`: one Redis command with its promise, as ioredis's `Redis.Command`.
const { ReplyError } = require('./redis-errors')
const { asCallback } = require('./redis/as-callback')

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
    const key = reply[i]
    // A name already "in" a fresh object is special (`__proto__`, or a property someone
    // defined on Object.prototype, maybe read-only): defineProperty makes it an own field.
    if (key in obj) Object.defineProperty(obj, key, { value: reply[i + 1], enumerable: true, writable: true, configurable: true })
    else obj[key] = reply[i + 1]
  }
  return obj
}
replyTransformers.set('hgetall', hgetallTransform)

// Transformers are looked up by the command name exactly as given, as ioredis does: the
// named methods pass lowercase names, so `hgetall()` gets an object while
// `call('HGETALL', k)` gets the raw array.

/** The arguments as sent: flattened one level, then through `name`'s transformer. */
function prepareArgs(name, args) {
  const flat = flatten(args)
  const transform = argumentTransformers.get(name)
  return transform ? transform(flat) : flat
}

/** The reply as the user sees it (after any reply transformer, e.g. hgetall → object). */
function transformReply(name, value) {
  const transform = replyTransformers.get(name)
  return transform ? transform(value) : value
}

/** Bulk replies read as Buffers (an EXEC in a pipeline) decoded as `encoding`, nested too. */
function convertBufferToString(value, encoding) {
  if (Buffer.isBuffer(value)) return value.toString(encoding)
  if (Array.isArray(value)) return value.map((item) => convertBufferToString(item, encoding))
  return value
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
    this.lowerName = name.toLowerCase()
    this.args = prepareArgs(name, args)
    this.isReadOnly = false
    /** Queued inside MULTI by a pipeline: the server answers QUEUED, EXEC the result. */
    this.inTransaction = false
    this.isResolved = false
    this.promise = asCallback(
      new Promise((resolve, reject) => {
        this.resolve = (value) => {
          this.isResolved = true
          resolve(value)
        }
        this.reject = reject
      }),
      callback,
    )
  }

  /** The reply as the user sees it (after any reply transformer, e.g. hgetall → object). */
  transformReply(value) {
    return transformReply(this.name, value)
  }

  /** An EXEC entry read as Buffers, as this command's own reply would have been. */
  transformExecEntry(value) {
    return this.transformReply(this.replyEncoding === null ? value : convertBufferToString(value, this.replyEncoding))
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
