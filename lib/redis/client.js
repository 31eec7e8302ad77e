'use strict'
// `Redis`: the ioredis-compatible client. The socket, RESP, pipelining, reconnect state
// machine and queues live in Rust (core/src/client, src/redis.rs); this class keeps the
// ioredis surface: options, status and events, command methods on the prototype,
// argument/reply transformers, keyPrefix. Pipelines, pub/sub and scan streams have their
// own files next to this one.
const { EventEmitter } = require('node:events')
const native = require('../native')
const commands = require('../redis-commands')
const { Command, prepareArgs, transformReply } = require('../redis-command')
const { ReplyError } = require('../redis-errors')
const { parseOptions } = require('../redis-options')
const { throttledLog } = require('../throttled-log')
const { armBlockingDeadline } = require('../redis-blocking')
const { Writer, scratch } = require('./writer')
const { IdTable } = require('../id-table')
const { closedError, failureError, toReplyError } = require('./errors')
const { settleNowAllowed, deferToNextTurn } = require('./settle-pacing')
const { nativeOptions } = require('./native-options')
const { applyPrefix } = require('./key-prefix')
const { defineScript, scriptMethod, ScriptCommand } = require('./scripts')
const { checkName, callMethod } = require('./command-name')
const { asCallback } = require('./as-callback')
const { Pipeline, Transaction, wrapMultiResult } = require('./pipeline')
const { ScanStream } = require('./scan-stream')
const { installPubSub } = require('./subscriber')
const { startMonitor } = require('./monitor')
const { observeClient } = require('../metrics')
const tracing = require('../redis-tracing')

const FLAG_BUFFERS = 0b001
const FLAG_BLOCKING = 0b100
/**
 * A batch is handed over as soon as it holds this many commands, not only at the end of
 * the tick: Redis starts on the first ones while JS is still issuing the rest of a large
 * burst (server-heavy commands such as scripts gained 15-20% at concurrency 64).
 */
const EAGER_FLUSH = 32
/**
 * With nothing in flight, a batch is handed over as soon as it holds this many commands:
 * callers resumed by one delivery of replies then feed Redis while JS resumes the rest,
 * instead of the whole wave waiting for the end of the tick and Redis idling meanwhile
 * (single-node c=16: 0.86-0.94x ioredis without, 1.08-1.45x with, docs/redis-client.md).
 */
const HEAD_START = 4
/** Batches smaller than this wait for the check phase while as many replies are owed (`_endOfTick`). */
const DEFER_BELOW = 4
/** The real `setImmediate`, taken at load: a test's fake timers must not hold commands back. */
const checkPhase = setImmediate
/** Batches that grew past this are replaced after a flush so one burst does not pin memory. */
const BATCH_KEEP_BYTES = 1024 * 1024

/** Commands ioredis sends while `connect` (before `ready`) even without an offline queue. */
const HANDSHAKE_COMMANDS = new Set(['auth', 'select', 'client', 'readonly', 'info'])

// Commands allowed while subscribed (ioredis's subscriber mode rule).
const SUBSCRIBER_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'ping', 'quit', 'reset'])

/** MONITOR's raw form would break the connection's state (it has its own method), and
 * ioredis has no monitorBuffer. Quit and pub/sub have their own …Buffer twins. */
const NO_BUFFER_TWIN = new Set(['monitor'])

const logUnhandledError = throttledLog('[bulwark] Unhandled error event:')

/** How long `health()` waits for its PING. */
const HEALTH_PING_MS = 1000

