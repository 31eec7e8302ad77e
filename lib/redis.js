'use strict'
// `Redis`: the ioredis-compatible client. The socket, RESP, pipelining, reconnect state
// machine and queues live in Rust (core/src/client, src/redis.rs); this class keeps the
// ioredis surface: options, status and events, command methods on the prototype,
// argument/reply transformers, keyPrefix, pipelines and transactions.
const { EventEmitter } = require('node:events')
const { createHash } = require('node:crypto')
const { Readable } = require('node:stream')
const native = require('./native')
const commands = require('./redis-commands')
const { Command, prepareArgs, transformReply } = require('./redis-command')
const { ReplyError, AbortError, MaxRetriesPerRequestError } = require('./redis-errors')
const { parseOptions } = require('./redis-options')
const { throttledLog } = require('./throttled-log')
const { armBlockingDeadline } = require('./redis-blocking')
const { observeClient } = require('./metrics')
const tracing = require('./redis-tracing')
const { sentinelNativeOptions, sentinelFallbackTarget } = require('./sentinel')

const FLAG_BUFFERS = 0b001
const FLAG_BLOCKING = 0b100
/** Redis refuses bulk strings of 512 MiB and more (proto-max-bulk-len). */
const MAX_ARG_BYTES = 512 * 1024 * 1024

/**
 * A growable byte buffer commands are encoded into (u32 LE length + bytes per argument).
 * Each client owns one for its batch of commands waiting for the next flush; `scratch`
 * serves single submissions. JS is single-threaded and the native side copies
 * synchronously, so a buffer is reused as soon as it was handed over.
 */
class Writer {
  constructor(size) {
    this.buf = Buffer.allocUnsafe(size)
    this.pos = 0
  }

  ensure(extra) {
    const needed = this.pos + extra
    if (needed <= this.buf.length) return
    let size = this.buf.length
    while (size < needed) size *= 2
    const bigger = Buffer.allocUnsafe(size)
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  u32(n) {
    this.ensure(4)
    putU32(this.buf, n, this.pos)
    this.pos += 4
  }

  /** Appends one argument; throws RangeError for 512 MiB and more. */
  arg(name, arg) {
    if (typeof arg === 'string') {
      if (arg.length * 3 + this.pos + 4 > this.buf.length) {
        const bytes = Buffer.byteLength(arg)
        if (bytes >= MAX_ARG_BYTES) throw tooBig(name, bytes)
        this.ensure(4 + bytes)
      }
      const written = arg.length <= SHORT_ASCII ? writeShort(this.buf, arg, this.pos + 4) : -1
      const n = written >= 0 ? written : this.buf.write(arg, this.pos + 4, 'utf8')
      putU32(this.buf, n, this.pos)
      this.pos += 4 + n
    } else if (Buffer.isBuffer(arg) || arg instanceof Uint8Array) {
      if (arg.length >= MAX_ARG_BYTES) throw tooBig(name, arg.length)
      this.u32(arg.length)
      this.ensure(arg.length)
      this.buf.set(arg, this.pos)
      this.pos += arg.length
    } else if (arg === null || arg === undefined) {
      this.u32(0)
    } else {
      this.arg(name, typeof arg === 'bigint' ? arg.toString() : String(arg))
    }
  }

  /** Appends the command name and its arguments. */
  command(name, args) {
    this.arg(name, name)
    for (let i = 0; i < args.length; i++) this.arg(name, args[i])
  }
}

const scratch = new Writer(16 * 1024)

/** Strings up to this length are copied by hand when ASCII: cheaper than a utf8 write call. */
const SHORT_ASCII = 24

/** Copies an ASCII string into `buf` at `at`; -1 (nothing usable written) at the first non-ASCII char. */
function writeShort(buf, str, at) {
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i)
    if (c > 0x7f) return -1
    buf[at + i] = c
  }
  return str.length
}

