import { Redis, RedisOptions, Pipeline, ScanStream, ScanStreamOptions } from './redis'

/** A startup node: a port, a `host:port` / `redis://` URL, or `{ host, port, … }`. */
export type ClusterNode = number | string | { host?: string; port?: number | string; username?: string; password?: string }

/** ioredis's ClusterOptions (see docs/cluster.md for what bulwark does with each). */
export interface ClusterOptions {
  /**
   * Delay before the next start-up attempt after every node failed, `this` being the
   * cluster; anything but a number gives up (`end`; queued commands reject with
   * `None of startup nodes is available`, or the memory engine keeps answering).
   * Default `min(100 + times * 2, 2000)`; `null` gives up at the first failure.
   */
  clusterRetryStrategy?: ((this: Cluster, times: number, reason?: Error) => number | void | null) | null
  enableOfflineQueue?: boolean
  enableReadyCheck?: boolean
  /**
   * Where keyed reads go; a function picks among the slot's nodes (primary first, then
   * its replicas): a node, an array to sample from, or nothing for the primary.
   */
  scaleReads?: 'master' | 'slave' | 'all' | ((nodes: Redis[], command: { name: string; args: unknown[] }) => Redis | Redis[] | null | undefined)
  maxRedirections?: number
  retryDelayOnMoved?: number
  retryDelayOnFailover?: number
  retryDelayOnClusterDown?: number
  retryDelayOnTryAgain?: number
  slotsRefreshTimeout?: number
  slotsRefreshInterval?: number
  /** bulwark: how long a command waits for its slot's node across a failover, ms (default 30000). */
  failoverTimeout?: number
  /** bulwark: per-command deadline when redisOptions.commandTimeout is unset, ms (default 10000). */
  commandTimeout?: number
  redisOptions?: RedisOptions
  /** Announced `ip:port` → reachable address: a table, or a function asked once per new address. */
  natMap?: Record<string, { host: string; port: number }> | ((address: string) => { host: string; port: number } | null | undefined)
  /** Resolves startup nodes given by hostname (default: the system resolver). */
  dnsLookup?: (hostname: string, callback: (err: Error | null, address: string) => void) => void
  lazyConnect?: boolean
  keyPrefix?: string
  scripts?: Record<string, { lua: string; numberOfKeys?: number; readOnly?: boolean }>
}

/** ioredis's `Redis.Cluster`: every `Redis` command method, routed by slot. */
export declare class Cluster extends Redis {
  constructor(startupNodes: ClusterNode[], options?: ClusterOptions)
  readonly isCluster: true
  startupNodes: Array<{ host: string; port: number }>
  /** The slot map's nodes as `Redis` clients. */
  nodes(role?: 'all' | 'master' | 'slave'): Redis[]
  refreshSlotsCache(callback?: (err?: Error | null) => void): void
  duplicate(overrideStartupNodes?: ClusterNode[] | RedisOptions, overrideOptions?: ClusterOptions): Cluster
  pipeline(commands?: unknown[][]): Pipeline
  /** `multi({ pipeline: false })` throws on a Cluster (MULTI would go to a random node). */
  multi(commands?: unknown[][]): Pipeline
  multi(options: { pipeline: false }): never
  /** SCAN over every primary. */
  scanStream(options?: ScanStreamOptions): ScanStream
  /** A node joined (`+node`) or left (`-node`) the slot map. */
  on(event: '+node' | '-node', listener: (node: Redis) => void): this
  /** A node's error (`host:port`): its connection's, or a failed CLUSTER SLOTS read. */
  on(event: 'node error', listener: (err: Error & { code?: string }, address: string) => void): this
  /**
   * The cluster's errors; when no node gave the slot map, ioredis's ClusterAllFailedError:
   * `Failed to refresh slots cache.` with the last node's error as `lastNodeError`.
   */
  on(event: 'error', listener: (err: Error & { lastNodeError?: (Error & { code?: string }) | null }) => void): this
  /** A CLUSTER SLOTS read succeeded. */
  on(event: 'refresh', listener: () => void): this
  /**
   * Sharded pub/sub (ioredis's `shardedSubscribers` events): a primary's subscriber
   * connection was created (`+subscriber`) or dropped, no channel being left on it
   * (`-subscriber`); the channels whose slot moved are subscribed again
   * (`subscribersReady`).
   */
  on(event: '+subscriber' | '-subscriber' | 'subscribersReady', listener: () => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
}
