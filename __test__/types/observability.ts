// Type-level usage of metrics, health, the status page and the registry.
import { metrics, health, healthHandler, dashboard, registry, Redis } from 'bulwark'
import type { HealthReport, RegistryEntry } from 'bulwark'
import { Registry } from 'prom-client'
import { createServer } from 'node:http'

const text: string = metrics.text({ prefix: 'bulwark_' })
const promRegistry: Registry = metrics.register(new Registry())
const type: string = metrics.contentType

async function probe(): Promise<'pass' | 'warn' | 'fail'> {
  const report: HealthReport = await health({ requireRedis: false })
  return report.status
}

const live = healthHandler()
const ready = healthHandler({ readiness: { requireRedis: true } })
const page = dashboard({ auth: (req) => req.headers['x-admin'] === 'yes', pollIntervalMs: 2000 })
createServer((req, res) => (req.url === '/health' ? live(req, res) : page(req, res)))

const cache = {}
const entry: RegistryEntry = registry.add('cache', cache, 'users')
entry.count('hit', 'l1')
const hits: number = entry.value('hit', 'l1')
registry.remove(entry)

const quiet = new Redis('memory://types', { metrics: false })

export { text, promRegistry, type, probe, ready, hits, quiet }
