'use strict'
// `Redis.Cluster`: ioredis's Cluster API on the `Redis` facade. Every command, script,
// pipeline and event path of `Redis` is reused; only the native connection differs:
// a ClusterConnection (core/src/cluster) that routes by slot and follows MOVED/ASK.

const { Readable } = require('node:stream')
const native = require('../native')
const { Redis, Pipeline } = require('../redis')
const { Transaction } = require('../redis/pipeline')
const { nativeOptions } = require('../redis/native-options')
const commands = require('../redis-commands')
const { slotOf } = require('./slot')
const { ShardedSubscribers } = require('./sharded-subscribers')
const { ClusterAllFailedError, nodeError } = require('./errors')

const DEFAULTS = {
  clusterRetryStrategy: (times) => Math.min(100 + times * 2, 2000),
  enableOfflineQueue: true,
  enableReadyCheck: true,
  scaleReads: 'master',
  maxRedirections: 16,
  retryDelayOnMoved: 0,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshTimeout: 1000,
  slotsRefreshInterval: undefined,
  // bulwark: how long a command waits for its slot's node across lost connections (a
  // primary's failover takes ~2-3 s at cluster-node-timeout 1 s, ~17 s at 15 s).
  failoverTimeout: 30_000,
  lazyConnect: false,
  redisOptions: {},
  natMap: undefined,
  dnsLookup: undefined,
  keyPrefix: undefined,
  scripts: undefined,
}

/** Options a node connection must not take from `redisOptions` (ioredis drops them). */
const NODE_ONLY = ['port', 'host', 'path', 'sentinels', 'retryStrategy', 'enableOfflineQueue', 'readOnly', 'db']

function parseNode(node) {
  if (typeof node === 'number') return { host: '127.0.0.1', port: node }
  if (typeof node === 'string') {
    if (/^\d+$/.test(node)) return { host: '127.0.0.1', port: Number(node) }
    const url = new URL(node.includes('://') ? node : `redis://${node}`)
    const out = { host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) }
    if (url.password) out.password = decodeURIComponent(url.password)
    if (url.username) out.username = decodeURIComponent(url.username)
    return out
  }
  if (node && typeof node === 'object') return { ...node, host: node.host || '127.0.0.1', port: Number(node.port || 6379) }
  throw new TypeError(`Invalid startup node ${String(node)}`)
}

function checkScaleReads(value) {
  if (!['master', 'slave', 'all'].includes(value) && typeof value !== 'function') {
    throw new Error(`Invalid option scaleReads "${value}". Expected "all", "master", "slave" or a custom function`)
  }
}

function natEntries(natMap) {
  if (natMap === undefined || natMap === null || typeof natMap === 'function') return []
  if (typeof natMap !== 'object' || Array.isArray(natMap)) throw new TypeError('Cluster option "natMap" must be an object { "ip:port": { host, port } } or a function')
  return Object.entries(natMap).map(([from, to]) => `${from}=${to.host}:${to.port}`)
}

