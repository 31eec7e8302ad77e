'use strict'
// diagnostics_channel tracing with ioredis 5.11's channels and payloads (lib/tracing.ts),
// so APMs that subscribe to them (Sentry, dd-trace, OpenTelemetry) keep their Redis
// spans after the import change. bulwark adds `backend` ('redis' or 'memory': where the
// command was sent) to each context. Nothing is built unless someone subscribes.
const dc = require('node:diagnostics_channel')

const commandChannel = dc.tracingChannel('ioredis:command')
const connectChannel = dc.tracingChannel('ioredis:connect')

// Argument sanitization rules of ioredis 5.11, adapted there from
// @opentelemetry/redis-common: how many arguments after the command name are shown
// (-1: all); unlisted commands (AUTH, HELLO, custom ones) show none.
const SERIALIZATION_SUBSETS = [
  { regex: /^ECHO/i, args: 0 },
  { regex: /^(LPUSH|MSET|PFA|PUBLISH|RPUSH|SADD|SET|SPUBLISH|XADD|ZADD)/i, args: 1 },
  { regex: /^(HSET|HMSET|LSET|LINSERT)/i, args: 2 },
  {
    regex: /^(ACL|BIT|B[LRZ]|CLIENT|CLUSTER|CONFIG|COMMAND|DECR|DEL|EVAL|EX|FUNCTION|GEO|GET|HINCR|HMGET|HSCAN|INCR|L[TRLM]|MEMORY|P[EFISTU]|RPOP|S[CDIMORSU]|XACK|X[CDGILPRT]|Z[CDILMPRS])/i,
    args: -1,
  },
]

function sanitizeArgs(name, args) {
  let allowed = 0
  for (const subset of SERIALIZATION_SUBSETS) {
    if (subset.regex.test(name)) {
      allowed = subset.args
      break
    }
  }
  if (allowed === -1) return args.map((a) => String(a))
  return args.map((a, i) => (i < allowed ? String(a) : '?'))
}

function serverAddress(options) {
  if (options.path) return { address: options.path, port: undefined }
  return { address: options.host || 'localhost', port: options.port || 6379 }
}

function noop() {}

/** True when an APM listens for commands: the command methods then skip the memory fast path. */
function tracingCommands() {
  return commandChannel.hasSubscribers
}

/** Returns `command.promise`, traced on `ioredis:command` when someone subscribes. */
function traceCommand(client, command) {
  if (!commandChannel.hasSubscribers) return command.promise
  const { address, port } = serverAddress(client.options)
  const context = {
    command: command.name,
    args: sanitizeArgs(command.name, command.args),
    database: client._selectedDb ?? client.options.db ?? 0,
    serverAddress: address,
    serverPort: port,
    backend: client.backend,
  }
  // As ioredis: the wrapper re-rejects, and callers may drop it (pipelines).
  const traced = commandChannel.tracePromise(() => command.promise, context)
  traced.catch(noop)
  return traced
}

/** Runs `connect()` (a function returning its promise), traced on `ioredis:connect`. */
function traceConnect(client, connect) {
  if (!connectChannel.hasSubscribers) return connect()
  const { address, port } = serverAddress(client.options)
  const context = { serverAddress: address, serverPort: port, connectionEpoch: client.connectionEpoch, backend: client.backend }
  return connectChannel.tracePromise(connect, context)
}

module.exports = { sanitizeArgs, tracingCommands, traceCommand, traceConnect }
