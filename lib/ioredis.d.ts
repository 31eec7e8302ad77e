import { Redis as RedisClient, Command as RedisCommand, Pipeline as RedisPipeline, ScanStream as RedisScanStream, RedisOptions as Options } from './redis'

/** `require('bulwark/ioredis')` is the class itself, as with ioredis. */
declare class Redis extends RedisClient {}
declare namespace Redis {
  const Redis: typeof RedisClient
  const Command: typeof RedisCommand
  const Pipeline: typeof RedisPipeline
  const ScanStream: typeof RedisScanStream
  /** Not implemented: constructing it throws `ERR_BULWARK_NOT_IMPLEMENTED`. */
  class Cluster {
    constructor(...args: unknown[])
  }
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
