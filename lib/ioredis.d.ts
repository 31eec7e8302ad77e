/** Not implemented yet: constructing it throws `ERR_BULWARK_NOT_IMPLEMENTED`. */
declare class Redis {
  constructor(...args: never[])
}
export = Redis
