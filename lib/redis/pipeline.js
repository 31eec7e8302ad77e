'use strict'
const commands = require('../redis-commands')
const { Command } = require('../redis-command')
const { toReplyError } = require('./errors')
const { scriptArgs, loadScripts } = require('./scripts')
const { checkName } = require('./command-name')

/** `pipeline()` / `multi()`: queue commands, send them back to back on `exec()`. */
class Pipeline {
  constructor(redis, transaction, commandList) {
    this.redis = redis
    this.isTransaction = transaction
    this._queue = []
    this._scripts = new Map()
    if (commandList !== undefined) {
      if (!Array.isArray(commandList)) throw new TypeError('pipeline(commands): commands must be an array of [name, ...args]')
      for (const entry of commandList) {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw new TypeError('pipeline(commands): each entry must be [name, ...args]')
        this.call(entry[0], ...entry.slice(1))
      }
    }
    for (const [name, script] of redis._scripts) {
      const add = (replyEncoding) =>
        function (...args) {
          const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
          return this._add(new Command('evalsha', [script.sha, ...scriptArgs(script, args)], { replyEncoding }, callback), script)
        }
      this[name] = add('utf8')
      this[`${name}Buffer`] = add(null)
    }
  }

  get length() {
    return this._queue.length
  }

  _add(command, script) {
    command.promise.catch(() => {}) // results are reported by exec(); no unhandled rejections
    this._queue.push({ command, script })
    return this
  }

  call(name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(checkName(name), args, {}, callback))
  }

  callBuffer(name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(checkName(name), args, { replyEncoding: null }, callback))
  }

  exec(callback) {
    const promise = this.isTransaction ? this._execTransaction() : this._execPipeline()
    if (typeof callback === 'function') promise.then((v) => callback(null, v), callback)
    return promise
  }

  async _execPipeline() {
    const redis = this.redis
    // Scripts are loaded first so EVALSHA inside the pipeline finds them.
    await loadScripts(redis, this._queue)
    const sent = this._queue.map(({ command }) => redis.sendCommand(command))
    const settled = await Promise.allSettled(sent)
    return settled.map((s) => (s.status === 'fulfilled' ? [null, s.value] : [s.reason]))
  }

  async _execTransaction() {
    const redis = this.redis
    await loadScripts(redis, this._queue)
    const multi = redis.sendCommand(new Command('multi', []))
    const queued = this._queue.map(({ command }) => {
      // Inside MULTI the server answers QUEUED; the real reply comes in EXEC's array.
      const probe = new Command(command.name, command.args, { replyEncoding: command.replyEncoding })
      return redis.sendCommand(probe)
    })
    const exec = redis.sendCommand(new Command('exec', [], { replyEncoding: this._queue.some((q) => q.command.replyEncoding === null) ? null : 'utf8' }))
    const [multiResult, queuedResults, execResult] = await Promise.all([
      multi.then(
        () => null,
        (err) => err,
      ),
      Promise.allSettled(queued),
      exec.then(
        (value) => ({ value }),
        (error) => ({ error }),
      ),
    ])
    if (multiResult) throw multiResult
    if (execResult.error) {
      const err = execResult.error
      err.previousErrors = queuedResults.filter((r) => r.status === 'rejected').map((r) => r.reason)
      for (const { command } of this._queue) command.reject(err)
      throw err
    }
    const replies = execResult.value
    if (replies === null) {
      for (const { command } of this._queue) command.resolve(null)
      return null
    }
    return this._queue.map(({ command }, i) => {
      let reply = replies[i]
      if (reply instanceof Error) {
        const err = toReplyError(reply)
        err.command = { name: command.name, args: command.args }
        command.reject(err)
        return [err]
      }
      if (command.replyEncoding !== null && Buffer.isBuffer(reply)) reply = reply.toString()
      try {
        const value = command.transformReply(reply)
        command.resolve(value)
        return [null, value]
      } catch (err) {
        command.reject(err)
        return [err]
      }
    })
  }
}

for (const name of commands.list) {
  if (name in Pipeline.prototype) continue
  Pipeline.prototype[name] = function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(name, args, {}, callback))
  }
  Pipeline.prototype[`${name}Buffer`] = function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(name, args, { replyEncoding: null }, callback))
  }
}

module.exports = { Pipeline }
