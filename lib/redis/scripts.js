'use strict'
// defineCommand scripts: EVALSHA with the EVAL fallback, and the pre-load pipelines need.
const { createHash } = require('node:crypto')
const { Command } = require('../redis-command')
const { ReplyError } = require('../redis-errors')

/** A script definition as `defineCommand` takes it, checked; `{lua, sha, numberOfKeys}`. */
function defineScript(definition) {
  if (!definition || typeof definition.lua !== 'string') throw new TypeError('defineCommand: definition.lua must be a string')
  const numberOfKeys = definition.numberOfKeys
  if (numberOfKeys !== undefined && numberOfKeys !== null && !(Number.isInteger(numberOfKeys) && numberOfKeys >= 0)) {
    throw new TypeError('defineCommand: numberOfKeys must be a non-negative integer')
  }
  return { lua: definition.lua, sha: createHash('sha1').update(definition.lua).digest('hex'), numberOfKeys }
}

function scriptArgs(script, args) {
  return script.numberOfKeys === undefined || script.numberOfKeys === null ? args : [script.numberOfKeys, ...args]
}

function runScript(client, script, args, replyEncoding, callback) {
  const full = scriptArgs(script, args)
  const evalsha = new Command('evalsha', [script.sha, ...full], { replyEncoding })
  const result = client.sendCommand(evalsha).catch((err) => {
    if (!(err instanceof ReplyError) || !err.message.startsWith('NOSCRIPT')) throw err
    return client.sendCommand(new Command('eval', [script.lua, ...full], { replyEncoding }))
  })
  if (typeof callback === 'function') result.then((v) => callback(null, v), callback)
  return result
}

async function loadScripts(redis, queue) {
  const shas = new Map()
  for (const { script } of queue) if (script) shas.set(script.sha, script.lua)
  if (shas.size === 0) return
  const exists = await redis.script('EXISTS', ...shas.keys())
  let i = 0
  for (const [, lua] of shas) {
    if (!exists[i++]) await redis.script('LOAD', lua)
  }
}

module.exports = { defineScript, scriptArgs, runScript, loadScripts }
