'use strict'
// The example backend that `npm run demo` starts: a minimal Express app on 127.0.0.1.
// Later features (client, failover, breaker, rate limiting) extend it.
const express = require('express')
const bulwark = require('bulwark')

function createApp() {
  const app = express()
  const startedAt = Date.now()
  app.get('/health', (req, res) => {
    res.json({ status: 'ok', native: bulwark.nativeVersion(), uptimeMs: Date.now() - startedAt })
  })
  return app
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`)
    process.exit(1)
  }
  const server = createApp().listen(port, '127.0.0.1', () => {
    console.log(`bulwark example listening on http://127.0.0.1:${server.address().port}`)
  })
  const shutdown = () => server.close(() => process.exit(0))
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

module.exports = { createApp }
