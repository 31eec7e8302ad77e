#!/usr/bin/env node
// Builds the Linux binaries we publish, the same way on a workstation and in the release
// workflow, then checks them with check-artifacts.mjs:
//
//   node scripts/build-release-linux.mjs [target ...]   (default: every linux target in package.json)
//
// linux-gnu goes through napi-rs's cross toolchain (gcc + a glibc 2.17 sysroot, from npm), so
// the binary loads on any glibc >= 2.17 distribution instead of needing the build host's glibc;
// linux-musl goes through cargo-zigbuild with zig (both from PyPI). Output:
// artifacts/bindings-<target>/bulwark.<abi>.node, the layout `napi artifacts` reads.
// Everything comes from package registries (npm, PyPI) plus `rustup target add`.
// On a shared machine run it as `nice -n 19 npm run build:release-linux`.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { LINUX_TARGETS, artifactPath, checkArtifacts, printReport } from './check-artifacts.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))

// @napi-rs/cross-toolchain fetches `<target package>@<its own version>`, but the target
// packages are not published in step: x86_64 exists at 1.0.0 and aarch64 at 1.0.3 only, so no
// single version serves both. We unpack the right one where the CLI looks for it
// (~/.napi-rs/cross-toolchain/<version>/<triple>), and the CLI then skips its own download.
const NAPI_CROSS = {
  'x86_64-unknown-linux-gnu': '@napi-rs/cross-toolchain-x64-target-x86_64@1.0.0',
  'aarch64-unknown-linux-gnu': '@napi-rs/cross-toolchain-x64-target-aarch64@1.0.3',
}
// zig 0.14 is what napi-rs's own template builds musl with.
const ZIG_TOOLS = ['ziglang==0.14.1', 'cargo-zigbuild==0.24.1']
const toolsDir = path.join(root, 'target', 'release-tools')

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...options })
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`)
}

/** Unpacks napi-rs's cross toolchain for a linux-gnu `triple` (once); returns its directory. */
export function napiCrossToolchain(triple) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the napi-rs cross toolchains used here run on linux-x64 only, not ${process.platform}-${process.arch}`)
  }
  const { version } = require('@napi-rs/cross-toolchain')
  const dest = path.join(homedir(), '.napi-rs', 'cross-toolchain', version, triple)
  if (existsSync(path.join(dest, 'package.json'))) return dest
  const work = mkdtempSync(path.join(tmpdir(), 'napi-cross-'))
  try {
    run('npm', ['pack', '--silent', '--pack-destination', work, NAPI_CROSS[triple]])
    const [tgz] = readdirSync(work).filter((f) => f.endsWith('.tgz'))
    run('tar', ['-xzf', path.join(work, tgz), '-C', work])
    mkdirSync(dest, { recursive: true })
    run('tar', ['-xJf', path.join(work, 'package', `${triple}.tar.xz`), '-C', dest])
    return dest
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

// A private venv with zig and cargo-zigbuild; returns the PATH that puts them first.
function zigTools() {
  const venv = path.join(toolsDir, 'venv')
  const bin = path.join(venv, 'bin')
  const stamp = path.join(venv, 'installed.txt')
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== ZIG_TOOLS.join('\n')) {
    run('python3', ['-m', 'venv', '--clear', venv])
    run(path.join(bin, 'pip'), ['install', '--quiet', ...ZIG_TOOLS])
    // The ziglang wheel ships zig inside site-packages; napi's -x wants `zig` on PATH.
    const [zig] = spawnSync(path.join(bin, 'python'), ['-c', 'import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))'], { encoding: 'utf8' }).stdout.split('\n')
    symlinkSync(zig, path.join(bin, 'zig'))
    writeFileSync(stamp, ZIG_TOOLS.join('\n'))
  }
  return `${bin}${path.delimiter}${process.env.PATH}`
}

function build(target) {
  const { libc } = LINUX_TARGETS[target]
  run('rustup', ['target', 'add', target])
  const outDir = path.dirname(artifactPath(path.join(root, 'artifacts'), target))
  rmSync(outDir, { recursive: true, force: true })
  const args = ['build', '--platform', '--profile', 'dist', '--target', target, '--output-dir', outDir, '--no-js']
  const env = { ...process.env }
  if (libc === 'gnu') {
    napiCrossToolchain(target)
    args.push('--use-napi-cross')
    // The toolchain's gcc 4.8 does not define __ARM_ARCH on aarch64 (GCC bug 99312), and
    // ring's assembly refuses to build without it (briansmith/ring#1728).
    if (target.startsWith('aarch64')) {
      const name = `CFLAGS_${target.replaceAll('-', '_')}`
      env[name] = `${env[name] ?? ''} -D__ARM_ARCH=8`.trim()
    }
  } else {
    env.PATH = zigTools()
    args.push('--cross-compile')
  }
  const started = Date.now()
  run(path.join(root, 'node_modules', '.bin', 'napi'), args, { env })
  // The type definitions are the same for every target and are committed at the root.
  rmSync(path.join(outDir, 'index.d.ts'), { force: true })
  return (Date.now() - started) / 1000
}

function main(targets) {
  const wanted = targets.length ? targets : pkg.napi.targets.filter((t) => t in LINUX_TARGETS)
  for (const t of wanted) {
    if (!(t in LINUX_TARGETS)) throw new Error(`not a linux target this script builds: ${t} (known: ${Object.keys(LINUX_TARGETS).join(', ')})`)
  }
  const seconds = {}
  for (const t of wanted) {
    seconds[t] = build(t)
    console.log(`built ${t} in ${seconds[t].toFixed(0)} s`)
  }
  const results = checkArtifacts(path.join(root, 'artifacts'), wanted)
  printReport(results, seconds)
  if (results.some((r) => r.problems.length)) process.exit(1)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2))
