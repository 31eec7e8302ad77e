'use strict'
// Commands named at run time: `call()`/`callBuffer()` on the client and on pipelines.
const { Command } = require('../redis-command')

function checkName(name) {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('Command name must be a non-empty string')
  return name
}

/**
 * A `call`-style method sending any command by name through `this.sendCommand`, with an
 * optional node-style callback last; `replyEncoding` null gives Buffer replies.
 */
function callMethod(replyEncoding) {
  return function (name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this.sendCommand(new Command(checkName(name), args, { replyEncoding }, callback))
  }
}

module.exports = { checkName, callMethod }
