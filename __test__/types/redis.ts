// Typed usage of bulwark's ioredis drop-in.
import Redis = require('bulwark/ioredis')
import { Redis as MainRedis } from 'bulwark'

async function usage(): Promise<void> {
  const a = new Redis(6379, 'localhost', { lazyConnect: true, keyPrefix: 'x:' })
  const b = new MainRedis('redis://localhost:6379/0', { commandTimeout: 500 })
  const c = new Redis.Redis({ port: 6379, maxRetriesPerRequest: null })
  const mtls = new Redis('rediss://localhost:6380', { tls: { ca: Buffer.from('pem'), cert: ['pem'], key: 'pem', rejectUnauthorized: true } })
  // @ts-expect-error a passphrase-protected key is not a tls option bulwark takes
  new Redis({ tls: { key: 'pem', cert: 'pem', passphrase: 'x' } })
  mtls.disconnect()
  new Redis({ blockingTimeout: 30_000, blockingTimeoutGrace: 200, lazyConnect: true }).disconnect()
  const v: string | null = await a.get('k')
  const buf: Buffer | null = await a.getBuffer('k')
  const n: number = await a.incr('n')
  const h: Record<string, string> = await a.hgetall('h')
  const res = await a.pipeline().set('k', 'v').get('k').exec()
  const anyCmd: unknown = await b.call('PING')
  a.on('error', (err: Error) => console.error(err.message))
  const err: Error = new Redis.ReplyError('ERR x')
  c.disconnect()
  const batch = a.pipeline([['hgetBuffer', 'h', 'f'], ['call', 'GET', 'k']])
  const queued: number = batch.length
  const inline = await a.pipeline().multi().set('k', 'v').exec().exec()
  const monitor: Redis = await a.monitor()
  monitor.on('monitor', (time: string, args: string[]) => console.log(time, args))
  monitor.disconnect()
  const health = await a.health()
  const why: string | null = health.reason
  console.log(v, buf, n, h, res, anyCmd, err, a.status, queued, inline, why)
  await a.quit()
}
export { usage }
