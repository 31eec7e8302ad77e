// Typed usage of the circuit breaker as opossum users write it; compiled by
// `npm run typecheck`. Lines marked @ts-expect-error must stay errors.
import CircuitBreaker = require('bulwark/opossum')
import Status = require('bulwark/opossum/lib/status')
import MemoryCache = require('bulwark/opossum/lib/cache')
import semaphore = require('bulwark/opossum/lib/semaphore')
import { CircuitBreaker as Named } from 'bulwark'
import { EventEmitter } from 'node:events'

async function fetchUser(id: number, verbose?: boolean): Promise<{ id: number; name: string }> {
  return { id, name: verbose ? 'long' : 'x' }
}

const options: CircuitBreaker.Options<[number, boolean?]> = {
  timeout: 3000,
  errorThresholdPercentage: 50,
  resetTimeout: 30000,
  errorFilter: (err, id) => err.statusCode === 404 && id > 0,
  cache: true,
  cacheGetKey: (id) => `user:${id}`,
  coalesce: true,
  coalesceResetOn: ['error', 'timeout'],
  autoRenewAbortController: true,
  rotateBucketController: new EventEmitter(),
  halfOpenTrials: 3,
  halfOpenSuccessThreshold: 2,
  windowType: 'count',
  windowSize: 50,
}
const breaker = new CircuitBreaker(fetchUser, options)
const noTimeout = new Named(async () => 1, { timeout: false })

async function use(): Promise<string> {
  const user = await breaker.fire(1, true)
  const called = await breaker.call({ tag: 'ctx' }, 2)
  breaker.fallback((id, err) => ({ id, name: String(err) }))
  breaker.fallback(noTimeout)
  breaker.on('success', (result, latency: number) => void [result, latency])
  breaker.on('failure', (err, latency: number, args) => void [err, latency, args[0] + 1])
  breaker.on('timeout', (err, latency, args) => void [err.code, latency, args])
  breaker.on('halfOpen', (resetTimeout: number) => void resetTimeout)
  breaker.on('coalesceCacheHit', () => undefined)
  breaker.on('custom-event', (...anything: unknown[]) => void anything)
  breaker.status.on('snapshot', (stats) => void stats.latencyMean)
  breaker.healthCheck(async function () {
    return this.name
  }, 1000)
  const stats: CircuitBreaker.Stats = breaker.stats
  const p99: number = stats.percentiles[0.99]
  const json = breaker.toJSON()
  const lastTimerAt: number = json.state.lastTimerAt
  const restored = new CircuitBreaker(fetchUser, { state: json.state, status: json.status })
  const signal: AbortSignal | undefined = breaker.getSignal()
  const flags: boolean[] = [breaker.opened, breaker.closed, breaker.halfOpen, breaker.pendingClose, breaker.isShutdown, breaker.warmUp, breaker.enabled]
  const count: number = breaker.semaphore.count
  const timeout: number | false = breaker.options.timeout
  const ours: boolean = CircuitBreaker.isOurError(new Error('x'))
  const status: Status = CircuitBreaker.newStatus({ rollingCountBuckets: 5 })
  const shared = new CircuitBreaker(fetchUser, { status })
  const cache = new MemoryCache(10)
  cache.set('k', 1, 0)
  const sem = semaphore(2)
  const ok: boolean = sem.test()
  // @ts-expect-error wrong argument type for the action
  breaker.fire('one')
  // @ts-expect-error not an option value
  new CircuitBreaker(fetchUser, { windowType: 'calls' })
  restored.shutdown()
  shared.shutdown()
  return [user.name, called.id, p99, lastTimerAt, signal, flags, count, timeout, ours, ok].join()
}

export { use }

// Shared state across processes (stateStore) through a bulwark Redis client.
import { Redis, RedisBreakerStateStore } from 'bulwark'
const sharedRedis = new Redis('redis://127.0.0.1:6379')
const redisStore = new RedisBreakerStateStore(sharedRedis, { prefix: 'app:breaker:', onError: (err) => console.warn(err) })
const sharedBreaker = new CircuitBreaker(fetchUser, { name: 'users', resetTimeout: 30000, stateStore: redisStore })
sharedBreaker.on('remoteTransition', (t) => {
  const state: 'open' | 'closed' = t.state
  const at: number = t.at
  const by: string = t.by
  const seq: number = t.seq
  void [state, at, by, seq]
})
const sameClass: typeof RedisBreakerStateStore = CircuitBreaker.RedisBreakerStateStore
void sameClass
const customStore: CircuitBreaker.BreakerStateStore = {
  load: async (_name) => null,
  publish: async (_name, t, resetTimeout) => (t.state === 'open' ? resetTimeout : 0),
  subscribe: (_name, onTransition) => {
    onTransition({ state: 'open', at: Date.now(), by: 'peer', seq: 1 })
    return () => {}
  },
  onError: (err) => console.error(err),
}
new CircuitBreaker(fetchUser, { stateStore: customStore }).shutdown()
const loaded: Promise<CircuitBreaker.StoredTransition | null> = redisStore.load('users')
void loaded
// @ts-expect-error a stateStore needs load/publish/subscribe
new CircuitBreaker(fetchUser, { stateStore: { load: async () => null } })
// @ts-expect-error prefix is a string
new RedisBreakerStateStore(sharedRedis, { prefix: 5 })