class Redis extends EventEmitter {
  constructor(...args) {
    super()
    this.options = parseOptions(args)
    this.status = 'wait'
    // As ioredis: libraries read it to choose their cluster code paths (the Cluster sets true).
    this.isCluster = false
    this.mode = 'normal'
    this.retryAttempts = 0
    this.autoPipelineQueueSize = 0
    this._link = null
    this._directSlot = null
    this._pending = new IdTable()
    this._nextId = 1
    this._batch = new Writer(16 * 1024)
    this._flushScheduled = false
    this._batchCount = 0
    this._headStart = HEAD_START
    this._flush = () => this._flushBatch()
    this._flushTick = () => this._endOfTick()
    this._manuallyClosing = false
    this._scripts = new Map()
    /** Commands added by `addBuiltinCommand` (pipelines get them too). */
    this._addedBuiltins = new Set()
    /** Shas of the scripts the current connection has run (EVAL once, then EVALSHA). */
    this._scriptsLoaded = new Set()
    this._sub = null
    this._execWraps = false
    this._subReady = false
    this._subscriptions = { subscribe: new Set(), psubscribe: new Set(), ssubscribe: new Set() }
    this.condition = null
    /** Where commands are answered now: 'redis', or 'memory' (memory:// or during an outage). */
    this.backend = this.options.memoryOnly ? 'memory' : 'redis'
    this._selectedDb = this.options.db
    /** Connections started (ioredis's `connectionEpoch`, reported to tracing). */
    this.connectionEpoch = 0
    this._observed = observeClient(this, linkOf)
    /**
     * True while the retryStrategy has given up but failover keeps the client answering
     * from memory: `connect()` then asks the native side to try Redis again.
     */
    this._gaveUp = false
    /** The last connect attempt failed because no sentinel named a usable node. */
    this._sentinelsFailed = false
    for (const [name, def] of Object.entries(this.options.scripts || {})) this.defineCommand(name, def)
    if (!this.options.lazyConnect) this.connect().catch(() => {})
  }

  /** ioredis's `Redis.createClient(...)`. */
  static createClient(...args) {
    return new Redis(...args)
  }

  _setStatus(status, arg) {
    this.status = status
    process.nextTick(() => this.emit(status, arg))
  }

  /** Emits `error` when someone listens; otherwise logs (at most every 10 s) instead of throwing. */
  silentEmit(eventName, arg) {
    if (eventName === 'error') {
      if (this._manuallyClosing && this.status !== 'ready') return false
      if (this.listenerCount('error') > 0) return this.emit('error', arg)
      logUnhandledError(arg)
      return false
    }
    return this.emit(eventName, arg)
  }

  /** Connects (when `wait` or `end`); resolves on `ready`. */
  connect(callback) {
    const promise = tracing.traceConnect(this, () => new Promise((resolve, reject) => {
      if (this.status !== 'wait' && this.status !== 'end') {
        reject(new Error('Redis is already connecting/connected'))
        return
      }
      this._manuallyClosing = false
      if (this._gaveUp && this._link !== null) {
        // Still answering from memory after the strategy gave up: try Redis again on
        // the same link, which replays the outage's writes once connected.
        this._gaveUp = false
        this._link.disconnect(true)
      } else {
        this.connectionEpoch++
        this._setStatus('connecting')
        this._link = this._createLink((batch) => this._onDelivery(batch))
        this._directSlot = this._link.directSlot()
      }
      const cleanup = () => {
        this.removeListener('_ready', onReady)
        this.removeListener('_connectError', onError)
        this.removeListener('_end', onEnd)
      }
      const onReady = () => {
        cleanup()
        resolve()
      }
      const onError = (err) => {
        cleanup()
        reject(err)
      }
      const onEnd = () => {
        cleanup()
        reject(closedError())
      }
      this.on('_ready', onReady)
      this.on('_connectError', onError)
      this.on('_end', onEnd)
    }))
    return asCallback(promise, callback)
  }

  /** The native connection (Cluster overrides it with its slot-routing one). */
  _createLink(onDelivery) {
    return new native.RedisConnection(nativeOptions(this.options, false), onDelivery, this._observed.commands)
  }

  _onDelivery(batch) {
    if (batch[0] === -1) {
      this._onEvent(batch[1], batch[2], batch[3])
      return
    }
    this._settle(batch)
  }

  /**
   * ioredis's `select` event, emitted when a SELECT of another database is sent. The
   * native side remembers the database once Redis says OK and selects it again after
   * every reconnect (and opens the memory session of an outage on it).
   */
  _noteSelect(args) {
    if (args.length !== 1 || !/^\d+$/.test(String(args[0]))) return
    const db = Number(args[0])
    if (db === this._selectedDb) return
    this._selectedDb = db
    this.emit('select', db)
  }

