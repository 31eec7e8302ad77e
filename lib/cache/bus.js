'use strict'
// The invalidation bus: one pub/sub channel per cache prefix on the cache's own Redis
// client. Messages carry keys, never values:
//   {"i":<instance id>,"o":"set"|"del"|"tag"|"clear"|"unlock","k":[keys],"t":<tag>}
// Publishing uses the client itself (so a message follows the write it announces on the
// same connection); receiving uses a duplicate in subscriber mode. Pub/sub is at most once:
// whenever the subscriber (re)connects after its first subscription, or either connection
// comes back from the memory fallback, messages may have been missed, and `onResync` runs.
// An instance with nothing to invalidate (no L1, no lock waiters) only publishes.

const { randomUUID } = require('node:crypto')

const RESUBSCRIBE_MS = 1000

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
    this._subscribed = false
    this._retry = null
    this.sent = 0
    this.received = 0
    this.sub = null
    this.ready = Promise.resolve()
    if (!listen) return
    this._onRecover = () => handlers.onResync()
    client.on('recover', this._onRecover)
    // Your client ending (quit/disconnect) takes the subscriber with it: a cache left
    // without close() must not keep the process alive.
    this._onEnd = () => this.close()
    client.once('end', this._onEnd)
    const sub = client.duplicate({ lazyConnect: true })
    sub.on('error', (err) => handlers.onError(err))
    sub.on('message', (channel, text) => this._receive(channel, text))
    sub.on('ready', () => {
      if (this._subscribed) handlers.onResync()
    })
    sub.on('recover', this._onRecover)
    this.sub = sub
    this.ready = this._subscribe()
  }

  _subscribe() {
    return this.sub.subscribe(this.channel).then(
      () => {
        this._subscribed = true
      },
      (err) => {
        if (this._closed) return
        this.handlers.onError(err)
        // A retry never keeps the process alive on its own.
        this._retry = setTimeout(() => {
          this._retry = null
          this.ready = this._subscribe()
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
    if (msg === null || typeof msg !== 'object' || msg.i === this.id) return
    this.received++
    this.handlers.onMessage(msg)
  }

  close() {
    if (this._closed) return
    this._closed = true
    if (this._retry !== null) clearTimeout(this._retry)
    if (this.sub === null) return
    this.client.removeListener('recover', this._onRecover)
    this.client.removeListener('end', this._onEnd)
    // disconnect(), not quit(): with Redis down quit() would wait for owed replies.
    this.sub.disconnect()
  }
}

module.exports = { InvalidationBus }
