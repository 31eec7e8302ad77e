/** Not implemented yet: constructing it throws `ERR_BULWARK_NOT_IMPLEMENTED`. */
declare class CircuitBreaker {
  constructor(...args: never[])
}
export = CircuitBreaker