  /** Settles a batch answered during submission, yielding to the event loop now and then. */
  _settleNow(batch) {
    // Memory may answer before the 'fallback' event arrives: `backend` must not lag.
    if (this.backend === 'redis' && this._link !== null && this._link.health()?.onMemory) this.backend = 'memory'
    if (settleNowAllowed(batch.length / 3)) this._settle(batch)
    else deferToNextTurn().then(() => this._settle(batch))
  }

  /**
   * The memory fast path of command methods: while on memory, run the command at once
   * through one plain native call (no Command, no batch, no id). Returns undefined when
   * the ordinary path must take it (not on memory, subscriber mode, commands waiting in
   * the batch, which must run first).
   */
  _direct(name, args, flags) {
    if (this._directSlot === null || this.mode !== 'normal' || this._batch.pos !== 0 || this._execWraps || tracing.tracingCommands()) return undefined
    let sent
    const w = scratch
    w.pos = 0
    try {
      sent = prepareArgs(name, args)
      const prefix = this.options.keyPrefix
      if (prefix) sent = applyPrefix(prefix, name, sent)
      w.command(name, sent)
    } catch (err) {
      return Promise.reject(err)
    }
    const reply = native.memoryExecute(this._directSlot, w.buf, w.pos, flags)
    if (reply === undefined) return undefined
    if (name === 'select') this._noteSelect(sent)
    let outcome
    if (reply instanceof Error) {
      const err = new ReplyError(reply.message)
      err.command = { name, args: sent }
      outcome = Promise.reject(err)
    } else {
      try {
        outcome = Promise.resolve(transformReply(name, reply))
      } catch (err) {
        outcome = Promise.reject(err)
      }
    }
    return settleNowAllowed(1) ? outcome : deferToNextTurn(outcome)
  }

  /** Settles a completion batch `[id, kind, value, …]` (0 value, 1 reply error, 2 failure). */
  _settle(batch) {
    const pending = this._pending
    for (let i = 0; i < batch.length; i += 3) {
      const id = batch[i]
      const command = pending.get(id)
      if (command === undefined) continue
      pending.delete(id)
      const kind = batch[i + 1]
      if (kind === 0) command.settle(batch[i + 2])
      else if (kind === 1) this._onReplyError(command, batch[i + 2])
      else command.reject(failureError(batch[i + 2]))
    }
  }

  /** ioredis `reconnectOnError`: true/1 reconnects, 2 also resends the failed command. */
  _onReplyError(command, message) {
    const decide = this.options.reconnectOnError
    if (typeof decide !== 'function') {
      command.replyError(message)
      return
    }
    let decision
    try {
      decision = decide(Object.assign(new ReplyError(message), { command: { name: command.name, args: command.args } }))
    } catch (err) {
      this.silentEmit('error', err)
    }
    if (!decision || this._link === null) {
      command.replyError(message)
      return
    }
    this._link.disconnect(true)
    if (decision !== 2) {
      command.replyError(message)
      return
    }
    // Queued behind the reconnect, so it runs on the new connection, on the database it
    // was sent to (the reconnectOnError callback may have selected another meanwhile).
    if (command.selectedDb !== this._selectedDb && command.lowerName !== 'select') this.select(command.selectedDb)
    this.sendCommand(command)
  }