class Cluster extends Redis {
  /**
   * @param {Array<number|string|object>} startupNodes
   * @param {object} [options] ioredis ClusterOptions
   */
  constructor(startupNodes, options = {}) {
    // No startup node is refused by connect(), as ioredis does, so a lazy Cluster of none
    // can still be made, quit and disconnected.
    const nodes = [].concat(startupNodes ?? []).map(parseNode)
    const o = { ...DEFAULTS, ...options }
    checkScaleReads(o.scaleReads)
    const redisOptions = { ...o.redisOptions }
    for (const key of NODE_ONLY) delete redisOptions[key]
    // Per-node credentials (the first startup node's) override redisOptions, as in ioredis.
    const { host, port, ...nodeAuth } = nodes[0] ?? {}
    super({
      ...redisOptions,
      ...nodeAuth,
      host,
      port,
      keyPrefix: o.keyPrefix ?? redisOptions.keyPrefix ?? '',
      enableOfflineQueue: o.enableOfflineQueue,
      enableReadyCheck: o.enableReadyCheck,
      // bulwark: while no node of the cluster answers, the memory engine does (the
      // whole-cluster case only; see docs/cluster.md).
      fallback: o.fallback ?? redisOptions.fallback ?? 'memory',
      fallbackTimeout: o.fallbackTimeout ?? redisOptions.fallbackTimeout ?? 250,
      recovery: o.recovery ?? redisOptions.recovery ?? 'replay',
      memory: o.memory ?? redisOptions.memory,
      lazyConnect: true,
      scripts: o.scripts,
      // A paused (SIGSTOP) node must not hang callers: a default deadline per command.
      commandTimeout: redisOptions.commandTimeout ?? o.commandTimeout ?? 10_000,
    })
    this.isCluster = true
    // No head start: each primary's replies reach JS in a delivery of their own, so a
    // wave of callers is already spread out; an extra hand-over per wave cost SET c=16
    // ~10 % (docs/cluster.md).
    this._headStart = 0
    // As ioredis's Cluster, pub/sub runs on a connection of its own: the cluster keeps
    // taking every command while subscribed (never 'subscriber' mode).
    let mode = this.mode
    Object.defineProperty(this, 'mode', {
      get: () => mode,
      set: (value) => {
        mode = value === 'subscriber' ? 'normal' : value
      },
      configurable: true,
    })
    this.startupNodes = nodes
    this._clusterOptions = o
    this._nat = natEntries(o.natMap)
    this._nodeClients = new Map()
    /** The timer of the next connect when there was no startup node. */
    this._noNodesRetry = null
    this._sharded = new ShardedSubscribers(this, (address) => this._newNodeClient(address))
    this.options.lazyConnect = o.lazyConnect
    if (o.dnsLookup !== undefined && typeof o.dnsLookup !== 'function') throw new TypeError('Cluster option "dnsLookup" must be a function (hostname, callback)')
    for (const key of ['scaleReads', 'maxRedirections', 'retryDelayOnMoved', 'retryDelayOnFailover', 'retryDelayOnClusterDown', 'retryDelayOnTryAgain', 'slotsRefreshTimeout', 'slotsRefreshInterval', 'clusterRetryStrategy', 'redisOptions', 'natMap', 'dnsLookup', 'failoverTimeout']) {
      this.options[key] = o[key]
    }
    if (!o.lazyConnect) this.connect().catch(() => {})
  }

  /**
   * ioredis calls `clusterRetryStrategy(times, reason)` with the cluster as `this`; the
   * startup nodes it assigns to `this.startupNodes` are where the next attempt starts.
   */
  _reconnectDelay(attempt) {
    const strategy = this._clusterOptions.clusterRetryStrategy
    if (typeof strategy !== 'function') return undefined
    const last = this._link && typeof this._link.lastError === 'function' ? this._link.lastError() : null
    const before = this.startupNodes
    const delay = strategy.call(this, attempt, last ? new Error(last) : undefined)
    if (this.startupNodes !== before && this._link) {
      const nodes = this._parseStartupNodes()
      if (nodes.length > 0) this._link.setStartupNodes(nodes.map((n) => `${n.host}:${n.port}`))
    }
    return delay
  }

  /** `this.startupNodes` as `{ host, port }` (a clusterRetryStrategy may assign any ioredis form). */
  _parseStartupNodes() {
    this.startupNodes = [].concat(this.startupNodes ?? []).map(parseNode)
    return this.startupNodes
  }

  /**
   * Topology events from the core (`refresh`, `+node`, `-node`, `node error`, `all failed`:
   * no node gave the slot map) and its questions.
   */
  _onEvent(name, code, detail) {
    if (name === 'natMap' || name === 'dnsLookup') return this._answer(name, detail.slice(0, detail.indexOf(' ')))
    if (!['refresh', '+node', '-node', 'node error', 'all failed'].includes(name)) return super._onEvent(name, code, detail)
    const space = detail.indexOf(' ')
    const address = detail.slice(0, space)
    const message = detail.slice(space + 1)
    if (name === 'refresh') {
      this._sharded.follow()
      return this.emit('refresh')
    }
    if (name === 'node error') return this.emit('node error', nodeError(code, message), address)
    if (name === 'all failed') {
      const err = new ClusterAllFailedError(ClusterAllFailedError.defaultMessage, message ? nodeError(code, message) : null)
      // What Redis's `error` event does: reject a pending connect(), then emit.
      this.emit('_connectError', err)
      return this.silentEmit('error', err)
    }
    const client = this._nodeClient(address)
    if (name === '-node') {
      this._nodeClients.delete(address)
      client.disconnect()
    }
    this.emit(name, client)
  }

  /**
   * Answers the core's question to a user function: `natMap(address)` → `{ host, port }`,
   * or `dnsLookup(hostname, callback)` → an IP (a startup node given by name).
   */
  _answer(kind, question) {
    const link = this._link
    const reply = (value, error) => {
      if (link !== null && link === this._link) link.answer(kind, question, value ?? null, error ?? null)
    }
    try {
      if (kind === 'natMap') {
        const to = this._clusterOptions.natMap(question)
        reply(to && to.host ? `${to.host}:${to.port}` : null)
      } else {
        this._clusterOptions.dnsLookup(question, (err, address) => (err ? reply(null, String(err.message ?? err)) : reply(String(address))))
      }
    } catch (err) {
      reply(null, String(err?.message ?? err))
    }
  }

