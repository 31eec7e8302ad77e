// Failover: (1) the memory backend through the async API vs ioredis-mock, GET and SET at
// concurrency 1 and 64; (2) the worst call latency and failed calls while a redis-server
// is killed (-9) or hung (SIGSTOP) for 2 s under load, bulwark vs ioredis (defaults).
import IORedis from 'ioredis'
import RedisMock from 'ioredis-mock'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from '../lib/index.js'
import { startRedis } from '../__test__/helpers/redis-server.mjs'
import { load, printTable } from './harness.mjs'

const OUTAGE_MS = 2000

async function memoryVsMock() {
  const bulwark = new Redis('memory://bench')
  const mock = new RedisMock()
  const ops = Number(process.env.BENCH_OPS || 50000)
  const rows = []
  for (const concurrency of [1, 64]) {
    for (const [name, make] of [
      ['GET', (c) => (i) => c.get(`k${i & 1023}`)],
      ['SET', (c) => (i) => c.set(`k${i & 1023}`, 'value-0123456789')],
    ]) {
      const a = await load(make(bulwark), { ops, concurrency })
      const b = await load(make(mock), { ops, concurrency })
      rows.push({ case: `${name} c=${concurrency}`, unit: 'ops/s', bulwark: a.opsPerSec, anchor: b.opsPerSec, higherIsBetter: true })
      rows.push({ case: `${name} c=${concurrency}`, unit: 'p99 µs', bulwark: a.p99Us, anchor: b.p99Us, higherIsBetter: false })
    }
  }
  printTable('Memory backend (memory://) vs ioredis-mock, async API', 'ioredis-mock', rows)
  await bulwark.quit()
}

/** Load at concurrency 64 across a 2 s outage of the given kind; worst call and failures. */
async function acrossOutage(kind, makeClient) {
  const server = await startRedis()
  const client = makeClient(server)
  client.on('error', () => {})
  await client.ping()
  let worst = 0
  let ok = 0
  let failed = 0
  let running = true
  const loops = Array.from({ length: 64 }, async (_, w) => {
    for (let i = 0; running; i++) {
      const started = performance.now()
      try {
        await (i % 2 ? client.incr(`n:${w}`) : client.get(`n:${w}`))
        ok++
      } catch {
        failed++
      }
      worst = Math.max(worst, performance.now() - started)
    }
  })
  await sleep(500)
  if (kind === 'kill -9') {
    await server.kill()
    await sleep(OUTAGE_MS)
    await server.restart()
  } else {
    server.pause()
    await sleep(OUTAGE_MS)
    server.resume()
  }
  await sleep(2000)
  running = false
  await Promise.all(loops)
  client.disconnect()
  await server.stop()
  return { worst, ok, failed }
}

async function switchOver() {
  const rows = []
  const failures = []
  for (const kind of ['kill -9', 'SIGSTOP']) {
    const a = await acrossOutage(kind, (s) => new Redis(s.port, '127.0.0.1'))
    const b = await acrossOutage(kind, (s) => new IORedis(s.port, '127.0.0.1'))
    rows.push({ case: `${kind}, ${OUTAGE_MS} ms outage, c=64: worst call`, unit: 'ms', bulwark: a.worst, anchor: b.worst, higherIsBetter: false })
    rows.push({ case: `${kind}, ${OUTAGE_MS} ms outage, c=64: calls done`, unit: 'calls', bulwark: a.ok, anchor: b.ok, higherIsBetter: true })
    failures.push(`${kind}: failed calls bulwark ${a.failed}, ioredis ${b.failed}`)
  }
  printTable('Switch-over under load: bulwark (fallback to memory) vs ioredis (defaults)', 'ioredis', rows)
  for (const line of failures) console.log(line)
}

export default async function () {
  await memoryVsMock()
  await switchOver()
}
