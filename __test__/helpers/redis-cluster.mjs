// A real Redis Cluster for tests and benchmarks: 3 primaries + 3 replicas on free loopback
// ports, created with `redis-cli --cluster create`, each node a RedisServer (kill -9,
// SIGSTOP/SIGCONT, restart on the same port by pid). Never a mock.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RedisServer, freePort, rawCommand } from './redis-server.mjs'

/** Polls `check` (async, truthy = done) every 50 ms until `budgetMs`; throws `what` on timeout. */
export async function until(check, what, budgetMs = 15_000) {
  const deadline = Date.now() + budgetMs
  for (;;) {
    try {
      if (await check()) return
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Runs redis-cli against a port and returns its stdout (throws on failure). */
export function cli(port, ...args) {
  const out = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 })
  if (out.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${out.stderr || out.stdout}`)
  return out.stdout.trim()
}

/** One line of CLUSTER NODES, parsed. */
function parseNodes(text) {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, addr, flags, master, , , , link, ...slots] = line.split(' ')
      const port = Number(addr.split('@')[0].split(':').pop())
      return { id, port, flags: flags.split(','), master: master === '-' ? null : master, link, slots }
    })
}

export class RedisCluster {
  /** @param {{ primaries?: number, replicas?: number, nodeTimeout?: number }} [opts] */
  constructor({ primaries = 3, replicas = 1, nodeTimeout = 1000 } = {}) {
    this.primaries = primaries
    this.replicasPerPrimary = replicas
    this.nodeTimeout = nodeTimeout
    this.dir = null
    /** @type {RedisServer[]} */
    this.servers = []
  }

  get ports() {
    return this.servers.map((s) => s.port)
  }

  /** Startup nodes as ioredis takes them. */
  get startupNodes() {
    return this.servers.map((s) => ({ host: '127.0.0.1', port: s.port }))
  }

  /** Starts every node, creates the cluster and waits until every node says cluster_state:ok. */
  async start() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'bulwark-cluster-'))
    const count = this.primaries * (1 + this.replicasPerPrimary)
    for (let i = 0; i < count; i++) {
      // Cluster bus port = port + 10000: pick ports whose bus port is below 65536.
      let port
      do port = await freePort()
      while (port > 55_000)
      const dir = path.join(this.dir, String(i))
      spawnSync('mkdir', ['-p', dir])
      const server = new RedisServer({
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(this.nodeTimeout), '--repl-diskless-sync-delay', '0', '--dir', dir],
      })
      await server.start()
      this.servers.push(server)
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(this.replicasPerPrimary), '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (create.status !== 0) {
      await this.stop()
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`)
    }
    await this.waitHealthy()
    return this
  }

  /** Waits until every live node reports cluster_state:ok and every replica is in sync. */
  async waitHealthy(budgetMs = 20_000) {
    await until(async () => {
      for (const s of this.servers) {
        if (!s.process) continue
        const info = await rawCommand(s.port, 'CLUSTER INFO', { timeoutMs: 500 })
        if (!info.includes('cluster_state:ok')) return false
      }
      // Every live node is a primary with slots or a replica in sync, and every node
      // sees each replica (CLUSTER SLOTS lists replicas only once gossip has spread).
      const nodes = this.nodes()
      for (const s of this.servers) {
        if (!s.process) continue
        const repl = await rawCommand(s.port, 'INFO replication', { timeoutMs: 500 })
        if (repl.includes('role:slave') ? !repl.includes('master_link_status:up') : !(nodes.find((n) => n.port === s.port)?.slots.length > 0)) return false
      }
      const replicas = nodes.filter((n) => n.flags.includes('slave') && !n.flags.includes('fail')).length
      for (const s of this.servers) {
        if (!s.process) continue
        const seen = parseNodes(cli(s.port, 'cluster', 'nodes')).filter((n) => n.flags.includes('slave') && !n.flags.includes('fail')).length
        if (seen !== replicas) return false
      }
      return true
    }, 'the cluster to be healthy', budgetMs)
  }

  /** CLUSTER NODES as seen by a live node. */
  nodes() {
    const live = this.servers.find((s) => s.process)
    return parseNodes(cli(live.port, 'cluster', 'nodes'))
  }

  server(port) {
    return this.servers.find((s) => s.port === port)
  }

  /** The RedisServers currently primaries (with slots), per CLUSTER NODES. */
  masters() {
    return this.nodes()
      .filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.length > 0)
      .map((n) => this.server(n.port))
  }

  /** The RedisServers currently replicas. */
  replicas() {
    return this.nodes()
      .filter((n) => n.flags.includes('slave') && !n.flags.includes('fail'))
      .map((n) => this.server(n.port))
  }

  /** The primary serving `slot`. */
  masterOfSlot(slot) {
    for (const n of this.nodes()) {
      if (!n.flags.includes('master') || n.flags.includes('fail')) continue
      for (const range of n.slots) {
        if (range.startsWith('[')) continue
        const [from, to = from] = range.split('-').map(Number)
        if (slot >= from && slot <= to) return this.server(n.port)
      }
    }
    return null
  }

  /** The replica of the primary on `port`. */
  replicaOf(port) {
    const nodes = this.nodes()
    const master = nodes.find((n) => n.port === port)
    const replica = nodes.find((n) => n.master === master.id && !n.flags.includes('fail'))
    return replica ? this.server(replica.port) : null
  }

  /** Slot of a key, as the server computes it. */
  slotOf(key) {
    const live = this.servers.find((s) => s.process)
    return Number(cli(live.port, 'cluster', 'keyslot', key))
  }

  /**
   * kill -9 of the primary serving `slot` and wait until its replica is promoted and the
   * cluster is ok again. Returns { killed, promoted }.
   */
  async failSlotMaster(slot, { wait = true } = {}) {
    const killed = this.masterOfSlot(slot)
    const promoted = this.replicaOf(killed.port)
    await killed.kill()
    if (wait) {
      await until(async () => (await rawCommand(promoted.port, 'ROLE', { timeoutMs: 500 })).includes('master'), 'the replica to be promoted')
      await until(async () => (await rawCommand(promoted.port, 'CLUSTER INFO', { timeoutMs: 500 })).includes('cluster_state:ok'), 'cluster_state:ok after failover')
    }
    return { killed, promoted }
  }

  /** Restarts a killed node (it rejoins as a replica) and waits for the cluster to be healthy. */
  async restart(server) {
    await server.start()
    await this.waitHealthy()
  }

  /** Stops every node and removes the data directory. */
  async stop() {
    await Promise.all(this.servers.map((s) => s.stop().catch(() => {})))
    this.servers = []
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
    this.dir = null
  }
}

/** Starts a 3-primary + 3-replica cluster; call `stop()` when done. */
export async function startCluster(opts) {
  return new RedisCluster(opts).start()
}
