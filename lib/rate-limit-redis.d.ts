import { RedisStore as Store } from './ratelimit/store'
import type { RedisStoreOptions, RedisReply as Reply, ClientRateLimitInfo as Info, WhenDown as Policy } from './ratelimit/store'

/** `require('bulwark/rate-limit-redis')` is the class, also as `.default` and `.RedisStore`. */
declare class RedisStore extends Store {}
declare namespace RedisStore {
  export const RedisStore: typeof Store
  export { RedisStore as default }
  export type Options = RedisStoreOptions
  export type RedisReply = Reply
  export type ClientRateLimitInfo = Info
  export type WhenDown = Policy
}
export = RedisStore
