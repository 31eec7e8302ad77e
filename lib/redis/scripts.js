'use strict'
// defineCommand scripts, run as ioredis runs them: the first use on a connection sends
// EVAL (which loads the script there), later uses EVALSHA; a NOSCRIPT reply (SCRIPT
// FLUSH, a restarted server) forgets the script and sends it again as EVAL. Inside
// MULTI there is no such retry: the EXEC entry carries the NOSCRIPT error.
const { createHash } = require('node:crypto')
const { Command } = require('../redis-command')
const { asCallback } = require('./as-callback')

/** A script definition as `defineCommand` takes it, checked; `{lua, sha, numberOfKeys}`. */
function defineScript(definition) {
  if (!definition || typeof definition.lua !== 'string') throw new TypeError('defineCommand: definition.lua must be a string')
  const numberOfKeys = definition.numberOfKeys
  if (numberOfKeys !== undefined && numberOfKeys !== null && !(Number.isInteger(numberOfKeys) && numberOfKeys >= 0)) {
    throw new TypeError('defineCommand: numberOfKeys must be a non-negative integer')
  }
  return { lua: definition.lua, sha: createHash('sha1').update(definition.lua).digest('hex'), numberOfKeys }
}

const isNoScript = (err) => Boolean(err) && typeof err.message === 'string' && err.message.includes('NOSCRIPT')

/** EVALSHA that becomes EVAL when the connection has not run the script yet. */
class ScriptCommand extends Command {
  constructor(script, args, options) {
    super('evalsha', [script.sha, ...args], options)
    this.script = script
    this.loadedOn = null
    const reject = this.reject
    this.reject = (err) => {
      if (this.loadedOn !== null && isNoScript(err)) this.loadedOn.delete(script.sha)
      reject(err)
    }
  }

  /** Picks EVAL or EVALSHA as the command is sent; `loaded`: the shas this connection ran. */
  chooseForm(loaded) {
    this.loadedOn = loaded
    const { sha, lua } = this.script
    if (!loaded.has(sha)) {
      loaded.add(sha)
      this.name = this.lowerName = 'eval'
      this.args[0] = lua
    } else if (this.name === 'eval') {
      this.name = this.lowerName = 'evalsha'
      this.args[0] = sha
    }
  }
}

/** Runs `script` with `args` on `container` (a client or a pipeline); returns what its sendCommand does. */
function executeScript(container, script, args, replyEncoding, callback) {
  const full = script.numberOfKeys === undefined || script.numberOfKeys === null ? args : [script.numberOfKeys, ...args]
  const command = new ScriptCommand(script, full, { replyEncoding })
  command.promise = command.promise.catch((err) => {
    if (!isNoScript(err)) throw err
    const client = container.isPipeline ? container.redis : container
    return client.sendCommand(new ScriptCommand(script, full, { replyEncoding }))
  })
  asCallback(command.promise, callback)
  return container.sendCommand(command)
}

/** The `name` / `nameBuffer` methods `defineCommand` installs (on a client or a pipeline). */
function scriptMethod(script, replyEncoding) {
  return function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return executeScript(this, script, args, replyEncoding, callback)
  }
}

module.exports = { defineScript, scriptMethod, ScriptCommand }