  _onEvent(name, code, detail) {
    switch (name) {
      case 'connecting':
        // disconnect(true) / reconnectOnError: the core reconnects at once after `close`.
        this._gaveUp = false
        if (this.status === 'close') this._setStatus('reconnecting', 0)
        if (this.status !== 'connecting') this._setStatus('connecting')
        break
      case 'connect':
        this._setStatus('connect')
        break
      case 'ready':
        this._sentinelsFailed = false
        this.retryAttempts = 0
        this._setStatus('ready')
        this.emit('_ready')
        break
      case 'error': {
        this._sentinelsFailed = Boolean(this.options.sentinels) && detail.startsWith('All sentinels are unreachable')
        const err = new Error(detail)
        if (code) err.code = code
        if (code === 'ETIMEDOUT' && detail.startsWith('connect')) err.syscall = 'connect'
        this.emit('_connectError', err)
        this.silentEmit('error', err)
        break
      }
      case 'close':
        // The next connection has run no script yet (what was sent before this close
        // went to the old one).
        this._scriptsLoaded.clear()
        this._setStatus('close')
        if (code === 'retry') this._retry(Number(detail))
        break
      case 'fallback': {
        const err = new Error(detail)
        if (code) err.code = code
        this.backend = 'memory'
        this._scriptsLoaded.clear()
        this.emit('fallback', err)
        break
      }
      case 'recover':
        this.backend = 'redis'
        this._scriptsLoaded.clear()
        this.emit('recover')
        break
      case 'end': {
        this._link = null
        this._directSlot = null
        this._gaveUp = false
        if (this.status !== 'end') this._setStatus('end')
        this.emit('_end')
        // Defensive: the core completes every command before `end`.
        const leftovers = this._pending.values()
        this._pending.clear()
        for (const command of leftovers) command.reject(closedError())
        break
      }
    }
  }

