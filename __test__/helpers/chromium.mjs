// A real headless Chromium driven over the DevTools protocol on a pipe
// (`--remote-debugging-pipe`: JSON messages ending in NUL on fds 3 and 4), so no
// WebSocket client and no browser download are needed. Debian: `apt-get install chromium`.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome']

/** The browser executable, or null when none is installed. */
export function findChromium() {
  for (const name of CANDIDATES) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim()
  }
  return null
}

export class Browser {
  /** Starts headless Chromium with a throwaway profile. */
  static launch(executable) {
    const profile = mkdtempSync(path.join(tmpdir(), 'bulwark-chromium-'))
    const child = spawn(
      executable,
      [
        '--headless',
        '--remote-debugging-pipe',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-default-browser-check',
        `--user-data-dir=${profile}`,
        'about:blank',
      ],
      // Its own process group, so close() ends the renderer and helper processes too
      // (they inherit the pipes and write into the profile).
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
    )
    return new Browser(child, profile)
  }

  constructor(child, profile) {
    this.child = child
    this.profile = profile
    this.nextId = 1
    this.waiting = new Map()
    this.stderr = ''
    this.exited = new Promise((resolve) => child.once('exit', resolve))
    child.stderr.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)))
    let buffered = ''
    child.stdio[4].on('data', (chunk) => {
      buffered += chunk
      let end
      while ((end = buffered.indexOf('\0')) !== -1) {
        const message = JSON.parse(buffered.slice(0, end))
        buffered = buffered.slice(end + 1)
        const pending = this.waiting.get(message.id)
        if (pending === undefined) continue
        this.waiting.delete(message.id)
        if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`))
        else pending.resolve(message.result)
      }
    })
    this.exited.then(() => {
      for (const pending of this.waiting.values()) pending.reject(new Error(`chromium exited:\n${this.stderr}`))
      this.waiting.clear()
    })
  }

  /** Sends one protocol command (to a page when `sessionId` is given). */
  send(method, params = {}, sessionId) {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method })
      this.child.stdio[3].write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`)
    })
  }

  /** Opens `url` in a new tab; returns a page handle with `evaluate(expression)`. */
  async open(url) {
    const { targetId } = await this.send('Target.createTarget', { url })
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true })
    return {
      evaluate: async (expression) => {
        const { result, exceptionDetails } = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId)
        if (exceptionDetails) throw new Error(`page: ${exceptionDetails.text} ${exceptionDetails.exception?.description ?? ''}`)
        return result.value
      },
    }
  }

  async close() {
    try {
      process.kill(-this.child.pid, 'SIGKILL')
    } catch {
      this.child.kill('SIGKILL')
    }
    await this.exited
    for (const stream of [this.child.stderr, this.child.stdio[3], this.child.stdio[4]]) stream.destroy()
    // A helper process may still be exiting: retry the removal a few times.
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 })
  }
}
