// Type-level usage of the public entry points; `npm run typecheck` compiles it with
// `tsc --noEmit`, so a declaration that drifts from what we export fails the tests.
import { nativeVersion } from 'bulwark'
import Redis = require('bulwark/ioredis')
import CircuitBreaker = require('bulwark/opossum')
import RedisStore = require('bulwark/rate-limit-redis')
import SessionStore = require('bulwark/connect-redis')

const version: string = nativeVersion()
const placeholders: unknown[] = [Redis, CircuitBreaker, RedisStore, SessionStore]
export { version, placeholders }
