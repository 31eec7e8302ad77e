'use strict'
// ioredis's opt-in `blockingTimeout`: a client-side deadline for blocking commands, so a
// BLPOP on a connection that died without a close (a partition, a hung server) resolves
// `null` instead of waiting forever. Same commands, argument parsing and grace as ioredis.

/** The timeout (seconds) is the last argument: BLPOP key… timeout. */
const LAST_ARG_TIMEOUT = new Set(['blpop', 'brpop', 'brpoplpush', 'blmove', 'bzpopmin', 'bzpopmax'])
/** The timeout (seconds) is the first argument: BLMPOP timeout numkeys key…. */
const FIRST_ARG_TIMEOUT = new Set(['bzmpop', 'blmpop'])
/** A `BLOCK ms` option: XREAD [COUNT n] BLOCK ms STREAMS …. */
const BLOCK_OPTION = new Set(['xread', 'xreadgroup'])

function number(arg) {
  if (typeof arg === 'number') return arg
  if (typeof arg === 'string' || Buffer.isBuffer(arg)) {
    const value = Number(String(arg))
    return Number.isFinite(value) ? value : undefined
  }
  return undefined
}

/** The command's own timeout in ms: 0 = forever, null = does not block, undefined = unknown. */
function ownTimeoutMs(name, args) {
  if (LAST_ARG_TIMEOUT.has(name) || FIRST_ARG_TIMEOUT.has(name)) {
    const seconds = number(LAST_ARG_TIMEOUT.has(name) ? args[args.length - 1] : args[0])
    return seconds === undefined ? undefined : Math.max(seconds, 0) * 1000
  }
  for (let i = 0; i < args.length; i++) {
    if (String(args[i]).toLowerCase() === 'block') {
      const ms = number(args[i + 1])
      return ms === undefined ? undefined : Math.max(ms, 0)
    }
  }
  return null
}

/**
 * How long the client waits for a reply to blocking command `name` before resolving it
 * with `null`: its own timeout plus `blockingTimeoutGrace`, or `blockingTimeout` when it
 * blocks forever (or, for XREAD, has no BLOCK). Undefined when there is no deadline:
 * the option is off (the default, as in ioredis) or the command is not one of these.
 */
function blockingDeadlineMs(name, args, options) {
  if (!(options.blockingTimeout > 0) || !(LAST_ARG_TIMEOUT.has(name) || FIRST_ARG_TIMEOUT.has(name) || BLOCK_OPTION.has(name))) return undefined
  const own = ownTimeoutMs(name, args)
  if (own === undefined) return undefined
  return own > 0 ? own + options.blockingTimeoutGrace : options.blockingTimeout
}

/** Arms the deadline of `command` (an ioredis-style Command); cleared when it settles. */
function armBlockingDeadline(command, options) {
  const ms = blockingDeadlineMs(command.lowerName, command.args, options)
  if (ms === undefined) return
  const timer = setTimeout(() => command.resolve(null), ms)
  const clear = () => clearTimeout(timer)
  command.promise.then(clear, clear)
}

module.exports = { armBlockingDeadline, blockingDeadlineMs }
