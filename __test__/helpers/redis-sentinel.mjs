// A real Sentinel deployment for tests: one primary, one replica and three sentinels
// (`redis-server <conf> --sentinel`) on free loopback ports; kill -9 / SIGSTOP by pid.
// Never a mock.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { RedisServer, freePort, rawCommand } from './redis-server.mjs'
import { cli, until } from './redis-cluster.mjs'

export class RedisSentinels {
  /** @param {{ name?: string, downAfterMs?: number, failoverTimeoutMs?: number }} [opts] */
  constructor({ name = 'mymaster', downAfterMs = 1000, failoverTimeoutMs = 3000 } = {}) {
    this.name = name
    this.downAfterMs = downAfterMs
    this.failoverTimeoutMs = failoverTimeoutMs
    this.dir = null
    /** @type {RedisServer[]} the data nodes: [initial primary, initial replica] */
    this.servers = []
    /** @type {RedisServer[]} */
    this.sentinels = []
  }

  /** Sentinel addresses as ioredis's `sentinels` option takes them. */
  get addresses() {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }))
  }

  async start() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'bulwark-sentinel-'))
    const primary = await new RedisServer({ args: ['--repl-diskless-sync-delay', '0', '--dir', this.dir] }).start()
    const replica = await new RedisServer({ args: ['--repl-diskless-sync-delay', '0', '--dir', this.dir, '--replicaof', '127.0.0.1', String(primary.port)] }).start()
    this.servers.push(primary, replica)
    await until(async () => (await rawCommand(replica.port, 'INFO replication')).includes('master_link_status:up'), 'the replica to sync')
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const conf = path.join(this.dir, `sentinel-${port}.conf`)
      // Sentinel rewrites its config file: each sentinel gets its own writable one.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${this.dir}`,
          `sentinel monitor ${this.name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${this.name} ${this.downAfterMs}`,
          `sentinel failover-timeout ${this.name} ${this.failoverTimeoutMs}`,
          `sentinel parallel-syncs ${this.name} 1`,
          '',
        ].join('\n'),
      )
      this.sentinels.push(await new RedisServer({ port, config: conf, args: ['--sentinel'] }).start())
    }
    await until(() => cli(this.sentinels[0].port, 'sentinel', 'ckquorum', this.name).startsWith('OK 3'), 'the sentinels to reach quorum', 20_000)
    return this
  }

  /** The port the sentinels name as primary now. */
  masterPort() {
    const out = cli(this.sentinels[0].port, 'sentinel', 'get-master-addr-by-name', this.name).split('\n')
    return Number(out[1])
  }

  /** The RedisServer that is primary now (per the sentinels). */
  master() {
    return this.servers.find((s) => s.port === this.masterPort())
  }

  /** The RedisServer that is not the primary. */
  replica() {
    return this.servers.find((s) => s.port !== this.masterPort())
  }

  /** SENTINEL FAILOVER and wait until the sentinels name the other node. */
  async failover() {
    const before = this.masterPort()
    cli(this.sentinels[0].port, 'sentinel', 'failover', this.name)
    await until(() => this.masterPort() !== before, '+switch-master after SENTINEL FAILOVER', 20_000)
  }

  /** kill -9 of the primary; waits until the sentinels promote the replica when `wait`. */
  async killMaster({ wait = true } = {}) {
    const before = this.master()
    await before.kill()
    if (wait) await until(() => this.masterPort() !== before.port, '+switch-master after kill -9', 20_000)
    return before
  }

  /** Restarts a killed data node; it rejoins as a replica once the sentinels convert it. */
  async restartAsReplica(server) {
    await server.start()
    await until(async () => (await rawCommand(server.port, 'ROLE')).includes('slave'), 'the old primary to become a replica', 30_000)
  }

  async stop() {
    await Promise.all([...this.sentinels, ...this.servers].map((s) => s.stop().catch(() => {})))
    this.sentinels = []
    this.servers = []
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
    this.dir = null
  }
}

/** Starts primary + replica + 3 sentinels; call `stop()` when done. */
export async function startSentinels(opts) {
  return new RedisSentinels(opts).start()
}
