// Typed usage of Redis.Cluster and Sentinel options from bulwark's ioredis drop-in.
import Redis = require('bulwark/ioredis')
import { Cluster } from 'bulwark/ioredis'

async function usage(): Promise<void> {
  const cluster = new Redis.Cluster([7000, '127.0.0.1:7001', { host: '127.0.0.1', port: 7002 }], {
    scaleReads: 'slave',
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    slotsRefreshTimeout: 1000,
    redisOptions: { password: 'secret', commandTimeout: 2000 },
    natMap: { '10.0.0.1:7000': { host: '127.0.0.1', port: 7000 } },
    lazyConnect: true,
    clusterRetryStrategy(times, reason) {
      const stop: boolean = this.startupNodes.length === 0 || reason instanceof Error
      return stop ? null : Math.min(times * 100, 2000)
    },
  })
  cluster.on('+node', (node: Redis) => node.options)
  cluster.on('node error', (err, address: string) => [err.code, address])
  cluster.on('refresh', () => undefined)
  cluster.on('+subscriber', () => undefined).on('subscribersReady', () => undefined)
  cluster.on('error', (err) => err.lastNodeError?.message)
  const same: Cluster = cluster
  const v: string | null = await same.get('k')
  const n: number = await cluster.incr('{user}:n')
  const res = await cluster.pipeline().set('{user}:a', '1').get('{user}:a').exec()
  const tx = await cluster.multi().incr('{user}:n').exec()
  const masters: Redis[] = cluster.nodes('master')
  cluster.refreshSlotsCache()
  cluster.scanStream({ match: 'user:*', count: 100 }).on('data', (keys: string[]) => keys.length)
  const copy: Cluster = cluster.duplicate()
  new Redis.Cluster(['redis.internal:7000'], {
    natMap: (address) => (address.startsWith('10.') ? { host: '127.0.0.1', port: Number(address.split(':')[1]) } : null),
    dnsLookup: (hostname, callback) => callback(null, hostname === 'redis.internal' ? '127.0.0.1' : hostname),
  })
  new Redis.Cluster([7000], { scaleReads: (nodes, command) => (command.name === 'get' ? nodes.slice(1) : nodes[0]) })
  // @ts-expect-error scaleReads takes 'master', 'slave', 'all' or a function
  new Redis.Cluster([7000], { scaleReads: 'replica' })
  // @ts-expect-error nodes() takes 'all', 'master' or 'slave'
  cluster.nodes('primary')
  const sentinel = new Redis({
    sentinels: [{ host: '127.0.0.1', port: 26379 }],
    name: 'mymaster',
    role: 'slave',
    sentinelPassword: 'x',
    preferredSlaves: [{ ip: '127.0.0.1', port: 6380, prio: 1 }],
    failoverDetector: true,
    sentinelCommandTimeout: 500,
    lazyConnect: true,
  })
  void [v, n, res, tx, masters, copy, sentinel]
  await cluster.quit()
}
void usage
