'use strict'
// Sharded pub/sub on a Cluster: SSUBSCRIBE has to reach the primary that owns each
// channel's slot (ioredis without `shardedSubscribers` sends it to one random node, where
// other slots' channels never settle: #1759). One subscriber connection (a `Redis`) per
// primary; after every slot-map refresh, channels whose slot moved follow it. The cluster
// emits the events of ioredis's `shardedSubscribers` group: '+subscriber' when a
// primary's subscriber is created, '-subscriber' when one is dropped (no channel left on
// it), 'subscribersReady' once the channels that moved are subscribed again.

const { slotOf } = require('./slot')

class ShardedSubscribers {
  /** @param {import('./index').Cluster} cluster */
  constructor(cluster, createSubscriber) {
    this._cluster = cluster
    this._createSubscriber = createSubscriber
    /** channel → address of the primary it is subscribed on */
    this._channels = new Map()
    /** address → subscriber `Redis` */
    this._subs = new Map()
    /** Moves run one after the other (refreshes can come in bursts). */
    this._moves = Promise.resolve()
  }

  async subscribe(channels) {
    for (const channel of channels) {
      if (!this._channels.has(channel)) await this._subscribeAt(channel, await this._owner(channel), true)
    }
    return this._channels.size
  }

  async unsubscribe(channels) {
    const targets = channels.length > 0 ? channels : [...this._channels.keys()]
    for (const channel of targets) {
      const address = this._channels.get(channel)
      if (address === undefined) continue
      this._channels.delete(channel)
      await this._release(channel, address)
    }
    return this._channels.size
  }

  /** After a slot-map refresh: re-subscribe every channel whose slot has a new owner. */
  follow() {
    if (this._channels.size === 0) return
    this._moves = this._moves.then(async () => {
      let moved = false
      for (const [channel, address] of [...this._channels]) {
        const owner = this._cluster._link?.masterOf(slotOf(channel))
        if (!owner || owner === address || this._channels.get(channel) !== address) continue
        moved = true
        this._channels.delete(channel)
        // Not awaited: the old owner may be dead (a failover), its reply may never come.
        this._release(channel, address).catch(() => {})
        await this._subscribeAt(channel, owner, true).catch((err) => this._cluster.silentEmit('error', err))
      }
      if (moved) this._cluster.emit('subscribersReady')
    })
  }

  close() {
    for (const sub of this._subs.values()) sub.disconnect()
    this._subs.clear()
    this._channels.clear()
  }

  /** The primary owning `channel`'s slot, once the slot map is known. */
  async _owner(channel) {
    const cluster = this._cluster
    const slot = slotOf(channel)
    if (cluster.status !== 'ready') {
      const settled = new Promise((resolve) => {
        const done = () => {
          cluster.off('ready', done)
          cluster.off('end', done)
          resolve()
        }
        cluster.on('ready', done)
        cluster.on('end', done)
      })
      if (cluster.status === 'wait') cluster.connect().catch(() => {})
      await settled
    }
    const owner = cluster._link?.masterOf(slot)
    if (!owner) throw new Error(`No sharded subscriber for slot: ${slot}`)
    return owner
  }

  async _subscribeAt(channel, address, followMoved) {
    this._channels.set(channel, address)
    try {
      await this._sub(address).ssubscribe(channel)
    } catch (err) {
      this._channels.delete(channel)
      await this._release(channel, address).catch(() => {})
      // The slot moved since the last refresh: the MOVED reply names the owner.
      const moved = /^MOVED \d+ (\S+)/.exec(err.message)
      if (!moved || !followMoved) throw err
      this._cluster.refreshSlotsCache()
      await this._subscribeAt(channel, moved[1], false)
    }
  }

  /** Drops `channel` from `address`'s subscriber; closes it when it has none left. */
  async _release(channel, address) {
    const sub = this._subs.get(address)
    if (!sub) return
    if ([...this._channels.values()].includes(address)) {
      await sub.sunsubscribe(channel)
      return
    }
    this._subs.delete(address)
    sub.disconnect()
    this._cluster.emit('-subscriber')
  }

  _sub(address) {
    let sub = this._subs.get(address)
    if (!sub) {
      const cluster = this._cluster
      sub = this._createSubscriber(address)
      sub.on('error', (err) => cluster.emit('node error', err, address))
      sub.on('smessageBuffer', (channel, message) => {
        cluster.emit('smessageBuffer', channel, message)
        if (cluster.listenerCount('smessage') > 0) cluster.emit('smessage', channel.toString(), message.toString())
      })
      this._subs.set(address, sub)
      cluster.emit('+subscriber')
    }
    return sub
  }
}

module.exports = { ShardedSubscribers }
