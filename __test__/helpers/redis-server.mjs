// Real redis-server processes for tests and benchmarks: started on free loopback ports,
// stopped by pid, and broken on purpose (kill -9, SIGSTOP/SIGCONT, restart on the same
// port) to exercise failover. Never a mock.
import { spawn, spawnSync } from 'node:child_process'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const INSTALL_HINT =
  'redis-server was not found on PATH. Install it first: ' +
  '`sudo apt-get install -y redis-server` (Debian/Ubuntu), `brew install redis` (macOS); ' +
  '.ci/run does this automatically.'

const live = new Set()
// A test file that crashes must not leave servers behind.
process.on('exit', () => {
  for (const server of live) server.killNow()
})

/** Whether redis-server can be started on this machine. */
export function redisServerAvailable() {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return probe.status === 0
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Sends one inline command over a fresh socket and resolves with the raw reply text,
 * or rejects after `timeoutMs` (a paused server never answers). Used to probe a server
 * without depending on the client under test.
 */
export function rawCommand(port, line, { timeoutMs = 1000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    let data = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(Object.assign(new Error(`no reply to ${line} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))
    }, timeoutMs)
    socket.on('connect', () => socket.write(`${line}\r\n`))
    socket.on('data', (chunk) => {
      data += chunk
      if (data.endsWith('\r\n')) {
        clearTimeout(timer)
        socket.end()
        resolve(data.trimEnd())
      }
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

export class RedisServer {
  /** @param {{ port?: number, args?: string[], config?: string }} [opts] `config`: a config file read first (sentinels need one). */
  constructor({ port, args = [], config } = {}) {
    this.port = port
    this.args = args
    this.config = config
    this.process = null
  }

  get pid() {
    return this.process?.pid
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Starts the server (on a free port unless one was given) and waits until it answers PING. */
  async start() {
    if (!redisServerAvailable()) throw new Error(INSTALL_HINT)
    for (let attempt = 0; ; attempt++) {
      const port = this.port ?? (await freePort())
      try {
        await this.#spawn(port)
        this.port = port
        return this
      } catch (err) {
        // Another process may have taken the port between freePort() and bind.
        if (this.port !== undefined || attempt >= 4) throw err
      }
    }
  }

  async #spawn(port) {
    const child = spawn(
      'redis-server',
      [...(this.config ? [this.config] : []), '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout.on('data', (d) => (output = (output + d).slice(-4000)))
    child.stderr.on('data', (d) => (output = (output + d).slice(-4000)))
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    child.exited = exited
    this.process = child
    live.add(this)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const early = await Promise.race([exited, sleep(25)])
      if (early) {
        live.delete(this)
        throw new Error(`redis-server exited (${early.code ?? early.signal}) on port ${port}:\n${output}`)
      }
      try {
        // Serving once it answers anything but LOADING (-NOAUTH included, with
        // requirepass); INFO's process_id proves the answer came from OUR process, not
        // from another server already on the port.
        const reply = await rawCommand(port, 'INFO server', { timeoutMs: 500 })
        const pid = /process_id:(\d+)/.exec(reply)
        if (!reply.startsWith('-LOADING') && (pid === null ? reply.startsWith('-') : Number(pid[1]) === child.pid)) return
      } catch {
        // not listening yet
      }
    }
    this.killNow()
    throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${output}`)
  }

  /** kill -9: the server dies without closing connections cleanly. */
  async kill() {
    await this.#signalAndWait('SIGKILL')
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop() {
    if (!this.process) return
    // A paused server cannot act on SIGTERM.
    this.process.kill('SIGCONT')
    await this.#signalAndWait('SIGTERM')
  }

  /** SIGSTOP: the server hangs with its sockets open, like a frozen host. */
  pause() {
    this.process.kill('SIGSTOP')
  }

  /** SIGCONT after pause(). */
  resume() {
    this.process.kill('SIGCONT')
  }

  /** Starts a new process on the same port (after kill() or stop()). */
  async restart() {
    if (this.process) await this.stop()
    await this.start()
    return this
  }

  async #signalAndWait(signal) {
    const child = this.process
    if (!child) return
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await child.exited
    this.process = null
    live.delete(this)
  }

  killNow() {
    try {
      this.process?.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
}

/** Starts a redis-server and returns it; call `stop()` when done. */
export async function startRedis(opts) {
  return new RedisServer(opts).start()
}
