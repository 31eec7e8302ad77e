import { EventEmitter } from 'node:events'
import { Readable } from 'node:stream'

type Callback<T> = (err: Error | null, result?: T) => void
type Arg = string | Buffer | number | bigint | null | undefined
type Key = string | Buffer

export interface RedisOptions {
  host?: string
  port?: number
  path?: string
  username?: string
  password?: string
  db?: number
  /**
   * TLS (rustls). `ca`: PEM roots to trust instead of the system store; `cert` + `key`: a PEM
   * client certificate chain and its unencrypted key, for servers that require client
   * certificates; `rejectUnauthorized: false` skips verification.
   */
  tls?:
    | {
        ca?: string | Buffer | Array<string | Buffer>
        cert?: string | Buffer | Array<string | Buffer>
        key?: string | Buffer | Array<string | Buffer>
        rejectUnauthorized?: boolean
      }
    | true
  keyPrefix?: string
  lazyConnect?: boolean
  connectTimeout?: number
  commandTimeout?: number
  /**
   * Off by default, as in ioredis. When set (ms > 0), a blocking command (BLPOP, BRPOP,
   * BRPOPLPUSH, BLMOVE, BZPOPMIN, BZPOPMAX, BZMPOP, BLMPOP, XREAD/XREADGROUP) that gets no
   * reply within its own timeout + `blockingTimeoutGrace`, or within `blockingTimeout` when
   * it blocks forever, resolves `null`.
   */
  blockingTimeout?: number
  /** Added to a blocking command's own timeout (default 100 ms). */
  blockingTimeoutGrace?: number
  enableOfflineQueue?: boolean
  maxRetriesPerRequest?: number | null
  retryStrategy?: ((times: number) => number | void | null) | null
  reconnectOnError?: ((err: Error) => boolean | 1 | 2) | null
  enableReadyCheck?: boolean
  autoResubscribe?: boolean
  enableAutoPipelining?: boolean
  name?: string
  connectionName?: string
  stringNumbers?: boolean
  /** Re-send commands in flight when a connection drops, after the reconnect (default true, as ioredis). */
  autoResendUnfulfilledCommands?: boolean
  scripts?: Record<string, { lua: string; numberOfKeys?: number; readOnly?: boolean }>
  /** bulwark: most commands queued or in flight (default 100000). */
  maxQueueLength?: number
  /** bulwark: most argument bytes queued or in flight (default 256 MiB). */
  maxQueueBytes?: number
  /** bulwark: idle PING probe period in ms, 0 disables (default 1000; 0 with `fallback: false`, as ioredis sends none). */
  pingInterval?: number
  /**
   * bulwark: answer from the in-process memory engine while Redis is absent, down or
   * hung (`'memory'`, the default), or keep ioredis's semantics, errors included (`false`).
   */
  fallback?: 'memory' | false
  /** bulwark: how long the first affected call waits for Redis before memory answers, ms (default 250). */
  fallbackTimeout?: number
  /** bulwark: what happens to keys written during an outage once Redis is back (default 'replay'). */
  recovery?: 'replay' | 'discard'
  /** bulwark: bounds of the memory engine (shared by the clients of one server). */
  memory?: {
    /** Most keys kept; least recently used keys are evicted beyond it (default: unbounded). */
    maxKeys?: number | null
    /** Approximate byte budget (default 256 MiB). */
    maxMemoryBytes?: number | null
  }
  /** bulwark: count commands and latencies for `bulwark.metrics` (default true). */
  metrics?: boolean
  /** Sentinel mode: the sentinels to ask for the primary named `name`. */
  sentinels?: Array<{ host?: string; port?: number }>
  /** Sentinel mode: the primary (default) or a replica. */
  role?: 'master' | 'slave'
  sentinelUsername?: string
  sentinelPassword?: string
  /** Replica preference for role 'slave' (lowest prio first). */
  preferredSlaves?: Array<{ ip: string; port: number | string; prio?: number }>
  sentinelRetryStrategy?: ((times: number) => number | void | null) | null
  /** Announced "ip:port" → reachable address. */
  natMap?: Record<string, { host: string; port: number }>
  enableTLSForSentinelMode?: boolean
  /** Deadline of each request to a sentinel, ms (default: connectTimeout, at most 2 s). */
  sentinelCommandTimeout?: number | null
  /** bulwark: reconnect on +switch-master (default true; ioredis defaults to false). */
  failoverDetector?: boolean
  [other: string]: unknown
}

/** What `health()` reports. */
export interface RedisHealth {
  /** 'healthy': answering from the configured backend (Redis, or memory for memory://). */
  status: 'healthy' | 'degraded'
  /** Why it is degraded (e.g. the retryStrategy stopped reconnecting); null when healthy. */
  reason: string | null
  backend: 'redis' | 'memory'
  /** A ready connection to Redis that answers commands. */
  connected: boolean
  /** PING round trip on the current backend, ms; null when it did not answer within 1 s. */
  latencyMs: number | null
  /** Unix ms when the current backend took over. */
  since: number | null
  /** The last connection error (never contains credentials). */
  lastError: string | null
  memory: { keys: number; bytes: number; evictions: number }
  counters: {
    fallbacks: number
    recoveries: number
    memoryCommands: number
    replayedKeys: number
    discardedKeys: number
    expiredKeys: number
  }
}

