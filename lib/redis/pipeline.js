'use strict'
// `pipeline()` and `multi()`, as ioredis 5 has them: a pipeline queues Commands and sends
// them back to back on `exec()`, resolving `[[null, result] | [err], …]`. Inside it,
// `multi()` … `exec()` queue MULTI and EXEC inline (each command then answers "QUEUED"
// and EXEC's array carries the results, transformed per command). `redis.multi()` is a
// Transaction: a pipeline that starts with MULTI and whose `exec()` unwraps EXEC's reply.
const commands = require('../redis-commands')
const { Command } = require('../redis-command')
const { ReplyError } = require('../redis-errors')
const { asCallback } = require('./as-callback')
const { scriptMethod } = require('./scripts')
const { callMethod } = require('./command-name')

class Pipeline {
  constructor(redis) {
    this.redis = redis
    this.isPipeline = true
    this.options = redis.options
    this._queue = []
    this._results = []
    this._replyPending = 0
    this._transactions = 0
    this._started = false
    this.promise = new Promise((resolve) => {
      this.resolve = resolve
    })
    // Commands defined on the client (defineCommand, addBuiltinCommand) exist here too.
    for (const [name, script] of redis._scripts) {
      this[name] = scriptMethod(script, 'utf8')
      this[`${name}Buffer`] = scriptMethod(script, null)
    }
    for (const name of redis._addedBuiltins) {
      this[name] = pipelineMethod(name, 'utf8')
      this[`${name}Buffer`] = pipelineMethod(name, null)
    }
  }

  /** Commands queued so far (MULTI and EXEC of inline transactions included). */
  get length() {
    return this._queue.length
  }

  /** Queues `command`; its settlement fills its slot of the results. Returns the pipeline. */
  sendCommand(command) {
    if (this._transactions > 0) command.inTransaction = true
    const position = this._queue.length
    this._queue.push(command)
    command.promise.then(
      (value) => this._fill([null, value], position),
      (err) => this._fill([err], position),
    )
    return this
  }

  _fill(entry, position) {
    const command = this._queue[position]
    if (command.lowerName === 'exec' && Array.isArray(entry[1])) {
      // EXEC's entries came as Buffers: each becomes what its own command would return.
      const replies = entry[1]
      for (let i = 0; i < replies.length; i++) {
        if (replies[i] instanceof Error) {
          replies[i] = replies[i] instanceof ReplyError ? replies[i] : new ReplyError(replies[i].message)
          continue
        }
        const queued = this._queue[position - (replies.length - i)]
        try {
          replies[i] = queued.transformExecEntry(replies[i])
        } catch (err) {
          replies[i] = err
        }
      }
    }
    this._results[position] = entry
    if (--this._replyPending === 0) this.resolve(this._results)
  }

  /** ioredis's `addBatch`: `[[methodName, ...args], …]`, any method of the pipeline. */
  addBatch(list) {
    if (!Array.isArray(list)) throw new TypeError('pipeline(commands): commands must be an array of [name, ...args]')
    for (const entry of list) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw new TypeError('pipeline(commands): each entry must be [name, ...args]')
      const method = entry[0] === 'constructor' ? undefined : this[entry[0]]
      if (typeof method !== 'function') throw new TypeError(`pipeline(commands): unknown command "${entry[0]}"`)
      method.apply(this, entry.slice(1))
    }
    return this
  }


  /** Opens an inline transaction: MULTI now, EXEC at the matching `exec()`. */
  multi(...args) {
    this._transactions += 1
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this.sendCommand(new Command('multi', args, {}, callback))
  }

  /**
   * Inside an inline transaction: queues its EXEC (read as Buffers, so every entry can
   * be decoded as its own command's reply would be) and returns the pipeline. Otherwise
   * sends everything queued and resolves with the results.
   */
  exec(callback) {
    if (this._transactions > 0) {
      this._transactions -= 1
      return this.sendCommand(new Command('exec', [], { replyEncoding: null }))
    }
    if (!this._started) {
      this._started = true
      asCallback(this.promise, callback)
      this._replyPending = this._queue.length
      if (this._queue.length === 0) this.resolve([])
      this.redis._sendTogether(this._queue)
    }
    return this.promise
  }
}

/** Any command by name; `callBuffer` gives Buffer replies. */
Pipeline.prototype.call = callMethod('utf8')
Pipeline.prototype.callBuffer = callMethod(null)
Pipeline.prototype.send_command = Pipeline.prototype.call

/** A pipeline method queuing command `name`; `replyEncoding` null for the …Buffer twin. */
function pipelineMethod(name, replyEncoding) {
  return function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this.sendCommand(new Command(name, args, { replyEncoding }, callback))
  }
}

// Every Redis command and its …Buffer twin, as ioredis's Commander (MONITOR excepted:
// it would turn the connection into a stream; `redis.monitor()` opens its own).
for (const name of commands.list) {
  if (name === 'monitor') continue
  if (!(name in Pipeline.prototype)) Pipeline.prototype[name] = pipelineMethod(name, 'utf8')
  if (!(`${name}Buffer` in Pipeline.prototype)) Pipeline.prototype[`${name}Buffer`] = pipelineMethod(name, null)
}

/** [[null, result] | [err], …] from EXEC's array (null after a WATCH conflict stays null). */
function wrapMultiResult(replies) {
  if (!replies) return null
  return replies.map((reply) => (reply instanceof Error ? [reply] : [null, reply]))
}

/** `redis.multi()`: MULTI, the queued commands, EXEC; `exec()` resolves EXEC's results. */
class Transaction extends Pipeline {
  constructor(redis) {
    super(redis)
    this.multi()
  }

  exec(callback) {
    if (this._started) return super.exec(callback)
    // The EXEC matching the MULTI this transaction opened with.
    if (this._transactions > 0) super.exec()
    const unwrapped = super.exec().then((results) => {
      const execResult = results[results.length - 1]
      if (execResult === undefined) {
        throw new Error('Pipeline cannot be used to send any commands when the `exec()` has been called on it.')
      }
      if (execResult[0]) {
        // EXECABORT: the errors that made Redis discard the transaction come along.
        execResult[0].previousErrors = results.slice(0, -1).filter((r) => r[0]).map((r) => r[0])
        throw execResult[0]
      }
      return wrapMultiResult(execResult[1])
    })
    return asCallback(unwrapped, callback)
  }
}

module.exports = { Pipeline, Transaction, wrapMultiResult }
