'use strict'
// The invalidation bus: one pub/sub channel per cache prefix on the cache's own Redis
// client. Messages carry keys, never values:
//   {"i":<instance id>,"o":"set"|"del"|"tag"|"clear"|"unlock","k":[keys],"t":<tag>}
// Publishing uses the client itself (so a message follows the write it announces on the
// same connection); receiving uses a duplicate in subscriber mode. Pub/sub is at most once:
// when the subscriber's connection drops (its retryStrategy is asked for a delay) or the
// client comes back from the memory fallback (`recover`), messages may have been missed:
// `onResync` runs, and the bus probes itself (a "probe" message to its own channel every
// PROBE_MS) until one comes back, proving the subscription live again, and then runs
// `onResync` once more for whatever was read in between.
// An instance with nothing to invalidate (no L1, no lock waiters) only publishes.

const { randomUUID } = require('node:crypto')

const RESUBSCRIBE_MS = 1000
const PROBE_MS = 100

class InvalidationBus {
  /**
   * @param client the cache's bulwark Redis client (stays the caller's; never closed here)
   * @param channel the channel name
   * @param handlers `{ onMessage(msg), onResync(), onError(err) }`
   * @param listen whether to subscribe (else publish only)
   */
  constructor(client, channel, handlers, listen) {
    this.client = client
    this.channel = channel
    this.id = randomUUID()
    this.handlers = handlers
    this._closed = false
    this._retry = null
    this._probe = null
    this.sent = 0
    this.received = 0
    this.sub = null
    this.ready = Promise.resolve()
    if (!listen) return
    this._onRecover = () => this._lost()
    client.on('recover', this._onRecover)
    // Your client ending (quit/disconnect) takes the subscriber with it: a cache left
    // without close() must not keep the process alive.
    this._onEnd = () => this.close()
    client.once('end', this._onEnd)
    const reconnect = client.options.retryStrategy
    const sub = client.duplicate({
      lazyConnect: true,
      retryStrategy: reconnect
        ? (times) => {
            this._lost()
            return reconnect(times)
          }
        : null,
    })
    sub.on('error', (err) => handlers.onError(err))
    sub.on('message', (channel, text) => this._receive(channel, text))
    this.sub = sub
    // Resolves once subscribed (retries included), or at close().
    this.ready = new Promise((resolve) => {
      this._markReady = resolve
    })
    this._subscribe()
  }

  _subscribe() {
    this.sub.subscribe(this.channel).then(
      () => this._markReady(),
      (err) => {
        if (this._closed) return
        this.handlers.onError(err)
        // A retry never keeps the process alive on its own.
        this._retry = setTimeout(() => {
          this._retry = null
          this._subscribe()
        }, RESUBSCRIBE_MS)
        this._retry.unref()
      },
    )
  }

  /** Announces an operation to the other instances; errors go to onError, never thrown. */
  publish(op, keys, tag) {
    if (this._closed) return
    const msg = { i: this.id, o: op }
    if (keys !== undefined) msg.k = keys
    if (tag !== undefined) msg.t = tag
    this.sent++
    this.client.publish(this.channel, JSON.stringify(msg)).catch((err) => this.handlers.onError(err))
  }

  _receive(channel, text) {
    if (channel !== this.channel) return
    let msg
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (msg === null || typeof msg !== 'object') return
    if (msg.i === this.id) {
      if (msg.o === 'probe' && this._probe !== null) {
        clearInterval(this._probe)
        this._probe = null
        this.handlers.onResync()
      }
      return
    }
    this.received++
    this.handlers.onMessage(msg)
  }

  /** Messages may have been lost: resync now, and again once the subscription is proven live. */
  _lost() {
    if (this._closed) return
    this.handlers.onResync()
    if (this._probe !== null) return
    this._probe = setInterval(() => this.publish('probe'), PROBE_MS)
    this._probe.unref()
  }

  close() {
    if (this._closed) return
    this._closed = true
    if (this._retry !== null) clearTimeout(this._retry)
    if (this._probe !== null) clearInterval(this._probe)
    if (this.sub === null) return
    this._markReady()
    this.client.removeListener('recover', this._onRecover)
    this.client.removeListener('end', this._onEnd)
    // disconnect(), not quit(): with Redis down quit() would wait for owed replies.
    this.sub.disconnect()
  }
}

module.exports = { InvalidationBus }