export type RedisStatus = 'wait' | 'reconnecting' | 'connecting' | 'connect' | 'ready' | 'close' | 'end' | 'monitoring'

export declare class Command {
  constructor(name: string, args?: unknown[], options?: { replyEncoding?: string | null }, callback?: Callback<unknown>)
  name: string
  args: unknown[]
  promise: Promise<unknown>
  static setArgumentTransformer(name: string, fn: (args: unknown[]) => unknown[]): void
  static setReplyTransformer(name: string, fn: (reply: unknown) => unknown): void
}

export declare class Pipeline {
  /** Commands queued so far (MULTI/EXEC of inline transactions included). */
  readonly length: number
  /** The options of the client it belongs to. */
  readonly options: RedisOptions
  readonly redis: Redis
  exec(callback?: Callback<Array<[Error | null, unknown]>>): Promise<Array<[Error | null, unknown]> | null>
  /** Inline transaction: MULTI now, EXEC at the matching `exec()`. */
  multi(): this
  /** `[[methodName, ...args], …]`: any method of the pipeline, e.g. `['hgetBuffer', 'h', 'f']`. */
  addBatch(commands: unknown[][]): this
  call(name: string, ...args: unknown[]): this
  callBuffer(name: string, ...args: unknown[]): this
  [command: string]: any
}

export declare class ScanStream extends Readable {
  close(): void
}

export interface ScanStreamOptions {
  match?: string
  type?: string
  count?: number
  noValues?: boolean
}

export declare class Redis extends EventEmitter {
  constructor()
  constructor(port: number, host?: string, options?: RedisOptions)
  constructor(port: number, options: RedisOptions)
  constructor(url: string, options?: RedisOptions)
  constructor(options: RedisOptions)
  static createClient(...args: unknown[]): Redis
  static Command: typeof Command
  options: RedisOptions & { host: string; port: number; db: number; keyPrefix: string }
  status: RedisStatus
  mode: 'normal' | 'subscriber' | 'monitor'
  retryAttempts: number
  /** bulwark: where commands are answered now ('memory' for memory:// and during an outage). */
  backend: 'redis' | 'memory'
  /** bulwark: backend, connection and failover counters; never rejects. */
  health(): Promise<RedisHealth>
  on(event: 'fallback', listener: (err: Error & { code?: string }) => void): this
  on(event: 'recover', listener: () => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'fallback', listener: (err: Error & { code?: string }) => void): this
  once(event: 'recover', listener: () => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
  connect(callback?: Callback<void>): Promise<void>
  quit(callback?: Callback<'OK'>): Promise<'OK'>
  disconnect(reconnect?: boolean): void
  end(): void
  duplicate(override?: RedisOptions): Redis
  pipeline(commands?: unknown[][]): Pipeline
  multi(commands?: unknown[][]): Pipeline
  multi(options: { pipeline: false }): Promise<'OK'>
  sendCommand(command: Command): Promise<unknown>
  call(name: string, ...args: unknown[]): Promise<unknown>
  callBuffer(name: string, ...args: unknown[]): Promise<unknown>
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void
  /** A method (and `…Buffer` twin) for a command this client has none for. */
  addBuiltinCommand(name: string): void
  getBuiltinCommands(): string[]
  /** A new client on a MONITOR connection; emits `monitor(time, args, source, database)`. */
  monitor(callback?: Callback<Redis>): Promise<Redis>
  scanStream(options?: ScanStreamOptions): ScanStream
  sscanStream(key: Key, options?: ScanStreamOptions): ScanStream
  hscanStream(key: Key, options?: ScanStreamOptions): ScanStream
  zscanStream(key: Key, options?: ScanStreamOptions): ScanStream

  get(key: Key, callback?: Callback<string | null>): Promise<string | null>
  getBuffer(key: Key, callback?: Callback<Buffer | null>): Promise<Buffer | null>
  set(key: Key, value: Arg, ...args: Array<Arg | Callback<'OK' | string | null>>): Promise<'OK' | string | null>
  del(...keys: Array<Key | Key[] | Callback<number>>): Promise<number>
  incr(key: Key, callback?: Callback<number>): Promise<number>
  expire(key: Key, seconds: number | string, ...args: unknown[]): Promise<number>
  mget(...keys: Array<Key | Key[]>): Promise<Array<string | null>>
  hgetall(key: Key, callback?: Callback<Record<string, string>>): Promise<Record<string, string>>
  hset(key: Key, ...args: unknown[]): Promise<number>
  /** Every other command ioredis has a method for (and its `…Buffer` twin) is a method too. */
  [command: string]: any
}