  connect(callback) {
    if (this.startupNodes.length === 0) {
      const err = new Error('`startupNodes` should contain at least one node.')
      if (this.status === 'wait' || this.status === 'end') this._noStartupNodes(err)
      const promise = Promise.reject(err)
      if (typeof callback === 'function') promise.then(callback, callback)
      return promise
    }
    return super.connect(callback)
  }

  /**
   * A connect without startup nodes closes at once and, as in ioredis,
   * `clusterRetryStrategy(times, reason)` decides: a number tries again after that delay
   * (the strategy may have set `this.startupNodes`), anything else ends.
   */
  _noStartupNodes(reason) {
    this._manuallyClosing = false
    this._setStatus('close')
    let delay
    try {
      delay = this._clusterOptions.clusterRetryStrategy?.call(this, ++this.retryAttempts, reason)
    } catch (err) {
      this.silentEmit('error', err)
    }
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) return this._setStatus('end')
    this._setStatus('reconnecting', delay)
    // Unref'd: nothing is connected, so nothing to keep the process alive for.
    this._noNodesRetry = setTimeout(() => {
      this._noNodesRetry = null
      this._parseStartupNodes()
      this.status = 'wait'
      this.connect().catch(() => {})
    }, delay).unref()
  }

  _createLink(onDelivery) {
    const o = this._clusterOptions
    const ms = (v, name) => {
      if (!Number.isInteger(v) || v < 0) throw new TypeError(`Cluster option "${name}" must be a non-negative integer (ms)`)
      return v
    }
    return new native.ClusterConnection(
      {
        node: {
          ...nativeOptions(this.options, false),
          // One memory engine per cluster (named by its startup nodes), shared by its clients.
          fallbackTarget: this.options.fallback === 'memory' ? `cluster://${this.startupNodes.map((n) => `${n.host}:${n.port}`).sort().join(',')}` : undefined,
        },
        startup: this.startupNodes.map((n) => `${n.host}:${n.port}`),
        maxRedirections: ms(o.maxRedirections, 'maxRedirections'),
        retryDelayOnMoved: ms(o.retryDelayOnMoved, 'retryDelayOnMoved'),
        retryDelayOnFailover: ms(o.retryDelayOnFailover, 'retryDelayOnFailover'),
        retryDelayOnClusterDown: ms(o.retryDelayOnClusterDown, 'retryDelayOnClusterDown'),
        retryDelayOnTryAgain: ms(o.retryDelayOnTryAgain, 'retryDelayOnTryAgain'),
        slotsRefreshTimeout: ms(o.slotsRefreshTimeout, 'slotsRefreshTimeout'),
        slotsRefreshInterval: o.slotsRefreshInterval ? ms(o.slotsRefreshInterval, 'slotsRefreshInterval') : undefined,
        scaleReads: typeof o.scaleReads === 'function' ? 'custom' : o.scaleReads,
        failoverTimeout: ms(o.failoverTimeout, 'failoverTimeout'),
        nat: this._nat,
        natFunction: typeof o.natMap === 'function',
        dnsLookup: typeof o.dnsLookup === 'function',
      },
      onDelivery,
      this._observed.commands,
    )
  }

  /**
   * A custom `scaleReads(nodes, command)` picks the node of each keyed read among its
   * slot's primary and replicas (`Redis` clients, primary first), as in ioredis; an array
   * returned is sampled, nothing returned means the primary. Other commands route as usual.
   */
  sendCommand(command) {
    const choose = this._clusterOptions.scaleReads
    if (typeof choose !== 'function' || this._link === null || this.status !== 'ready') return super.sendCommand(command)
    const entry = commands.lookup(command.name, command.args)
    const keys = entry && entry.flags.includes('readonly') ? commands.keyIndexes(command.name, command.args) : []
    if (keys.length === 0) return super.sendCommand(command)
    const prefix = this.options.keyPrefix
    const key = command.args[keys[0]]
    const shard = this._link.shardOf(slotOf(prefix ? Buffer.concat([Buffer.from(prefix), Buffer.from(key)]) : key))
    if (!shard) return super.sendCommand(command)
    const nodes = shard.map((address) => this._nodeClient(address))
    let picked = choose(nodes, command)
    if (Array.isArray(picked)) picked = picked[Math.floor(Math.random() * picked.length)]
    const address = picked && picked.options ? `${picked.options.host}:${picked.options.port}` : shard[0]
    // Alone in its batch, which goes to the chosen node.
    this._flushBatch()
    this._link.pinNextBatch(address)
    const promise = super.sendCommand(command)
    this._flushBatch()
    return promise
  }

  /** The nodes of the slot map as `Redis` clients: role 'all' (default), 'master' or 'slave'. */
  nodes(role = 'all') {
    if (role !== 'all' && role !== 'master' && role !== 'slave') throw new Error(`Invalid role "${role}". Expected "all", "master" or "slave"`)
    let list = this._link && typeof this._link.nodes === 'function' ? this._link.nodes() : []
    // Before the first slot map, as ioredis: the startup nodes, as primaries.
    if (list.length === 0 && (this.status === 'connecting' || this.status === 'connect')) {
      list = this.startupNodes.map((n) => ({ address: `${n.host}:${n.port}`, role: 'master' }))
    }
    return list.filter((n) => role === 'all' || n.role === role).map((n) => this._nodeClient(n.address))
  }

  /** The lazy `Redis` client of the node at `address` (one per node). */
  _nodeClient(address) {
    let client = this._nodeClients.get(address)
    if (!client) {
      client = this._newNodeClient(address)
      client.on('error', (err) => this.emit('node error', err, address))
      this._nodeClients.set(address, client)
    }
    return client
  }

  _newNodeClient(address) {
    const at = address.lastIndexOf(':')
    const redisOptions = { ...this._clusterOptions.redisOptions }
    for (const key of NODE_ONLY) delete redisOptions[key]
    return new Redis({ ...redisOptions, host: address.slice(0, at), port: Number(address.slice(at + 1)), fallback: false, lazyConnect: true, keyPrefix: '' })
  }

  /** SSUBSCRIBE on the primary owning each channel's slot; resolves this client's sharded channel count. */
  ssubscribe(...args) {
    return this._shardedCall(args, true)
  }

  sunsubscribe(...args) {
    return this._shardedCall(args, false)
  }

  _shardedCall(args, subscribing) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    const command = subscribing ? 'ssubscribe' : 'sunsubscribe'
    const run = async () => {
      const channels = args.flat()
      for (const ch of channels) {
        if (typeof ch !== 'string' && !Buffer.isBuffer(ch)) throw new TypeError(`${command}: channels must be strings or Buffers`)
      }
      if (subscribing && channels.length === 0) throw new Error(`ERR wrong number of arguments for '${command}' command`)
      const names = channels.map(String)
      return subscribing ? this._sharded.subscribe(names) : this._sharded.unsubscribe(names)
    }
    const promise = run()
    if (callback) promise.then((v) => callback(null, v), callback)
    return promise
  }

  /** Re-reads the slot map (coalesced with any refresh under way). */
  refreshSlotsCache(callback) {
    if (this._link && typeof this._link.refreshSlots === 'function') this._link.refreshSlots()
    if (typeof callback === 'function') process.nextTick(callback)
  }

  quit(callback) {
    this._closeNodeClients()
    this._sharded.close()
    if (this._noNodesRetry) {
      clearTimeout(this._noNodesRetry)
      this._noNodesRetry = null
      this.status = 'wait'
    }
    if (this.status !== 'wait') return super.quit(callback)
    // Never connected (lazyConnect): as ioredis, OK at once, then 'close' and 'end'.
    this._manuallyClosing = true
    const promise = Promise.resolve('OK')
    if (typeof callback === 'function') promise.then((ok) => callback(null, ok))
    setImmediate(() => this._closeUnconnected())
    return promise
  }

  disconnect(reconnect = false) {
    if (!reconnect) {
      this._closeNodeClients()
      this._sharded.close()
    }
    if (this._noNodesRetry && !reconnect) {
      clearTimeout(this._noNodesRetry)
      this._noNodesRetry = null
      this._manuallyClosing = true
      return this._setStatus('end')
    }
    if (this.status !== 'wait' || reconnect) return super.disconnect(reconnect)
    this._manuallyClosing = true
    this._closeUnconnected()
  }

  _closeUnconnected() {
    this._setStatus('close')
    this._setStatus('end')
  }

  _closeNodeClients() {
    for (const client of this._nodeClients.values()) client.disconnect()
    this._nodeClients.clear()
  }

  /** A new Cluster with the same startup nodes and options (plus overrides). */
  duplicate(overrideStartupNodes = [], overrideOptions = {}) {
    const nodes = overrideStartupNodes.length > 0 ? overrideStartupNodes : this.startupNodes.slice()
    return new Cluster(nodes, { ...this._clusterOptions, ...overrideOptions })
  }

  pipeline(commandList) {
    const pipeline = new ClusterPipeline(this)
    if (commandList !== undefined && commandList !== null) pipeline.addBatch(commandList)
    return pipeline
  }

  multi(commandList, options) {
    if (commandList && !Array.isArray(commandList)) {
      options = commandList
      commandList = undefined
    }
    if (options && options.pipeline === false) {
      throw new Error('multi({ pipeline: false }) is not supported on a Cluster: MULTI would go to a random node. Use multi() (a pipelined transaction).')
    }
    const transaction = new ClusterTransaction(this)
    if (commandList !== undefined && commandList !== null) transaction.addBatch(commandList)
    return transaction
  }

  /** SCAN over every primary: each key once (object-mode stream of key batches). */
  scanStream(options = {}) {
    return new ClusterScanStream(this, options, 'utf8')
  }

  scanBufferStream(options = {}) {
    return new ClusterScanStream(this, options, null)
  }
}

