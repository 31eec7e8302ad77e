// The redis-server helpers that every failover test stands on: they must really start,
// kill, pause, resume and restart a server, and stop it by pid.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { startRedis, rawCommand, freePort, RedisServer } from './helpers/redis-server.mjs'

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('starts on a free loopback port and stops by pid', async () => {
  const server = await startRedis()
  const { pid, port } = server
  assert.ok(port > 0 && port < 65536)
  assert.equal(server.url, `redis://127.0.0.1:${port}`)
  assert.equal(await rawCommand(port, 'PING'), '+PONG')
  await server.stop()
  assert.equal(alive(pid), false)
  await assert.rejects(rawCommand(port, 'PING'), { code: 'ECONNREFUSED' })
})

test('kill -9, then restart on the same port with an empty dataset', async () => {
  const server = await startRedis()
  try {
    const port = server.port
    assert.equal(await rawCommand(port, 'SET k v'), '+OK')
    const pid = server.pid
    await server.kill()
    assert.equal(alive(pid), false)
    await assert.rejects(rawCommand(port, 'PING'), { code: 'ECONNREFUSED' })
    await server.restart()
    assert.equal(server.port, port)
    assert.notEqual(server.pid, pid)
    assert.equal(await rawCommand(port, 'GET k'), '$-1')
  } finally {
    await server.stop()
  }
})

test('pause hangs the server (no reply), resume brings it back', async () => {
  const server = await startRedis()
  try {
    server.pause()
    await assert.rejects(rawCommand(server.port, 'PING', { timeoutMs: 300 }), { code: 'ETIMEDOUT' })
    server.resume()
    assert.equal(await rawCommand(server.port, 'PING'), '+PONG')
  } finally {
    await server.stop()
  }
})

test('stop() works on a paused server', async () => {
  const server = await startRedis()
  const pid = server.pid
  server.pause()
  await server.stop()
  assert.equal(alive(pid), false)
})

test('extra server arguments are passed through', async () => {
  const server = await startRedis({ args: ['--requirepass', 'sekret'] })
  try {
    assert.match(await rawCommand(server.port, 'PING'), /^-NOAUTH/)
  } finally {
    await server.stop()
  }
})

test('a port already in use is reported, not hidden', async () => {
  const first = await startRedis()
  try {
    const clash = new RedisServer({ port: first.port })
    await assert.rejects(clash.start(), /redis-server exited|did not answer/)
  } finally {
    await first.stop()
  }
})

test('freePort gives a usable port', async () => {
  const port = await freePort()
  assert.ok(Number.isInteger(port) && port > 0)
})

test('without redis-server on PATH, starting fails with how to install it', () => {
  const helper = new URL('./helpers/redis-server.mjs', import.meta.url).href
  const script = `import(${JSON.stringify(helper)}).then((m) => m.startRedis()).then(
    () => process.exit(0),
    (err) => { console.log(err.message); process.exit(3) })`
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } })
  assert.equal(run.status, 3, run.stderr)
  assert.match(run.stdout, /redis-server was not found on PATH/)
  assert.match(run.stdout, /apt-get install -y redis-server/)
})
