// `npm run demo` serves the example backend: start it as the script does and ask it.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { freePort } from './helpers/redis-server.mjs'

const server = fileURLToPath(new URL('../examples/server.js', import.meta.url))

test('the example backend answers /health on the PORT it is given', async (t) => {
  const port = await freePort()
  // No REDIS_URL: the embedded memory engine, as on a fresh machine.
  const env = { ...process.env, PORT: String(port) }
  delete env.REDIS_URL
  const child = spawn(process.execPath, [server], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => child.kill('SIGKILL'))
  const [line] = await once(child.stdout, 'data')
  assert.match(String(line), new RegExp(`listening on http://127.0.0.1:${port}`))

  const res = await fetch(`http://127.0.0.1:${port}/health`)
  assert.equal(res.status, 200)
  const body = await res.json()
  assert.equal(body.status, 'ok')
  assert.equal(body.native, JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version)
  assert.equal(body.redis.backend, 'memory')
  assert.equal(body.redis.status, 'healthy')

  for (const expected of [1, 2]) {
    const visit = await fetch(`http://127.0.0.1:${port}/visits`, { method: 'POST' })
    assert.deepEqual(await visit.json(), { visits: expected, backend: 'memory' })
    assert.match(visit.headers.get('ratelimit-policy'), /q=20; w=60/)
  }

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, 'SIGTERM closes the server and exits cleanly')
})

test('a bad PORT is refused with a clear message', async () => {
  const child = spawn(process.execPath, [server], { env: { ...process.env, PORT: 'abc' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const [code] = await once(child, 'exit')
  assert.equal(code, 1)
  assert.match(stderr, /PORT must be an integer/)
})
