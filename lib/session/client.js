'use strict'
// The few commands the session store sends, over whichever client the app passes: a bulwark
// `Redis` (its command methods, so calls take the client's autopipelined and memory fast
// paths), an ioredis-style client (same methods) or a node-redis ≥ 4 client
// (`sendCommand([...])`), so an app can move its store before its client.
const { Redis } = require('../redis')

/** ioredis and bulwark: `client.get(key)`, `client.set(key, value, 'EX', ttl)`, … */
class MethodClient {
  constructor(client) {
    this.client = client
    // Keys come back from SCAN with the client's keyPrefix, which it adds again to every
    // key it sends: the pattern must carry it and the returned keys must lose it.
    this.keyPrefix = typeof client.options?.keyPrefix === 'string' ? client.options.keyPrefix : ''
  }

  get(key) {
    return this.client.get(key)
  }

  set(key, value, ttl) {
    return ttl === undefined ? this.client.set(key, value) : this.client.set(key, value, 'EX', ttl)
  }

  /** Overwrites only a key that still exists (a touch must not bring back a destroyed session). */
  replace(key, value, ttl) {
    return this.client.set(key, value, 'XX', 'EX', ttl)
  }

  setPx(key, value, ms) {
    return this.client.set(key, value, 'PX', ms)
  }

  expire(key, ttl) {
    return this.client.expire(key, ttl)
  }

  del(key) {
    return this.client.del(key)
  }

  unlink(keys) {
    return this.client.unlink(keys)
  }

  mget(keys) {
    return this.client.mget(keys)
  }

  scan(cursor, match, count) {
    return this.client.scan(cursor, 'MATCH', match, 'COUNT', count)
  }
}

/** node-redis 4/5: raw commands through `sendCommand(args)`, whose replies are RESP-shaped. */
class CommandClient {
  constructor(client) {
    this.client = client
    this.keyPrefix = ''
  }

  get(key) {
    return this.client.sendCommand(['GET', key])
  }

  set(key, value, ttl) {
    return this.client.sendCommand(ttl === undefined ? ['SET', key, value] : ['SET', key, value, 'EX', String(ttl)])
  }

  replace(key, value, ttl) {
    return this.client.sendCommand(['SET', key, value, 'XX', 'EX', String(ttl)])
  }

  setPx(key, value, ms) {
    return this.client.sendCommand(['SET', key, value, 'PX', String(ms)])
  }

  expire(key, ttl) {
    return this.client.sendCommand(['EXPIRE', key, String(ttl)])
  }

  del(key) {
    return this.client.sendCommand(['DEL', key])
  }

  unlink(keys) {
    return this.client.sendCommand(['UNLINK', ...keys])
  }

  mget(keys) {
    return this.client.sendCommand(['MGET', ...keys])
  }

  scan(cursor, match, count) {
    return this.client.sendCommand(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)])
  }
}

/** Wraps the `client` option; a TypeError names what is wrong with it. */
function sessionClient(client) {
  if (client === null || typeof client !== 'object') {
    throw new TypeError(`client must be a bulwark Redis, ioredis or node-redis client, got ${client === null ? 'null' : typeof client}`)
  }
  if (client instanceof Redis || (typeof client.call === 'function' && typeof client.get === 'function')) return new MethodClient(client)
  if ('masters' in client) throw new TypeError('client: a node-redis cluster is not supported; pass a bulwark Redis or a node-redis client')
  if (typeof client.sendCommand === 'function') return new CommandClient(client)
  throw new TypeError('client must be a bulwark Redis, ioredis or node-redis client (with call() or sendCommand())')
}

/**
 * Whether the client answers from bulwark's memory engine during Redis outages (and so
 * needs the store's local copies to keep sessions it had read from Redis).
 */
function failsOver(client) {
  return client instanceof Redis && client.options.fallback !== false && !client.options.memoryOnly
}

module.exports = { sessionClient, failsOver }
