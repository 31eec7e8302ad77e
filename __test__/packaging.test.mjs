// Packaging check: pack the main package and this platform's binary package the way they
// are published, install both into a fresh project and use them there.
import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const abi = 'linux-x64-gnu'
const isGlibcX64 = process.platform === 'linux' && process.arch === 'x64' && !!process.report.getReport().header.glibcVersionRuntime

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function pack(dir, dest) {
  const [info] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dest], dir))
  return { file: path.join(dest, info.filename), files: info.files.map((f) => f.path) }
}

test('main + platform packages install into a fresh project and work there', { skip: !isGlibcX64 && `packaging check builds ${abi} only` }, (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'bulwark-pack-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))

  const main = pack(root, work)
  assert.ok(main.files.includes('index.js') && main.files.includes('lib/index.js'), main.files.join(', '))
  assert.ok(!main.files.some((f) => f.endsWith('.node')), 'the main package must not carry a binary')
  assert.ok(!main.files.some((f) => f.startsWith('src/') || f.startsWith('core/')), 'no Rust sources in the package')

  // The platform package as the release workflow assembles it: npm/<abi> + the built binary.
  const binary = `${pkg.napi.binaryName}.${abi}.node`
  const platformDir = path.join(work, abi)
  mkdirSync(platformDir)
  copyFileSync(path.join(root, 'npm', abi, 'package.json'), path.join(platformDir, 'package.json'))
  copyFileSync(path.join(root, binary), path.join(platformDir, binary))
  const platform = pack(platformDir, work)
  assert.deepEqual(platform.files.sort(), [binary, 'package.json'])

  const project = path.join(work, 'consumer')
  mkdirSync(project)
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  npm(['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', main.file, platform.file], project)
  assert.ok(!existsSync(path.join(project, 'node_modules', 'bulwark', binary)))

  const script = `
    const assert = require('node:assert/strict')
    const bulwark = require('bulwark')
    assert.equal(bulwark.nativeVersion(), ${JSON.stringify(pkg.version)})
    assert.ok(require.resolve('bulwark-${abi}'))
    Promise.all(['ioredis', 'opossum', 'rate-limit-redis', 'connect-redis'].map((s) => import('bulwark/' + s)))
      .then((mods) => {
        for (const m of mods) assert.equal(typeof m.default, 'function')
        return import('bulwark')
      })
      .then((esm) => console.log(JSON.stringify({ version: esm.nativeVersion() })))
  `
  const out = execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out.trim()), { version: pkg.version })
})
