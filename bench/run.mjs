// `npm run bench [-- name…]`: starts its own redis-server, runs every bench/*.bench.mjs
// (or those whose file name contains one of the given names) and prints their tables.
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'
import os from 'node:os'
import { startRedis } from '../__test__/helpers/redis-server.mjs'

const dir = path.dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort()

console.log(`bulwark benchmarks: node ${process.version}, ${os.cpus().length} cpu(s), ${os.cpus()[0]?.model ?? ''}`)
console.log('Each figure is the median of several timed runs in this process; run it a few times and quote medians.')
const redis = await startRedis()
try {
  for (const file of files) {
    const bench = await import(pathToFileURL(path.join(dir, file)).href)
    await bench.default({ redis })
  }
} finally {
  await redis.stop()
}
