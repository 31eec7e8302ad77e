// Packaging check: pack the main package and this platform's binary package the way they
// are published, install both into a fresh project and use them there. The binary is the
// release artifact (artifacts/, from `npm run build:release-linux`) when one was built, else
// the development build at the root.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { artifactPath } from '../scripts/check-artifacts.mjs'
import { installPacked, pkg, root, smokeScript } from './helpers/packed-install.mjs'
import { startRedis } from './helpers/redis-server.mjs'

const abi = 'linux-x64-gnu'
const isGlibcX64 = process.platform === 'linux' && process.arch === 'x64' && !!process.report.getReport().header.glibcVersionRuntime
const artifact = artifactPath(path.join(root, 'artifacts'), 'x86_64-unknown-linux-gnu')
const binary = existsSync(artifact) ? artifact : path.join(root, `${pkg.napi.binaryName}.${abi}.node`)

test('main + platform packages install into a fresh project and work there', { skip: !isGlibcX64 && `packaging check builds ${abi} only` }, async (t) => {
  t.diagnostic(`binary under test: ${path.relative(root, binary)}`)
  const work = mkdtempSync(path.join(tmpdir(), 'bulwark-pack-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const redis = await startRedis()
  t.after(() => redis.stop())

  const { dir, main, platform } = installPacked({ work, abi, binary })
  assert.ok(main.files.includes('index.js') && main.files.includes('lib/index.js'), main.files.join(', '))
  assert.ok(!main.files.some((f) => f.endsWith('.node')), 'the main package must not carry a binary')
  assert.ok(!main.files.some((f) => f.startsWith('src/') || f.startsWith('core/')), 'no Rust sources in the package')
  const name = `${pkg.napi.binaryName}.${abi}.node`
  assert.deepEqual(platform.files.sort(), [name, 'package.json'])
  assert.ok(!existsSync(path.join(dir, 'node_modules', 'bulwark', name)))

  const out = execFileSync(process.execPath, ['-e', smokeScript(abi, redis.url)], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
  const seen = JSON.parse(out.trim())
  assert.equal(seen.version, pkg.version)
  assert.equal(seen.binary, path.join(dir, 'node_modules', `bulwark-${abi}`, name))
  assert.equal(seen.memory, 'memory://packaged')
  assert.equal(seen.redis, redis.url)
})

test('on a platform without a prebuilt binary the error names it and how to build from source', () => {
  // A real load attempt on this machine, with process.arch reporting a CPU we ship nothing for.
  const preload = 'Object.defineProperty(process, "arch", { value: "riscv64" })'
  const script = `try { require('./lib/native.js') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  const out = execFileSync(process.execPath, ['-e', `${preload}; ${script}`], { cwd: root, encoding: 'utf8' })
  const { code, message } = JSON.parse(out)
  assert.equal(code, 'ERR_BULWARK_NATIVE_BINARY')
  assert.match(message, new RegExp(`no prebuilt binary for ${process.platform}-riscv64`))
  assert.match(message, /prebuilt: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl, darwin-x64, darwin-arm64, win32-x64-msvc/)
  assert.match(message, /npm install && npm run build/)
})
