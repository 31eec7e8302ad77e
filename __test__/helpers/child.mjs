// A child Node process for what only a process can show (that nothing keeps it alive).
import { spawn } from 'node:child_process'
import { once } from 'node:events'

/** Runs `code` in a child Node (killed after 10 s); resolves { exitCode, signal, out }. */
export async function runChild(code, env = process.env) {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], env })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000)
  const [exitCode, signal] = await once(child, 'exit')
  clearTimeout(timer)
  return { exitCode, signal, out }
}
