/** Not implemented yet: constructing it throws `ERR_BULWARK_NOT_IMPLEMENTED`. */
declare class RedisStore {
  constructor(...args: never[])
}
export = RedisStore
