import type { Redis } from '../redis'
import type { RedisReply, WhenDown } from './store'

export type Algorithm = 'fixed-window' | 'sliding-window' | 'token-bucket'

export interface RateLimiterOptions {
  /** bulwark (or ioredis) client: decisions run atomically on Redis with its clock. */
  client?: Redis | { call(...args: Array<string | number>): Promise<unknown> }
  /** Alternatively a rate-limit-redis style `sendCommand`. */
  sendCommand?: (...args: string[]) => Promise<RedisReply>
  /** `true`: decide in process (the default when neither client nor sendCommand is given). */
  memory?: boolean
  /** Default `'fixed-window'`. */
  algorithm?: Algorithm
  /** Requests (tokens) per window: an integer ≥ 1. */
  limit: number
  /** Window in ms: an integer ≥ 1. */
  windowMs: number
  /** Key prefix; default `bulwark:<algorithm>:`. */
  prefix?: string
  /** Its name in bulwark.metrics, health() and the status page (default: the prefix). */
  name?: string
  whenDown?: WhenDown
  timeoutMs?: number
  retryMs?: number
  maxKeys?: number
  /** Clock of the in-process limiter (ms); default `Date.now`. Redis uses its own clock. */
  clock?: () => number
}

export interface RateLimitResult {
  allowed: boolean
  limit: number
  remaining: number
  /** ms until the key is back to its full limit. */
  resetMs: number
  /** ms until a request of the same cost could pass (0 when allowed). */
  retryAfterMs: number
}

/** Minimal response shape: Node's http.ServerResponse and Express's res both fit. */
export interface HeaderTarget {
  setHeader(name: string, value: string): unknown
  headersSent?: boolean
}

export declare class RateLimiter {
  constructor(options: RateLimiterOptions)
  readonly algorithm: Algorithm
  readonly limit: number
  readonly windowMs: number
  readonly prefix: string
  readonly whenDown: WhenDown
  consume(key: string, cost?: number): Promise<RateLimitResult>
  get(key: string): Promise<RateLimitResult>
  reset(key: string): Promise<void>
  penalty(key: string, points?: number): Promise<void>
  reward(key: string, points?: number): Promise<void>
  block(key: string, ms: number): Promise<void>
  setHeaders(res: HeaderTarget, result: RateLimitResult): void
}

export declare function setRateLimitHeaders(res: HeaderTarget, result: RateLimitResult, windowMs?: number): void