function putU32(buf, n, at) {
  buf[at] = n & 0xff
  buf[at + 1] = (n >>> 8) & 0xff
  buf[at + 2] = (n >>> 16) & 0xff
  buf[at + 3] = n >>> 24
}
/**
 * A batch is handed over as soon as it holds this many commands, not only at the end of
 * the tick: Redis starts on the first ones while JS is still issuing the rest of a large
 * burst (server-heavy commands such as scripts gained 15-20% at concurrency 64).
 */
const EAGER_FLUSH = 32
/** Batches that grew past this are replaced after a flush so one burst does not pin memory. */
const BATCH_KEEP_BYTES = 1024 * 1024

function tooBig(name, bytes) {
  return new RangeError(`Argument of ${name} is ${bytes} bytes; Redis refuses arguments of 512 MiB or more`)
}

function closedError() {
  return new Error('Connection is closed.')
}

/** Maps a native failure (`"<Kind>\t<message>"`) to the error ioredis would give. */
function failureError(text) {
  const tab = text.indexOf('\t')
  const kind = text.slice(0, tab)
  const message = text.slice(tab + 1)
  switch (kind) {
    case 'Closed':
      return closedError()
    case 'Aborted':
      return new AbortError(message)
    case 'MaxRetries':
      return new MaxRetriesPerRequestError(message)
    case 'QueueFull': {
      const err = new Error(message)
      err.code = 'ERR_BULWARK_QUEUE_FULL'
      return err
    }
    default:
      return new Error(message)
  }
}

// Commands allowed while subscribed (ioredis's subscriber mode rule).
const SUBSCRIBER_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'ping', 'quit', 'reset'])

/** Which subscription set each pub/sub command changes. */
const SUBSCRIPTION_SET = {
  subscribe: 'subscribe',
  unsubscribe: 'subscribe',
  psubscribe: 'psubscribe',
  punsubscribe: 'psubscribe',
  ssubscribe: 'ssubscribe',
  sunsubscribe: 'ssubscribe',
}

/** Commands whose raw form would break the connection's state (they have own methods). */
const NO_BUFFER_TWIN = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'quit', 'monitor'])

const logUnhandledError = throttledLog('[bulwark] Unhandled error event:')
/**
 * Replies the memory engine gives at once settle in the same microtask burst, which
 * is fast, but a loop of awaits on such replies would never let timers or I/O run (a
 * socket reply always arrives in a later event-loop turn). So at most this many are
 * settled per turn; beyond it they wait for setImmediate, as network replies would.
 */
const SYNC_SETTLES_PER_TURN = 1000
let syncSettles = 0
let turnResetScheduled = false
function resetTurn() {
  turnResetScheduled = false
  syncSettles = 0
}

/** Replies held for the next turn: [resolve, outcome] pairs, released by one setImmediate. */
let deferred = []
function releaseDeferred() {
  const held = deferred
  deferred = []
  for (const [resolve, outcome] of held) resolve(outcome)
}
function deferToNextTurn(outcome) {
  if (deferred.length === 0) setImmediate(releaseDeferred)
  return new Promise((resolve) => deferred.push([resolve, outcome]))
}

/** Counts `n` replies settled at once; false when this turn's share is used up. */
function settleNowAllowed(n) {
  if (!turnResetScheduled) {
    turnResetScheduled = true
    setImmediate(resetTurn)
  }
  syncSettles += n
  return syncSettles <= SYNC_SETTLES_PER_TURN
}

/** How long `health()` waits for its PING. */
const HEALTH_PING_MS = 1000

