// Packs the main package and one platform package (npm/<abi>/package.json + a built binary)
// the way the release publishes them, installs both into a fresh project, and gives the
// script that proves the install works there (loads, then a command on memory:// and on a
// real redis-server).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function pack(dir, dest) {
  const [info] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dest], dir))
  return { file: path.join(dest, info.filename), files: info.files.map((f) => f.path) }
}

/**
 * Packs both packages into `work` and installs them into `<work>/<project>`; `npmArgs`
 * passes e.g. `--libc=musl` to install a platform package for another libc than the host's.
 */
export function installPacked({ work, abi, binary, project = 'consumer', npmArgs = [] }) {
  const main = pack(root, work)
  const name = `${pkg.napi.binaryName}.${abi}.node`
  const platformDir = path.join(work, abi)
  mkdirSync(platformDir)
  copyFileSync(path.join(root, 'npm', abi, 'package.json'), path.join(platformDir, 'package.json'))
  copyFileSync(binary, path.join(platformDir, name))
  const platform = pack(platformDir, work)
  const dir = path.join(work, project)
  mkdirSync(dir)
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  npm(['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', ...npmArgs, main.file, platform.file], dir)
  return { dir, main, platform }
}

/**
 * CommonJS source that loads the installed bulwark, checks it came from bulwark-<abi>, runs
 * SET/GET on memory:// and on `redisUrl`, and prints one JSON line with what it saw.
 */
export function smokeScript(abi, redisUrl) {
  return `
    const assert = require('node:assert/strict')
    const bulwark = require('bulwark')
    const { Redis } = bulwark
    async function roundTrip(url) {
      const client = new Redis(url)
      try {
        await client.set('packaged', url)
        return await client.get('packaged')
      } finally {
        await client.quit()
      }
    }
    async function main() {
      const compat = await Promise.all(['ioredis', 'opossum', 'rate-limit-redis', 'connect-redis'].map((s) => import('bulwark/' + s)))
      for (const m of compat) assert.equal(typeof m.default, 'function')
      const esm = await import('bulwark')
      console.log(JSON.stringify({
        version: esm.nativeVersion(),
        binary: require.resolve('bulwark-${abi}'),
        memory: await roundTrip('memory://packaged'),
        redis: await roundTrip(${JSON.stringify(redisUrl)}),
        node: process.version,
        arch: process.arch,
        glibc: process.report.getReport().header.glibcVersionRuntime ?? null,
        sharedObjects: process.report.getReport().sharedObjects,
      }))
    }
    main().catch((e) => { console.error(e); process.exit(1) })
  `
}
