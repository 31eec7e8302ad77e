'use strict'
// Pub/sub: a dedicated RESP3 connection carries subscriptions and messages. These are
// methods of `Redis` (installed on its prototype by client.js).
const native = require('../native')
const { Command } = require('../redis-command')
const { scratch } = require('./writer')
const { closedError } = require('./errors')
const { nativeOptions } = require('./native-options')

/** Which subscription set each pub/sub command changes. */
const SUBSCRIPTION_SET = {
  subscribe: 'subscribe',
  unsubscribe: 'subscribe',
  psubscribe: 'psubscribe',
  punsubscribe: 'psubscribe',
  ssubscribe: 'ssubscribe',
  sunsubscribe: 'ssubscribe',
}

class PubSub {
  _closeSubscriber() {
    if (this._sub !== null) this._sub.disconnect(false)
    this.mode = 'normal'
    for (const set of Object.values(this._subscriptions)) set.clear()
  }

  _subscriber() {
    if (this._sub === null) {
      this._subReady = false
      this._sub = new native.RedisConnection(nativeOptions(this.options, true), (batch) => this._onSubDelivery(batch))
    }
    return this._sub
  }

  _onSubDelivery(batch) {
    if (batch[0] === -2) {
      this._onMessage(batch)
      return
    }
    if (batch[0] !== -1) {
      this._onDelivery(batch)
      return
    }
    const [, name, code, detail] = batch
    if (name === 'fallback') {
      // The outage moved this connection to the memory engine: subscribe there, so
      // messages published in-process keep arriving.
      this._resubscribe()
    } else if (name === 'ready') {
      // After a reconnect the new connection has no subscriptions: restore them.
      if (this._subReady && this.options.autoResubscribe) this._resubscribe()
      this._subReady = true
    } else if (name === 'error') {
      const err = new Error(detail)
      if (code) err.code = code
      this.silentEmit('error', err)
    } else if (name === 'close' && code === 'retry') {
      let delay
      try {
        delay = this._manuallyClosing || !this.options.retryStrategy ? undefined : this.options.retryStrategy(Number(detail))
      } catch (err) {
        this.silentEmit('error', err)
      }
      this._sub.retry(typeof delay === 'number' && Number.isFinite(delay) && delay >= 0 ? delay : -1)
    } else if (name === 'end') {
      this._sub = null
    }
  }

  _onMessage(batch) {
    const kind = batch[1]
    if (kind === 'pmessage') {
      const [, , patternBuffer, channel, message] = batch
      // The pattern is a string in both events, as ioredis emits it.
      const pattern = patternBuffer.toString()
      this.emit('pmessageBuffer', pattern, channel, message)
      if (this.listenerCount('pmessage') > 0) this.emit('pmessage', pattern, channel.toString(), message.toString())
    } else {
      const [, , channel, message] = batch
      this.emit(`${kind}Buffer`, channel, message)
      if (this.listenerCount(kind) > 0) this.emit(kind, channel.toString(), message.toString())
    }
  }

  _resubscribe() {
    for (const [command, set] of Object.entries(this._subscriptions)) {
      for (const channel of set) {
        this._sendSub(command, channel).catch((err) => this.silentEmit('error', err))
      }
    }
  }

  _sendSub(command, channel) {
    const cmd = new Command(command, [channel])
    const link = this._subscriber()
    const id = this._nextId
    this._nextId = id >= 0x7fffffff ? 1 : id + 1
    scratch.pos = 0
    try {
      scratch.u32(id)
      scratch.u32(0)
      scratch.u32(0)
      scratch.command(command, [channel])
    } catch (err) {
      return Promise.reject(err)
    }
    scratch.buf.writeUInt32LE(scratch.pos - 12, 8)
    this._pending.set(id, cmd)
    let done
    try {
      done = link.submitBatch(scratch.buf, scratch.pos)
    } catch {
      done = undefined
    }
    if (done === undefined) {
      this._pending.delete(id)
      cmd.reject(closedError())
    } else if (done !== null) {
      this._settleNow(done)
    }
    return cmd.promise
  }

  /** Runs (p|s)subscribe / (p|s)unsubscribe one channel at a time; resolves the final count. */
  async _subscription(command, args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    const run = async () => {
      const channels = args.flat()
      for (const ch of channels) {
        if (typeof ch !== 'string' && !Buffer.isBuffer(ch)) throw new TypeError(`${command}: channels must be strings or Buffers`)
      }
      const setName = SUBSCRIPTION_SET[command]
      const set = this._subscriptions[setName]
      const subscribing = !command.includes('unsub')
      if (subscribing && channels.length === 0) throw new Error(`ERR wrong number of arguments for '${command}' command`)
      const targets = channels.length > 0 ? channels.map((c) => c.toString()) : [...set]
      if (this.status === 'end' && this._manuallyClosing) throw closedError()
      let count = this._subscriptionCount()
      if (targets.length === 0) return count
      if (subscribing) this.mode = 'subscriber'
      for (const channel of targets) {
        const reply = await this._sendSub(command, channel)
        if (subscribing) set.add(channel)
        else set.delete(channel)
        // RESP3 confirmations arrive as push frames without the kind: [channel, count].
        count = Number(reply[reply.length - 1])
      }
      if (this._subscriptionCount() === 0) this.mode = 'normal'
      return this.options.stringNumbers ? String(count) : count
    }
    const promise = run()
    if (callback) promise.then((v) => callback(null, v), callback)
    return promise
  }

  _subscriptionCount() {
    const s = this._subscriptions
    return s.subscribe.size + s.psubscribe.size + s.ssubscribe.size
  }
}

/** Puts the pub/sub methods and the (p|s)(un)subscribe commands on `Redis.prototype`. */
function installPubSub(Redis) {
  for (const name of Object.getOwnPropertyNames(PubSub.prototype)) {
    if (name !== 'constructor') Object.defineProperty(Redis.prototype, name, Object.getOwnPropertyDescriptor(PubSub.prototype, name))
  }
  for (const command of ['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']) {
    Redis.prototype[command] = function (...args) {
      return this._subscription(command, args)
    }
    // ioredis has …Buffer twins of these; the reply is a count either way.
    Redis.prototype[`${command}Buffer`] = function (...args) {
      return this[command](...args)
    }
  }
}

module.exports = { installPubSub }