class Redis extends EventEmitter {
  constructor(...args) {
    super()
    this.options = parseOptions(args)
    this.status = 'wait'
    this.mode = 'normal'
    this.retryAttempts = 0
    this.autoPipelineQueueSize = 0
    this._link = null
    this._directSlot = null
    this._pending = new Map()
    this._nextId = 1
    this._batch = new Writer(16 * 1024)
    this._flushScheduled = false
    this._batchCount = 0
    this._flush = () => this._flushBatch()
    this._manuallyClosing = false
    this._scripts = new Map()
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
      this.connectionEpoch++
      this._setStatus('connecting')
      this._link = this._createLink((batch) => this._onDelivery(batch))
      this._directSlot = this._link.directSlot()
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
    if (typeof callback === 'function') promise.then(() => callback(null), callback)
    return promise
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
    // Queued behind the reconnect, so it runs on the new connection.
    if (decision === 2) this.sendCommand(command)
    else command.replyError(message)
  }

  _onEvent(name, code, detail) {
    switch (name) {
      case 'connecting':
        // disconnect(true) / reconnectOnError: the core reconnects at once after `close`.
        if (this.status === 'close') this._setStatus('reconnecting', 0)
        if (this.status !== 'connecting') this._setStatus('connecting')
        break
      case 'connect':
        this._setStatus('connect')
        break
      case 'ready':
        this.retryAttempts = 0
        this._setStatus('ready')
        this.emit('_ready')
        break
      case 'error': {
        const err = new Error(detail)
        if (code) err.code = code
        if (code === 'ETIMEDOUT' && detail.startsWith('connect')) err.syscall = 'connect'
        this.emit('_connectError', err)
        this.silentEmit('error', err)
        break
      }
      case 'close':
        this._setStatus('close')
        if (code === 'retry') this._retry(Number(detail))
        break
      case 'fallback': {
        const err = new Error(detail)
        if (code) err.code = code
        this.backend = 'memory'
        this.emit('fallback', err)
        break
      }
      case 'recover':
        this.backend = 'redis'
        this.emit('recover')
        break
      case 'end': {
        this._link = null
        this._directSlot = null
        this._setStatus('end')
        this.emit('_end')
        // Defensive: the core completes every command before `end`.
        const leftovers = [...this._pending.values()]
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
      delay = this.options.retryStrategy ? this.options.retryStrategy(attempt) : undefined
    } catch (err) {
      this.silentEmit('error', err)
    }
    if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0) {
      this._setStatus('reconnecting', delay)
      this._link.retry(delay)
    } else {
      this._link.retry(-1)
    }
  }

