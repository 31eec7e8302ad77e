// A process that creates breakers (timers of every kind) and shuts them down must exit
// on its own and leave no timer behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'

const script = `
const CircuitBreaker = require('bulwark/opossum')
const { EventEmitter } = require('node:events')
async function main() {
  const breakers = []
  for (let i = 0; i < 50; i++) {
    const b = new CircuitBreaker(async (x) => x, { allowWarmUp: true, resetTimeout: 60000 })
    b.status.on('snapshot', () => {})
    b.healthCheck(async () => {}, 1000)
    await b.fire(i)
    breakers.push(b)
  }
  breakers[0].open()
  const controller = new EventEmitter()
  breakers.push(new CircuitBreaker(async () => 1, { rotateBucketController: controller }))
  for (const b of breakers) b.shutdown()
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout')
  process.stdout.write(JSON.stringify({ timers: timers.length, rotateListeners: controller.listenerCount('rotate') }))
}
main()
`

test('shutdown leaves no timers and the process exits by itself', async () => {
  const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])))
  clearTimeout(killer)
  assert.equal(signal, null, 'the child had to be killed: something kept it alive. ' + err)
  assert.equal(code, 0, err)
  assert.deepEqual(JSON.parse(out), { timers: 0, rotateListeners: 0 })
})

test('idle breakers that are never shut down do not keep the process alive', async () => {
  const child = spawn(
    process.execPath,
    ['-e', "const C = require('bulwark/opossum'); const b = new C(async () => 1); b.open(); b.healthCheck(async () => {}, 1000); b.status.on('snapshot', () => {})"],
    { stdio: 'ignore' },
  )
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])))
  clearTimeout(killer)
  assert.equal(signal, null)
  assert.equal(code, 0)
})
