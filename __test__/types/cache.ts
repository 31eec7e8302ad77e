// Typed usage of Cache; compiled by `npm run typecheck`. Lines marked @ts-expect-error must stay errors.
import { Cache, Redis } from 'bulwark'
import type { CacheStats, CacheWrapOptions } from 'bulwark'

const cache = new Cache({
  client: new Redis('memory://types'),
  prefix: 'app:',
  ttl: '5m',
  l1: { maxEntries: 1000, maxBytes: '16mb' },
  grace: '1h',
  timeouts: { soft: 100, hard: '2s' },
  lock: { ttl: '10s', wait: 5000 },
  earlyRefresh: 1,
})
interface User {
  id: number
  name: string
}
async function use(): Promise<void> {
  const user: User = await cache.wrap('user:1', async () => ({ id: 1, name: 'a' }), { ttl: 60_000, tags: ['users'] })
  const same: User = await cache.getOrSet('user:1', ({ stale }) => stale ?? { id: 1, name: 'b' })
  const positional: number = await cache.wrap('n', () => 1, 30_000)
  const maybe: User | undefined = await cache.get<User>('user:1')
  const present: boolean = await cache.has('user:1')
  await cache.set('user:2', { id: 2, name: 'c' }, { ttl: '1m', tags: ['users'] })
  await cache.del('user:2')
  await cache.deleteByTag('users')
  await cache.clear()
  const stats: CacheStats = cache.stats()
  const l1Entries: number | undefined = stats.l1?.entries
  const opts: CacheWrapOptions = { lock: true, timeouts: { hard: null } }
  cache.on('stale', (key: string, err: Error | undefined) => void [key, err])
  cache.on('hit', (key: string, tier: 'l1' | 'l2') => void [key, tier])
  const mw = cache.middleware({ ttl: '10s', key: (req: { url: string }) => req.url })
  // @ts-expect-error keys are strings
  await cache.get(42)
  // @ts-expect-error the factory is required
  await cache.wrap('k')
  // @ts-expect-error a client is required
  new Cache({ ttl: 1 })
  void [user, same, positional, maybe, present, l1Entries, opts, mw]
  cache.close()
}
void use