/**
 * ioredis's cluster pipeline checks, with its texts, before anything is sent: on a
 * pipeline or a transaction (`Base`), at the exec that sends the queue.
 */
function withSlotCheck(Base) {
  return class extends Base {
    exec(callback) {
      const sends = !this._started && (this instanceof Transaction || this._transactions === 0)
      const crossed = sends ? crossedSlots(this.redis, this._queue) : null
      if (crossed === null) return super.exec(callback)
      this._started = true
      for (const command of this._queue) command.reject(new Error(crossed))
      const promise = Promise.reject(new Error(crossed))
      if (typeof callback === 'function') promise.then((v) => callback(null, v), callback)
      return promise
    }
  }
}

/** ioredis's error text when `queue`'s keys span slots on different masters, else null. */
function crossedSlots(cluster, queue) {
  const slots = new Set()
  const prefix = cluster.options.keyPrefix
  for (const command of queue) {
    const indexes = commands.keyIndexes(command.name, command.args)
    const keySlots = indexes.map((i) => slotOf(prefix ? Buffer.concat([Buffer.from(prefix), Buffer.from(command.args[i] ?? '')]) : (command.args[i] ?? '')))
    if (new Set(keySlots).size > 1) return 'All the keys in a pipeline command should belong to the same slot'
    if (keySlots.length > 0) slots.add(keySlots[0])
  }
  if (slots.size <= 1) return null
  const masters = new Set([...slots].map((s) => (cluster._link && cluster._link.masterOf ? cluster._link.masterOf(s) : s)))
  return masters.size > 1 || masters.has(null) ? 'All keys in the pipeline should belong to the same slots allocation group' : null
}

