import type { IncomingMessage, ServerResponse } from 'node:http'

export interface DashboardOptions {
  /** Who may see the page (default: loopback clients only). */
  auth?: (req: IncomingMessage) => boolean | Promise<boolean>
  /** How often the page polls `api/status` (default 5000, at least 500). */
  pollIntervalMs?: number
}

/** An Express/http handler serving the status page and `api/status`; mount it with `app.use(path, …)`. */
export function dashboard(options?: DashboardOptions): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void
