// Type-level usage of the public entry points; `npm run typecheck` compiles it with
// `tsc --noEmit`, so a declaration that drifts from what we export fails the tests.
import { nativeVersion } from 'bulwark'
// Redis and CircuitBreaker have their own usage files (redis.ts, breaker.ts).
import RedisStore = require('bulwark/rate-limit-redis')
import SessionStore = require('bulwark/connect-redis')

const version: string = nativeVersion()
// Not implemented yet: the entry points resolve and type-check.
const notYetImplemented: unknown[] = [RedisStore, SessionStore]
export { version, notYetImplemented }