const ClusterPipeline = withSlotCheck(Pipeline)
const ClusterTransaction = withSlotCheck(Transaction)

class ClusterScanStream extends Readable {
  constructor(cluster, options, replyEncoding) {
    super({ objectMode: true })
    this._cluster = cluster
    this._options = options
    this._replyEncoding = replyEncoding
    this._masters = null
    this._current = null
    this._stopped = false
  }

  async _start() {
    if (this._cluster.status !== 'ready') await this._cluster.connect().catch(() => {})
    return this._cluster.nodes('master')
  }

  _read() {
    ;(async () => {
      if (this._masters === null) this._masters = await this._start()
      for (;;) {
        if (this._stopped) return this.push(null)
        if (this._current === null) {
          const next = this._masters.shift()
          if (!next) return this.push(null)
          this._current = next[this._replyEncoding === null ? 'scanBufferStream' : 'scanStream'](this._options)
        }
        const batch = await new Promise((resolve, reject) => {
          const stream = this._current
          const onData = (keys) => done(keys)
          const onEnd = () => done(null)
          const onError = (err) => {
            cleanup()
            reject(err)
          }
          const cleanup = () => {
            stream.off('data', onData)
            stream.off('end', onEnd)
            stream.off('error', onError)
            stream.pause()
          }
          const done = (value) => {
            cleanup()
            resolve(value)
          }
          stream.on('data', onData)
          stream.once('end', onEnd)
          stream.once('error', onError)
          stream.resume()
        })
        if (batch === null) {
          this._current = null
          continue
        }
        return this.push(batch)
      }
    })().catch((err) => this.destroy(err))
  }

  close() {
    this._stopped = true
  }
}

module.exports = { Cluster, ClusterPipeline, ClusterTransaction }
