// Redis Cluster: GET/SET throughput at concurrency 16 and 256 against one real 3+3
// cluster, bulwark's Cluster vs ioredis's Cluster (default, then enableAutoPipelining);
// and the time from a primary's kill -9 to the first successful write on its slots.
import IORedis from 'ioredis'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { startCluster } from '../__test__/helpers/redis-cluster.mjs'
import { load, printTable, median } from './harness.mjs'

const require = createRequire(import.meta.url)
const { Cluster } = require('../lib/ioredis.js')

async function throughput(cluster) {
  const ops = Number(process.env.BENCH_OPS || 20000)
  const repeats = Number(process.env.BENCH_REPEATS || 3)
  const clients = {
    bulwark: new Cluster(cluster.startupNodes),
    ioredis: new IORedis.Cluster(cluster.startupNodes),
    'ioredis autopipelining': new IORedis.Cluster(cluster.startupNodes, { enableAutoPipelining: true }),
  }
  for (const c of Object.values(clients)) {
    c.on('error', () => {})
    await c.set('warm', '1')
  }
  const results = {}
  for (const concurrency of [16, 256]) {
    for (const [name, make] of [
      ['GET', (c) => (i) => c.get(`k${i & 1023}`)],
      ['SET', (c) => (i) => c.set(`k${i & 1023}`, 'value-0123456789')],
    ]) {
      for (const [client, c] of Object.entries(clients)) {
        results[`${name} c=${concurrency} ${client}`] = await load(make(c), { ops, concurrency, repeats })
      }
    }
  }
  for (const anchor of ['ioredis', 'ioredis autopipelining']) {
    const rows = []
    for (const concurrency of [16, 256]) {
      for (const name of ['GET', 'SET']) {
        const a = results[`${name} c=${concurrency} bulwark`]
        const b = results[`${name} c=${concurrency} ${anchor}`]
        rows.push({ case: `${name} c=${concurrency}`, unit: 'ops/s', bulwark: a.opsPerSec, anchor: b.opsPerSec, higherIsBetter: true })
        rows.push({ case: `${name} c=${concurrency}`, unit: 'p99 µs', bulwark: a.p99Us, anchor: b.p99Us, higherIsBetter: false })
      }
    }
    printTable(`Redis Cluster (3 primaries + 3 replicas), bulwark vs ${anchor} Cluster`, anchor, rows)
  }
  for (const c of Object.values(clients)) c.disconnect()
}

/** ms from kill -9 of the primary serving `key` to the first successful SET of `key` started after the kill. */
async function killToFirstWrite(cluster, client, key) {
  client.on('error', () => {})
  await client.set(key, '0')
  let killedAt = Infinity
  let firstOk = null
  let failed = 0
  let running = true
  const loop = (async () => {
    for (let i = 1; running; i++) {
      const started = performance.now()
      try {
        await client.set(key, String(i))
        if (started >= killedAt && firstOk === null) firstOk = performance.now()
      } catch {
        if (started >= killedAt) failed++
        await sleep(5)
      }
    }
  })()
  await sleep(300)
  const owner = cluster.masterOfSlot(cluster.slotOf(key))
  killedAt = performance.now()
  await owner.kill()
  const deadline = Date.now() + 30_000
  while (firstOk === null && Date.now() < deadline) await sleep(10)
  running = false
  await loop
  client.disconnect()
  await cluster.restart(owner)
  return { ms: firstOk === null ? NaN : firstOk - killedAt, failed }
}

export default async function run() {
  const cluster = await startCluster()
  try {
    await throughput(cluster)
    const rows = []
    const runs = Number(process.env.BENCH_FAILOVERS || 1)
    const ours = []
    const theirs = []
    for (let r = 0; r < runs; r++) {
      ours.push(await killToFirstWrite(cluster, new Cluster(cluster.startupNodes), `failover:${r}`))
      theirs.push(await killToFirstWrite(cluster, new IORedis.Cluster(cluster.startupNodes), `failover:${r}`))
    }
    rows.push({ case: 'kill -9 → first write', unit: 'ms', bulwark: median(ours.map((x) => x.ms)), anchor: median(theirs.map((x) => x.ms)), higherIsBetter: false })
    rows.push({ case: 'failed SETs meanwhile', unit: 'calls', bulwark: median(ours.map((x) => x.failed)) || 0.001, anchor: median(theirs.map((x) => x.failed)) || 0.001, higherIsBetter: false })
    printTable('Redis Cluster failover (cluster-node-timeout 1000 ms), one writer', 'ioredis', rows)
  } finally {
    await cluster.stop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run()
