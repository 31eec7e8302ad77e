// The floor under every bulwark call: what one crossing into the native core costs,
// next to a plain JS call and to one ioredis round trip to a local redis-server.
import { createRequire } from 'node:module'
import IORedis from 'ioredis'
import { nsPerCall, load, printTable } from './harness.mjs'

const require = createRequire(import.meta.url)
const { nativeVersion } = require('bulwark')

export default async function nativeCall({ redis }) {
  const jsVersion = () => '0.1.0'
  const nativeNs = nsPerCall(nativeVersion)
  const jsNs = nsPerCall(jsVersion)

  const ioredis = new IORedis(redis.port, '127.0.0.1')
  const ping = await load(() => ioredis.ping(), { ops: 10_000, concurrency: 1 })
  await ioredis.quit()

  printTable('Cost of a native call (sync, returns a short string)', 'plain JS', [
    { case: 'call', unit: 'ns/call', bulwark: nativeNs, anchor: jsNs, higherIsBetter: false },
  ])
  printTable('The same call against one network round trip', 'ioredis PING', [
    { case: 'concurrency 1', unit: 'µs/call', bulwark: nativeNs / 1000, anchor: ping.p50Us, higherIsBetter: false },
  ])
}
