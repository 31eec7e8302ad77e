import { Cluster as ClusterClient, ClusterOptions as ClusterOpts, ClusterNode as Node } from './cluster'
import { Redis as RedisClient, Command as RedisCommand, Pipeline as RedisPipeline, ScanStream as RedisScanStream, RedisOptions as Options } from './redis'

/** `require('bulwark/ioredis')` is the class itself, as with ioredis. */
declare class Redis extends RedisClient {}
declare namespace Redis {
  const Redis: typeof RedisClient
  const Command: typeof RedisCommand
  const Pipeline: typeof RedisPipeline
  const ScanStream: typeof RedisScanStream
  const Cluster: typeof ClusterClient
  type Cluster = ClusterClient
  type ClusterOptions = ClusterOpts
  type ClusterNode = Node
  type RedisOptions = Options
  class RedisError extends Error {}
  class ReplyError extends RedisError {
    command?: { name: string; args: unknown[] }
    previousErrors?: Error[]
  }
  class AbortError extends RedisError {}
  class MaxRetriesPerRequestError extends AbortError {}
  function print(err: Error | null, reply?: unknown): void
}
export = Redis