  /** Sends a `Command`; resolves/rejects its promise with the reply. */
  sendCommand(command) {
    const name = command.lowerName
    if (this.status === 'end' && this._link === null && this._manuallyClosing) {
      command.reject(closedError())
      return command.promise
    }
    if (this.mode === 'subscriber' && !SUBSCRIBER_COMMANDS.has(name)) {
      command.reject(new Error('Connection in subscriber mode, only subscriber commands may be used'))
      return command.promise
    }
    if (name === 'select') this._noteSelect(command.args)
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
    if (++this._batchCount >= EAGER_FLUSH) this._flushBatch()
    else if (!this._flushScheduled) {
      this._flushScheduled = true
      queueMicrotask(this._flush)
    }
    return tracing.traceCommand(this, command)
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

  /** Runs any command: `call('SET', 'k', 'v')`; node-style callback as last argument. */
  call(name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this.sendCommand(new Command(checkName(name), args, {}, callback))
  }

  /** `call` with Buffer replies. */
  callBuffer(name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this.sendCommand(new Command(checkName(name), args, { replyEncoding: null }, callback))
  }

  /** QUIT: replies already owed are delivered first; resolves "OK". Never rejects. */
  quit(callback) {
    const command = new Command('quit', [], {}, callback)
    this._manuallyClosing = true
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

  _closeSubscriber() {
    if (this._sub !== null) this._sub.disconnect(false)
    this.mode = 'normal'
    for (const set of Object.values(this._subscriptions)) set.clear()
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
    const h = this._link === null ? null : this._link.health()
    const connected = !this.options.memoryOnly && this.status === 'ready' && this.backend === 'redis'
    const healthy = latencyMs !== null && (this.options.memoryOnly || connected)
    return {
      status: healthy ? 'healthy' : 'degraded',
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

  /** Not supported yet: MONITOR would turn the shared pipelined connection into a stream. */
  monitor(callback) {
    const err = new Error('monitor() is not supported by bulwark yet')
    err.code = 'ERR_BULWARK_NOT_IMPLEMENTED'
    const promise = Promise.reject(err)
    if (typeof callback === 'function') promise.catch(callback)
    return promise
  }

  /** Deprecated ioredis alias of `disconnect()`. */
  end() {
    this.disconnect()
  }

  /** A new client with the same options (plus overrides). */
  duplicate(override) {
    return new Redis({ ...this.options, ...override })
  }

  pipeline(commandList) {
    return new Pipeline(this, false, commandList)
  }

  multi(commandList, options) {
    if (commandList && !Array.isArray(commandList)) {
      options = commandList
      commandList = undefined
    }
    if (options && options.pipeline === false) {
      this._execWraps = true
      return this.call('multi')
    }
    return new Pipeline(this, true, commandList)
  }

  /**
   * EXEC. After `multi({ pipeline: false })` the results come wrapped as ioredis does:
   * `[[null, result] | [ReplyError], …]` (or `null` after a WATCH conflict).
   */
  exec(callback) {
    const wrap = this._execWraps === true
    this._execWraps = false
    const promise = this.sendCommand(new Command('exec', [])).then((replies) =>
      wrap && Array.isArray(replies) ? replies.map((reply) => (reply instanceof Error ? [toReplyError(reply)] : [null, reply])) : replies,
    )
    if (typeof callback === 'function') promise.then((v) => callback(null, v), callback)
    return promise
  }

  /**
   * Defines `name(...)` / `nameBuffer(...)` running `lua` by EVALSHA, falling back to
   * EVAL on NOSCRIPT (not inside MULTI, where the error is returned as is).
   */
  defineCommand(name, definition) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('defineCommand: name must be a non-empty string')
    if (!definition || typeof definition.lua !== 'string') throw new TypeError('defineCommand: definition.lua must be a string')
    const numberOfKeys = definition.numberOfKeys
    if (numberOfKeys !== undefined && numberOfKeys !== null && !(Number.isInteger(numberOfKeys) && numberOfKeys >= 0)) {
      throw new TypeError('defineCommand: numberOfKeys must be a non-negative integer')
    }
    const script = { lua: definition.lua, sha: createHash('sha1').update(definition.lua).digest('hex'), numberOfKeys }
    this._scripts.set(name, script)
    const make = (replyEncoding) =>
      function (...args) {
        const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
        return runScript(this, script, args, replyEncoding, callback)
      }
    this[name] = make('utf8')
    this[`${name}Buffer`] = make(null)
  }

  // ---- pub/sub: a dedicated RESP3 connection carries subscriptions and messages ----

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
      const [, , pattern, channel, message] = batch
      this.emit('pmessageBuffer', pattern, channel, message)
      if (this.listenerCount('pmessage') > 0) this.emit('pmessage', pattern.toString(), channel.toString(), message.toString())
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

  scanStream(options) {
    return new ScanStream(this, 'scan', undefined, options, 'utf8')
  }

  scanBufferStream(options) {
    return new ScanStream(this, 'scan', undefined, options, null)
  }
}

/** PEM text from `tls` values as Node's tls takes them: a string, a Buffer or an array of them. */
function pem(value) {
  return Buffer.concat([].concat(value).flatMap((part) => [Buffer.from(part), Buffer.from('\n')]))
}

/** A client's current native connection, for the metrics (lib/metrics.js). */
function linkOf(client) {
  return client._link
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

/** A nested error from the native side (an EXEC entry) as a ReplyError. */
function toReplyError(err) {
  return err instanceof ReplyError ? err : new ReplyError(err.message)
}

function checkName(name) {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('Command name must be a non-empty string')
  return name
}

function prefixed(prefix, key) {
  if (Buffer.isBuffer(key) || Buffer.isBuffer(prefix)) return Buffer.concat([Buffer.from(prefix), Buffer.from(key)])
  return prefix + key
}

/** Prepends keyPrefix at every key position the server's key specs name. */
function applyPrefix(prefix, name, args) {
  const indexes = commands.keyIndexes(name, args)
  if (indexes.length === 0) return args
  const out = args.slice()
  for (const i of indexes) out[i] = prefixed(prefix, out[i] ?? '')
  return out
}

function scriptArgs(script, args) {
  return script.numberOfKeys === undefined || script.numberOfKeys === null ? args : [script.numberOfKeys, ...args]
}

function runScript(client, script, args, replyEncoding, callback) {
  const full = scriptArgs(script, args)
  const evalsha = new Command('evalsha', [script.sha, ...full], { replyEncoding })
  const result = client.sendCommand(evalsha).catch((err) => {
    if (!(err instanceof ReplyError) || !err.message.startsWith('NOSCRIPT')) throw err
    return client.sendCommand(new Command('eval', [script.lua, ...full], { replyEncoding }))
  })
  if (typeof callback === 'function') result.then((v) => callback(null, v), callback)
  return result
}

/** The prototype method of a command (`flags`: FLAG_BUFFERS for its …Buffer twin). */
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

// One prototype method (plus a …Buffer twin) per Redis 7 command.
for (const name of commands.list) {
  // Methods with their own behaviour (quit, multi, exec, subscribe…) keep it; every
  // command still gets a raw …Buffer twin.
  if (!(name in Redis.prototype)) Redis.prototype[name] = commandMethod(name, 0)
  if (`${name}Buffer` in Redis.prototype || NO_BUFFER_TWIN.has(name)) continue
  Redis.prototype[`${name}Buffer`] = commandMethod(name, FLAG_BUFFERS)
}

for (const command of ['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']) {
  Redis.prototype[command] = function (...args) {
    return this._subscription(command, args)
  }
}

/** `pipeline()` / `multi()`: queue commands, send them back to back on `exec()`. */
class Pipeline {
  constructor(redis, transaction, commandList) {
    this.redis = redis
    this.isTransaction = transaction
    this._queue = []
    this._scripts = new Map()
    if (commandList !== undefined) {
      if (!Array.isArray(commandList)) throw new TypeError('pipeline(commands): commands must be an array of [name, ...args]')
      for (const entry of commandList) {
        if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw new TypeError('pipeline(commands): each entry must be [name, ...args]')
        this.call(entry[0], ...entry.slice(1))
      }
    }
    for (const [name, script] of redis._scripts) {
      const add = (replyEncoding) =>
        function (...args) {
          const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
          return this._add(new Command('evalsha', [script.sha, ...scriptArgs(script, args)], { replyEncoding }, callback), script)
        }
      this[name] = add('utf8')
      this[`${name}Buffer`] = add(null)
    }
  }

  get length() {
    return this._queue.length
  }

  _add(command, script) {
    command.promise.catch(() => {}) // results are reported by exec(); no unhandled rejections
    this._queue.push({ command, script })
    return this
  }

  call(name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(checkName(name), args, {}, callback))
  }

  callBuffer(name, ...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(checkName(name), args, { replyEncoding: null }, callback))
  }

  exec(callback) {
    const promise = this.isTransaction ? this._execTransaction() : this._execPipeline()
    if (typeof callback === 'function') promise.then((v) => callback(null, v), callback)
    return promise
  }

  async _execPipeline() {
    const redis = this.redis
    // Scripts are loaded first so EVALSHA inside the pipeline finds them.
    await loadScripts(redis, this._queue)
    const sent = this._queue.map(({ command }) => redis.sendCommand(command))
    const settled = await Promise.allSettled(sent)
    return settled.map((s) => (s.status === 'fulfilled' ? [null, s.value] : [s.reason]))
  }

  async _execTransaction() {
    const redis = this.redis
    await loadScripts(redis, this._queue)
    const multi = redis.sendCommand(new Command('multi', []))
    const queued = this._queue.map(({ command }) => {
      // Inside MULTI the server answers QUEUED; the real reply comes in EXEC's array.
      const probe = new Command(command.name, command.args, { replyEncoding: command.replyEncoding })
      return redis.sendCommand(probe)
    })
    const exec = redis.sendCommand(new Command('exec', [], { replyEncoding: this._queue.some((q) => q.command.replyEncoding === null) ? null : 'utf8' }))
    const [multiResult, queuedResults, execResult] = await Promise.all([
      multi.then(
        () => null,
        (err) => err,
      ),
      Promise.allSettled(queued),
      exec.then(
        (value) => ({ value }),
        (error) => ({ error }),
      ),
    ])
    if (multiResult) throw multiResult
    if (execResult.error) {
      const err = execResult.error
      err.previousErrors = queuedResults.filter((r) => r.status === 'rejected').map((r) => r.reason)
      for (const { command } of this._queue) command.reject(err)
      throw err
    }
    const replies = execResult.value
    if (replies === null) {
      for (const { command } of this._queue) command.resolve(null)
      return null
    }
    return this._queue.map(({ command }, i) => {
      let reply = replies[i]
      if (reply instanceof Error) {
        const err = toReplyError(reply)
        err.command = { name: command.name, args: command.args }
        command.reject(err)
        return [err]
      }
      if (command.replyEncoding !== null && Buffer.isBuffer(reply)) reply = reply.toString()
      try {
        const value = command.transformReply(reply)
        command.resolve(value)
        return [null, value]
      } catch (err) {
        command.reject(err)
        return [err]
      }
    })
  }
}

async function loadScripts(redis, queue) {
  const shas = new Map()
  for (const { script } of queue) if (script) shas.set(script.sha, script.lua)
  if (shas.size === 0) return
  const exists = await redis.script('EXISTS', ...shas.keys())
  let i = 0
  for (const [, lua] of shas) {
    if (!exists[i++]) await redis.script('LOAD', lua)
  }
}

for (const name of commands.list) {
  if (name in Pipeline.prototype) continue
  Pipeline.prototype[name] = function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(name, args, {}, callback))
  }
  Pipeline.prototype[`${name}Buffer`] = function (...args) {
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined
    return this._add(new Command(name, args, { replyEncoding: null }, callback))
  }
}

