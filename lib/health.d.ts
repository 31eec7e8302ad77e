import type { IncomingMessage, ServerResponse } from 'node:http'

export type HealthStatus = 'pass' | 'warn' | 'fail'

/** One entry of `checks` (draft-inadarei-api-health-check-06). */
export interface HealthCheck {
  componentId: string
  componentType?: 'component' | 'datastore' | 'system'
  observedValue?: unknown
  observedUnit?: string
  status: HealthStatus
  time?: string
  output?: string
}

/** The `application/health+json` body. */
export interface HealthReport {
  status: HealthStatus
  serviceId: string
  output?: string
  checks: Record<string, HealthCheck[]>
}

/** Health of every registered client, breaker, limiter, cache and session store. Never rejects. */
export function health(options?: { requireRedis?: boolean }): Promise<HealthReport>

/** Express/http handler: 200 for pass and warn, 503 for fail. */
export function healthHandler(options?: { readiness?: { requireRedis?: boolean } }): (req: IncomingMessage, res: ServerResponse) => void
