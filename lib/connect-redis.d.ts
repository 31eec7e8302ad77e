import { RedisStore as Store } from './session/store'
import type { RedisStoreOptions, SessionData as Data, Serializer as SessionSerializer } from './session/store'

/** `require('bulwark/connect-redis')` is the class, also as `.default` and `.RedisStore`. */
declare class RedisStore extends Store {}
declare namespace RedisStore {
  export const RedisStore: typeof Store
  export { RedisStore as default }
  export type Options = RedisStoreOptions
  export type SessionData = Data
  export type Serializer = SessionSerializer
}
export = RedisStore
