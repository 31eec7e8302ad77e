'use strict'
// The options object the native RedisConnection takes, from the parsed ioredis options.
const { sentinelNativeOptions, sentinelFallbackTarget } = require('../sentinel')

/** PEM text from `tls` values as Node's tls takes them: a string, a Buffer or an array of them. */
function pem(value) {
  return Buffer.concat([].concat(value).flatMap((part) => [Buffer.from(part), Buffer.from('\n')]))
}

/** The options object the native RedisConnection takes. */
function nativeOptions(o, subscriber) {
  return {
    host: o.host,
    port: o.port,
    path: o.path || undefined,
    tls: Boolean(o.tls),
    tlsInsecure: Boolean(o.tls && o.tls.rejectUnauthorized === false),
    tlsCa: o.tls && o.tls.ca ? pem(o.tls.ca) : undefined,
    tlsCert: o.tls && o.tls.cert ? pem(o.tls.cert) : undefined,
    tlsKey: o.tls && o.tls.key ? pem(o.tls.key) : undefined,
    username: o.username || undefined,
    password: o.password || undefined,
    db: o.db,
    connectionName: o.connectionName || undefined,
    connectTimeout: o.connectTimeout,
    commandTimeout: o.commandTimeout,
    offlineQueue: o.enableOfflineQueue,
    maxRetriesPerRequest: o.maxRetriesPerRequest === null ? undefined : o.maxRetriesPerRequest,
    maxQueueLength: o.maxQueueLength,
    maxQueueBytes: o.maxQueueBytes,
    readyCheck: o.enableReadyCheck,
    pingInterval: o.pingInterval,
    stringNumbers: o.stringNumbers,
    subscriber,
    resendUnfulfilled: o.autoResendUnfulfilledCommands,
    // Every client of one server (or one memory:// name) shares one memory engine.
    fallbackTarget: o.memoryOnly ? `memory://${o.host}` : o.fallback === 'memory' ? (o.sentinels ? sentinelFallbackTarget(o) : o.path ? `unix:${o.path}` : `redis://${o.host}:${o.port}`) : undefined,
    memoryOnly: o.memoryOnly,
    fallbackTimeout: o.fallbackTimeout,
    recovery: o.recovery,
    memoryMaxKeys: o.memory.maxKeys ?? undefined,
    memoryMaxBytes: o.memory.maxMemoryBytes ?? undefined,
    ...sentinelNativeOptions(o),
  }
}

module.exports = { nativeOptions }
