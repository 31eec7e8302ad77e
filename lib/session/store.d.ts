import { EventEmitter } from 'node:events'
import type { Redis } from '../redis'

/** A stored session as express-session keeps it: its cookie plus whatever the app put in. */
export interface SessionData {
  cookie: {
    originalMaxAge?: number | null
    maxAge?: number | null
    expires?: Date | string | null
    secure?: boolean | 'auto'
    httpOnly?: boolean
    path?: string
    domain?: string
    sameSite?: boolean | 'lax' | 'strict' | 'none'
    [key: string]: unknown
  }
  [key: string]: any
}

/** How sessions become strings and back; `parse` may be async. */
export interface Serializer {
  parse(text: string): SessionData | Promise<SessionData>
  stringify(sess: SessionData): string
}

/** An ioredis-style client (`call`, `get`, `set`, …) or a node-redis ≥ 4 client (`sendCommand`). */
export type SessionClient =
  | Redis
  | { call(...args: any[]): Promise<unknown>; get(key: string): Promise<string | null>; [method: string]: any }
  | { sendCommand(args: string[]): Promise<unknown>; [method: string]: any }

export interface RedisStoreOptions {
  /** A bulwark `Redis` (keeps sessions through outages), or an ioredis / node-redis client. */
  client: SessionClient
  /** Key prefix; default `'sess:'` (`''` allowed). */
  prefix?: string
  /** Its name in bulwark.metrics and the status page (default: the prefix). */
  name?: string
  /** SCAN COUNT of clear/all/ids/length; default 100. */
  scanCount?: number
  /** Default `JSON`. */
  serializer?: Serializer
  /** Seconds (default 86400) or a function of the session, which wins over the cookie. */
  ttl?: number | ((sess: SessionData) => number)
  /** Store sessions without expiry. */
  disableTTL?: boolean
  /** `touch` does nothing. */
  disableTouch?: boolean
  /** `touch` also rewrites the stored cookie's `expires` (SET XX EX), so it does not drift. */
  rollingTouch?: boolean
  /** Sessions kept in process so a Redis outage does not log their users out; default 10000, 0 = none. */
  localCopies?: number
}

type Callback<T> = (err: any, value?: T) => void

/** express-session store on Redis, data-compatible with connect-redis 7–10. */
export declare class RedisStore extends EventEmitter {
  constructor(options: RedisStoreOptions)
  readonly client: SessionClient
  prefix: string
  scanCount: number
  serializer: Serializer
  ttl: number | ((sess: SessionData) => number)
  disableTTL: boolean
  disableTouch: boolean
  rollingTouch: boolean
  getTTL(sess: SessionData): number
  get(sid: string): Promise<SessionData | null>
  get(sid: string, cb: Callback<SessionData | null>): void
  set(sid: string, sess: SessionData): Promise<null>
  set(sid: string, sess: SessionData, cb: Callback<null>): void
  touch(sid: string, sess: SessionData): Promise<null>
  touch(sid: string, sess: SessionData, cb: Callback<null>): void
  destroy(sid: string): Promise<null>
  destroy(sid: string, cb: Callback<null>): void
  clear(): Promise<null>
  clear(cb: Callback<null>): void
  length(): Promise<number>
  length(cb: Callback<number>): void
  ids(): Promise<string[]>
  ids(cb: Callback<string[]>): void
  all(): Promise<Array<SessionData & { id: string }>>
  all(cb: Callback<Array<SessionData & { id: string }>>): void
  /** From express-session's Store (when it is installed). */
  regenerate(req: unknown, cb: (err?: any) => void): void
  load(sid: string, cb: (err: any, session?: unknown) => void): void
  createSession(req: unknown, sess: SessionData): unknown
}