  _retry(attempt) {
    this.retryAttempts = attempt
    if (this._manuallyClosing || !this._link) {
      this._link?.retry(-1)
      return
    }
    let delay
    try {
      delay = this._reconnectDelay(attempt)
    } catch (err) {
      this.silentEmit('error', err)
    }
    if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0) {
      this._setStatus('reconnecting', delay)
      this._link.retry(delay)
    } else {
      this._link.retry(-1)
      if (this.options.fallback === 'memory') {
        // No more reconnect attempts, as in ioredis (status `end`), but with failover
        // the link stays on the memory engine until quit()/disconnect().
        this._gaveUp = true
        this._setStatus('end')
      }
    }
  }

  /**
   * ioredis's `retryStrategy(times)` (Cluster: `clusterRetryStrategy`); a number retries.
   * When no sentinel named a usable node, a `sentinelRetryStrategy` given decides.
   */
  _reconnectDelay(attempt) {
    let strategy = this.options.retryStrategy
    if (this._sentinelsFailed && this.options.sentinelRetryStrategy !== undefined) strategy = this.options.sentinelRetryStrategy
    return strategy ? strategy(attempt) : undefined
  }

  /** Sends a `Command`; resolves/rejects its promise with the reply. */
  sendCommand(command) {
    const name = command.lowerName
    if (this.status === 'end' && this._link === null && this._manuallyClosing) {
      command.reject(closedError())
      return command.promise
    }
    if (this.mode === 'monitor') {
      command.reject(new Error("Connection is in monitoring mode, can't process commands."))
      return command.promise
    }
    if (this.mode === 'subscriber' && !SUBSCRIBER_COMMANDS.has(name)) {
      command.reject(new Error('Connection in subscriber mode, only subscriber commands may be used'))
      return command.promise
    }
    if (this.options.fallback === false && !this.options.enableOfflineQueue && this.status !== 'ready' && !(this.status === 'connect' && HANDSHAKE_COMMANDS.has(name))) {
      // ioredis decides at the call: a client that is not ready takes only the
      // handshake commands (on `connect`), nothing else.
      command.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"))
      return command.promise
    }
    if (name === 'select') this._noteSelect(command.args)
    // The database it runs on, for reconnectOnError's resend.
    command.selectedDb = this._selectedDb
    if (command instanceof ScriptCommand) command.chooseForm(this._scriptsLoaded)
    if (this._link === null) {
      if (this.status === 'end' && !this.options.lazyConnect) {
        command.reject(closedError())
        return command.promise
      }
      this.connect().catch(() => {})
    }
    let args = command.args
    const prefix = this.options.keyPrefix
    if (prefix) args = applyPrefix(prefix, command.name, args)
    const id = this._nextId
    this._nextId = id >= 0x7fffffff ? 1 : id + 1
    let flags = command.replyEncoding === null ? FLAG_BUFFERS : 0
    if (commands.isBlocking(name)) {
      flags |= FLAG_BLOCKING
      armBlockingDeadline(command, this.options)
    }
    // Appended to this client's batch; the commands issued in the same tick go to the
    // native side in one call per EAGER_FLUSH commands (one wake-up of the connection
    // thread), like ioredis's autopipelining but always on.
    const w = this._batch
    const start = w.pos
    try {
      w.u32(id)
      w.u32(flags)
      w.u32(0)
      w.command(command.name, args)
    } catch (err) {
      w.pos = start
      command.reject(err)
      return command.promise
    }
    w.buf.writeUInt32LE(w.pos - start - 12, start + 8)
    this._pending.set(id, command)
    const count = ++this._batchCount
    if (count >= EAGER_FLUSH || (count === this._headStart && this._pending.size === count)) this._flushBatch()
    else if (!this._flushScheduled) {
      this._flushScheduled = true
      queueMicrotask(this._flushTick)
    }
    return tracing.traceCommand(this, command)
  }

  /**
   * Sends `commands` (a pipeline's) as one batch, without the head start inside it: a
   * script's NOSCRIPT answer is then re-sent after the pipeline's other commands.
   */
  _sendTogether(commands) {
    const headStart = this._headStart
    this._headStart = 0
    try {
      for (const command of commands) this.sendCommand(command)
    } finally {
      this._headStart = headStart
    }
  }

  /**
   * At the end of the tick that issued commands. As Nagle's algorithm: a batch of a few
   * commands issued while several replies are still owed waits for the loop's check phase,
   * so the commands of every callback this turn's I/O runs (several HTTP requests, say)
   * leave in one hand-off and one wake-up of the connection thread; otherwise it leaves now
   * (a lone command's latency, a burst that is batch enough, or a command that a pipeline
   * one or two deep is waiting for: deferring the rate limiter's coalesced runs, one or two
   * in flight, cost a third of its decisions per second).
   */
  _endOfTick() {
    if (this._batchCount < DEFER_BELOW && this._pending.size - this._batchCount >= DEFER_BELOW) checkPhase(this._flush)
    else this._flushBatch()
  }

  /** Hands the batch of commands issued since the last flush to the native side. */
  _flushBatch() {
    this._flushScheduled = false
    this._batchCount = 0
    const w = this._batch
    if (w.pos === 0) return
    const len = w.pos
    w.pos = 0
    let done
    try {
      done = this._link === null ? undefined : this._link.submitBatch(w.buf, len)
    } catch {
      done = undefined
    }
    if (done === undefined) {
      // No link (ended meanwhile): fail every command of the batch.
      for (let at = 0; at < len; ) {
        const id = w.buf.readUInt32LE(at)
        const size = w.buf.readUInt32LE(at + 8)
        at += 12 + size
        const command = this._pending.get(id)
        if (command !== undefined) {
          this._pending.delete(id)
          command.reject(closedError())
        }
      }
    } else if (done !== null) {
      // Answered at once: the memory engine's replies, or commands that could not be queued.
      this._settleNow(done)
    }
    if (w.buf.length > BATCH_KEEP_BYTES) this._batch = new Writer(16 * 1024)
  }


  /** `quit()` with its reply as a Buffer, as ioredis's twin. */
  quitBuffer(callback) {
    return asCallback(this.quit().then((reply) => Buffer.from(reply)), callback)
  }

  /** QUIT: replies already owed are delivered first; resolves "OK". Never rejects. */
  quit(callback) {
    const command = new Command('quit', [], {}, callback)
    this._manuallyClosing = true
    if (this.mode === 'monitor' && this._link !== null) {
      // A monitor connection takes no QUIT: it is closed.
      this._link.disconnect(false)
      command.resolve('OK')
      return command.promise
    }
    this._closeSubscriber()
    this._flushBatch()
    if (this._link === null) {
      if (this.status !== 'end') this._setStatus('end')
      command.resolve('OK')
      return command.promise
    }
    const id = this._nextId
    this._nextId = id >= 0x7fffffff ? 1 : id + 1
    this._pending.set(id, command)
    try {
      this._link.quit(id)
    } catch {
      // The link already ended: nothing left to close.
      this._pending.delete(id)
      command.resolve('OK')
    }
    return command.promise
  }

  /** Closes now (pending replies fail); `disconnect(true)` reconnects. Idempotent. */
  disconnect(reconnect = false) {
    this._flushBatch()
    if (!reconnect) {
      this._manuallyClosing = true
      this._closeSubscriber()
    }
    if (this._link !== null) this._link.disconnect(Boolean(reconnect))
    else if (this.status === 'wait') this._setStatus('end')
  }


  /**
   * Where commands are answered and how that went (see docs/redis-client.md, Failover).
   * Never rejects; `latencyMs` is a PING round trip on the current backend (null when
   * it did not answer within 1 s).
   */
  async health() {
    let latencyMs = null
    const started = performance.now()
    let timer
    const bound = new Promise((resolve) => {
      timer = setTimeout(resolve, HEALTH_PING_MS)
    })
    try {
      const answered = await Promise.race([this.ping().then(() => true), bound])
      if (answered) latencyMs = performance.now() - started
    } catch {
      // Reported as latencyMs: null.
    } finally {
      clearTimeout(timer)
    }
    const h = this._link === null || this.mode === 'monitor' ? null : this._link.health()
    const connected = !this.options.memoryOnly && this.status === 'ready' && this.backend === 'redis'
    const healthy = latencyMs !== null && (this.options.memoryOnly || connected)
    let reason = null
    if (!healthy) {
      if (this._gaveUp) reason = 'retryStrategy stopped reconnecting; answering from memory until connect()'
      else if (this.backend === 'memory') reason = 'Redis is unavailable; answering from memory while reconnecting'
      else if (latencyMs === null) reason = 'no answer to PING within 1 s'
      else reason = `not connected (status ${this.status})`
    }
    return {
      status: healthy ? 'healthy' : 'degraded',
      reason,
      backend: this.backend,
      connected,
      latencyMs,
      since: h ? h.since : null,
      lastError: h ? (h.lastError ?? null) : null,
      memory: { keys: h ? h.memoryKeys : 0, bytes: h ? h.memoryBytes : 0, evictions: h ? h.memoryEvictions : 0 },
      counters: {
        fallbacks: h ? h.fallbacks : 0,
        recoveries: h ? h.recoveries : 0,
        memoryCommands: h ? h.memoryCommands : 0,
        replayedKeys: h ? h.replayedKeys : 0,
        discardedKeys: h ? h.discardedKeys : 0,
        expiredKeys: h ? h.memoryExpired : 0,
      },
    }
  }

  /**
   * A new client with this one's options on its own MONITOR connection; resolves once
   * the server streams, then emits `monitor(time, args, source, database)` per command.
   */
  monitor(callback) {
    if (this.options.memoryOnly) {
      return asCallback(Promise.reject(new Error('monitor() needs a Redis server; a memory:// client has none')), callback)
    }
    return asCallback(startMonitor(new Redis({ ...this.options, lazyConnect: true })), callback)
  }

  /** Deprecated ioredis alias of `disconnect()`. */
  end() {
    this.disconnect()
  }

  /** A new client with the same options (plus overrides). */
  duplicate(override) {
    return new Redis({ ...this.options, ...override })
  }

  /** A pipeline, optionally filled from `[[methodName, ...args], …]`. */
  pipeline(commandList) {
    const pipeline = new Pipeline(this)
    if (commandList !== undefined && commandList !== null) pipeline.addBatch(commandList)
    return pipeline
  }

  /** A transaction (`multi([commands])`), or MULTI sent at once with `{ pipeline: false }`. */
  multi(commandList, options) {
    if (options === undefined && !Array.isArray(commandList)) {
      options = commandList
      commandList = undefined
    }
    if (options && options.pipeline === false) {
      this._execWraps = true
      return this.call('multi')
    }
    const transaction = new Transaction(this)
    if (commandList !== undefined && commandList !== null) transaction.addBatch(commandList)
    return transaction
  }

  /**
   * EXEC. After `multi({ pipeline: false })` the results come wrapped as ioredis does:
   * `[[null, result] | [ReplyError], …]` (or `null` after a WATCH conflict).
   */
  exec(callback) {
    const wrap = this._execWraps === true
    this._execWraps = false
    const promise = this.sendCommand(new Command('exec', [])).then((replies) =>
      wrap && Array.isArray(replies) ? wrapMultiResult(replies.map((reply) => (reply instanceof Error ? toReplyError(reply) : reply))) : replies,
    )
    return asCallback(promise, callback)
  }

  /**
   * Defines `name(...)` / `nameBuffer(...)` running `lua` by EVALSHA, falling back to
   * EVAL on NOSCRIPT (not inside MULTI, where the error is returned as is).
   */
  defineCommand(name, definition) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('defineCommand: name must be a non-empty string')
    const script = defineScript(definition)
    this._scripts.set(name, script)
    this[name] = scriptMethod(script, 'utf8')
    this[`${name}Buffer`] = scriptMethod(script, null)
  }

  /** ioredis's `addBuiltinCommand`: a method (and …Buffer twin) for a command this client does not know. */
  addBuiltinCommand(name) {
    checkName(name)
    this._addedBuiltins.add(name)
    this[name] = commandMethod(name, 0)
    this[`${name}Buffer`] = commandMethod(name, FLAG_BUFFERS)
  }

  /** The commands every client has a method for. */
  getBuiltinCommands() {
    return commands.list.filter((name) => name !== 'monitor')
  }

  scanStream(options) {
    return new ScanStream(this, 'scan', undefined, options, 'utf8')
  }

  scanBufferStream(options) {
    return new ScanStream(this, 'scan', undefined, options, null)
  }
}

