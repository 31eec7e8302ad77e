// Typed usage of the rate-limit store and limiter; compiled by `npm run typecheck`.
// Lines marked @ts-expect-error must stay errors.
import IORedis from 'ioredis'
import RedisStore = require('bulwark/rate-limit-redis')
import { RateLimitStore, RateLimiter, setRateLimitHeaders, Redis } from 'bulwark'
import type { RateLimitResult } from 'bulwark'
import { createServer } from 'node:http'

const ioredis = new IORedis()
const store = new RedisStore({
  sendCommand: (command: string, ...args: string[]) => ioredis.call(command, ...args) as Promise<RedisStore.RedisReply>,
  prefix: 'rl:',
})
const named = new RedisStore.RedisStore({ client: new Redis(), whenDown: 'deny', timeoutMs: 500 })
const viaDefault = new RedisStore.default({ client: new Redis() })
const main = new RateLimitStore({ client: new Redis(), whenDown: 'allow' })
// express-rate-limit's Store interface (its d.ts needs @types/express, not installed here).
interface ErlStore {
  init?(options: { windowMs: number; limit: number }): void | Promise<void>
  increment(key: string): Promise<{ totalHits: number; resetTime: Date | undefined }>
  decrement(key: string): Promise<void> | void
  resetKey(key: string): Promise<void> | void
  get?(key: string): Promise<{ totalHits: number; resetTime: Date | undefined } | undefined>
  resetAll?(): Promise<void> | void
  shutdown?(): Promise<void> | void
  localKeys?: boolean
  prefix?: string
}
const stores: ErlStore[] = [store, named, main]
void viaDefault.resetAll()
void store.increment('k').then((info: RedisStore.ClientRateLimitInfo) => info.totalHits + 1)
// @ts-expect-error whenDown is one of three policies
new RedisStore({ client: new Redis(), whenDown: 'open' })
// @ts-expect-error one way to Redis is required
new RedisStore({ prefix: 'x' })

const limiter = new RateLimiter({ client: new Redis(), algorithm: 'token-bucket', limit: 10, windowMs: 1000 })
const memory = new RateLimiter({ memory: true, limit: 5, windowMs: 60_000, clock: () => 0 })
// @ts-expect-error algorithm names are fixed
new RateLimiter({ algorithm: 'leaky', limit: 1, windowMs: 1 })
// @ts-expect-error limit is required
new RateLimiter({ windowMs: 1 })

createServer(async (req, res) => {
  const result: RateLimitResult = await limiter.consume(req.socket.remoteAddress ?? 'unknown', 2)
  setRateLimitHeaders(res, result, limiter.windowMs)
  memory.setHeaders(res, await memory.get('k'))
  const { allowed, remaining, resetMs, retryAfterMs } = result
  res.end(`${allowed} ${remaining} ${resetMs} ${retryAfterMs}`)
  await Promise.all([limiter.penalty('k', 1), limiter.reward('k'), limiter.block('k', 500), limiter.reset('k')])
})