/** ioredis's ScanStream: object-mode Readable of SCAN batches until the cursor is "0". */
class ScanStream extends Readable {
  constructor(redis, command, key, options = {}, replyEncoding) {
    super({ objectMode: true })
    if (options === null || typeof options !== 'object') throw new TypeError('scanStream(options): options must be an object')
    this._redis = redis
    this._command = command
    this._key = key
    this._options = options
    this._replyEncoding = replyEncoding
    this._cursor = '0'
    this._started = false
    this._stopped = false
  }

  _read() {
    if (this._stopped) {
      this.push(null)
      return
    }
    if (this._started && this._cursor === '0') {
      this.push(null)
      return
    }
    this._started = true
    const args = []
    if (this._key !== undefined) args.push(this._key)
    args.push(this._cursor)
    const o = this._options
    if (o.match) args.push('MATCH', o.match)
    if (o.type) args.push('TYPE', o.type)
    if (o.count) args.push('COUNT', String(o.count))
    if (o.noValues) args.push('NOVALUES')
    this._redis.sendCommand(new Command(this._command, args, { replyEncoding: this._replyEncoding })).then(
      ([cursor, batch]) => {
        this._cursor = String(cursor)
        this.push(batch)
      },
      (err) => this.destroy(err),
    )
  }

  /** Stops after the batch in flight. */
  close() {
    this._stopped = true
  }
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

module.exports = { Redis, Pipeline, ScanStream, nativeOptions }