/** The prototype method of a command (`flags`: FLAG_BUFFERS for its …Buffer twin). */
/** A client's current native connection, for the metrics (lib/metrics.js). */
function linkOf(client) {
  return client._link
}

function commandMethod(name, flags) {
  const options = flags & FLAG_BUFFERS ? { replyEncoding: null } : {}
  return function (...args) {
    if (this.backend === 'memory' && typeof args[args.length - 1] !== 'function') {
      const answered = this._direct(name, args, flags)
      if (answered !== undefined) return answered
    }
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this.sendCommand(new Command(name, args, options, callback))
  }
}

/** Runs any command: `call('SET', 'k', 'v')`; node-style callback as last argument. */
Redis.prototype.call = callMethod('utf8')
/** `call` with Buffer replies. */
Redis.prototype.callBuffer = callMethod(null)
/** node_redis's name for `call`, which ioredis keeps. */
Redis.prototype.send_command = Redis.prototype.call

installPubSub(Redis)

// One prototype method (plus a …Buffer twin) per command of the table: Redis 7's, and the
// newer ones ioredis has methods for.
for (const name of commands.list) {
  // Methods with their own behaviour (quit, multi, exec, subscribe…) keep it; every
  // command still gets a raw …Buffer twin.
  if (!(name in Redis.prototype)) Redis.prototype[name] = commandMethod(name, 0)
  if (`${name}Buffer` in Redis.prototype || NO_BUFFER_TWIN.has(name)) continue
  Redis.prototype[`${name}Buffer`] = commandMethod(name, FLAG_BUFFERS)
}

for (const command of ['sscan', 'hscan', 'zscan']) {
  Redis.prototype[`${command}Stream`] = function (key, options) {
    return new ScanStream(this, command, key, options, 'utf8')
  }
  Redis.prototype[`${command}BufferStream`] = function (key, options) {
    return new ScanStream(this, command, key, options, null)
  }
}

Redis.Command = Command
Redis.Pipeline = Pipeline
Redis.ReplyError = ReplyError
Redis.ScanStream = ScanStream

module.exports = { Redis, Pipeline, ScanStream }
