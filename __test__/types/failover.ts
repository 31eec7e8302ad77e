// Typed usage of failover, memory:// and health().
import { Redis } from 'bulwark'
import type { RedisHealth } from 'bulwark'

async function usage(): Promise<void> {
  const dev = new Redis('memory://')
  const prod = new Redis(process.env.REDIS_URL ?? 'redis://localhost:6379', {
    fallback: 'memory',
    fallbackTimeout: 250,
    recovery: 'replay',
    memory: { maxKeys: 100_000, maxMemoryBytes: 64 * 1024 * 1024 },
  })
  const strict = new Redis({ fallback: false, lazyConnect: true })
  prod.on('fallback', (err) => console.warn('serving from memory:', err.code, err.message))
  prod.on('recover', () => console.info('back on Redis'))
  const backend: 'redis' | 'memory' = prod.backend
  const h: RedisHealth = await prod.health()
  const status: 'healthy' | 'degraded' = h.status
  const latency: number | null = h.latencyMs
  const evictions: number = h.memory.evictions
  const replayed: number = h.counters.replayedKeys
  console.log(backend, status, latency, evictions, replayed, await dev.get('k'))
  strict.disconnect()
  await dev.quit()
  await prod.quit()
}
export { usage }
