#!/usr/bin/env node
// Checks the Linux release binaries before they are published, by reading each .node's ELF
// headers (no readelf needed, so it runs the same on any CI image):
//   - the ELF machine is the target's CPU;
//   - linux-gnu: no symbol version above GLIBC_2.17, and only the system libraries every
//     glibc distribution has (libgcc_s/libstdc++ needs are listed);
//   - linux-musl: nothing from glibc at all;
//   - stripped, and a size within sane bounds.
//
//   node scripts/check-artifacts.mjs [--dir artifacts] [target ...]
// With targets, each one's artifacts/bindings-<target>/bulwark.<abi>.node must exist; without,
// every Linux artifact found under the directory is checked (and none found is an error).
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { binaryName } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).napi

const EM_X86_64 = 62
const EM_AARCH64 = 183
export const LINUX_TARGETS = {
  'x86_64-unknown-linux-gnu': { abi: 'linux-x64-gnu', machine: EM_X86_64, libc: 'gnu' },
  'aarch64-unknown-linux-gnu': { abi: 'linux-arm64-gnu', machine: EM_AARCH64, libc: 'gnu' },
  'x86_64-unknown-linux-musl': { abi: 'linux-x64-musl', machine: EM_X86_64, libc: 'musl' },
  'aarch64-unknown-linux-musl': { abi: 'linux-arm64-musl', machine: EM_AARCH64, libc: 'musl' },
}
const MACHINE_NAMES = { [EM_X86_64]: 'x86-64', [EM_AARCH64]: 'AArch64' }

// The oldest glibc we promise (RHEL/CentOS 7, Amazon Linux 2 have 2.17 and 2.26).
export const MAX_GLIBC = '2.17'
// Libraries that are part of every glibc system (libgcc_s comes with gcc's runtime, which
// every distribution installs because glibc itself uses it for pthread_cancel).
const GLIBC_SYSTEM_LIBS = new Set([
  'libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libutil.so.1',
  'libgcc_s.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1',
])
// musl's libc (any of its names; musl's loader resolves them to itself) and libgcc_s, which
// Alpine's node package also depends on.
const MUSL_LIBS = /^(libc\.so|libc\.musl-(x86_64|aarch64)\.so\.1|ld-musl-(x86_64|aarch64)\.so\.1|libgcc_s\.so\.1)$/
// A stripped release build is a few MB; far outside that means a debug or unstripped build.
const MIN_BYTES = 256 * 1024
const MAX_BYTES = 16 * 1024 * 1024

export function artifactPath(dir, target) {
  return path.join(dir, `bindings-${target}`, `${binaryName}.${LINUX_TARGETS[target].abi}.node`)
}

const SHT_SYMTAB = 2
const SHT_DYNAMIC = 6
const SHT_GNU_VERNEED = 0x6ffffffe
const DT_NEEDED = 1

// The facts the checks need from a 64-bit little-endian ELF shared object.
export function readElf(buf) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file')
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file')
  const type = buf.readUInt16LE(16)
  const machine = buf.readUInt16LE(18)
  const shoff = Number(buf.readBigUInt64LE(0x28))
  const shentsize = buf.readUInt16LE(0x3a)
  const shnum = buf.readUInt16LE(0x3c)
  const sections = []
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize
    sections.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      info: buf.readUInt32LE(o + 44),
    })
  }
  const cstr = (section, at) => {
    const start = section.offset + at
    return buf.toString('latin1', start, buf.indexOf(0, start))
  }
  const needed = []
  for (const dyn of sections.filter((s) => s.type === SHT_DYNAMIC)) {
    for (let o = dyn.offset; o < dyn.offset + dyn.size; o += 16) {
      if (buf.readBigInt64LE(o) === BigInt(DT_NEEDED)) needed.push(cstr(sections[dyn.link], Number(buf.readBigUInt64LE(o + 8))))
    }
  }
  // Version requirements (.gnu.version_r): the versions the loader checks, per library.
  const versions = {}
  for (const vn of sections.filter((s) => s.type === SHT_GNU_VERNEED)) {
    const strtab = sections[vn.link]
    let o = vn.offset
    for (let i = 0; i < vn.info; i++) {
      const file = cstr(strtab, buf.readUInt32LE(o + 4))
      let a = o + buf.readUInt32LE(o + 8)
      for (let j = 0; j < buf.readUInt16LE(o + 2); j++) {
        ;(versions[file] ??= []).push(cstr(strtab, buf.readUInt32LE(a + 8)))
        a += buf.readUInt32LE(a + 12)
      }
      o += buf.readUInt32LE(o + 12)
    }
  }
  return { type, machine, needed, versions, stripped: !sections.some((s) => s.type === SHT_SYMTAB) }
}

const versionKey = (v) => v.split('.').map(Number)
export function compareVersions(a, b) {
  const [x, y] = [versionKey(a), versionKey(b)]
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  }
  return 0
}
// The highest `<prefix><n.n>` version among the requirements, e.g. ('GLIBC_') → '2.17'.
function highest(versions, prefix) {
  const all = Object.values(versions).flat().filter((v) => v.startsWith(prefix)).map((v) => v.slice(prefix.length))
  return all.filter((v) => /^\d+(\.\d+)*$/.test(v)).sort(compareVersions).at(-1) ?? null
}

// Checks one file as the binary of `target`; returns its facts and the problems found.
export function checkArtifact(target, file) {
  const spec = LINUX_TARGETS[target]
  const bytes = statSync(file).size
  const result = { target, file, bytes, problems: [] }
  const problem = (msg) => result.problems.push(msg)
  let elf
  try {
    elf = readElf(readFileSync(file))
  } catch (e) {
    problem(e.message)
    return result
  }
  Object.assign(result, {
    machine: MACHINE_NAMES[elf.machine] ?? `e_machine ${elf.machine}`,
    needed: elf.needed,
    glibc: highest(elf.versions, 'GLIBC_'),
    gcc: highest(elf.versions, 'GCC_'),
    glibcxx: highest(elf.versions, 'GLIBCXX_'),
  })
  if (elf.type !== 3) problem(`not a shared object (ELF type ${elf.type})`)
  if (elf.machine !== spec.machine) problem(`ELF machine is ${result.machine}, ${target} needs ${MACHINE_NAMES[spec.machine]}`)
  if (spec.libc === 'gnu') {
    if (result.glibc && compareVersions(result.glibc, MAX_GLIBC) > 0) {
      problem(`needs GLIBC_${result.glibc}, above GLIBC_${MAX_GLIBC}: build it with napi-rs's cross toolchain (--use-napi-cross), not the host toolchain`)
    }
    if (Object.values(elf.versions).flat().includes('GLIBC_PRIVATE')) problem('uses GLIBC_PRIVATE symbols')
    const extra = elf.needed.filter((lib) => !GLIBC_SYSTEM_LIBS.has(lib))
    if (extra.length) problem(`needs libraries a plain glibc system may lack: ${extra.join(', ')}`)
  } else {
    const fromGlibc = elf.needed.filter((lib) => !MUSL_LIBS.test(lib))
    if (fromGlibc.length) problem(`needs libraries that are not musl's: ${fromGlibc.join(', ')}`)
    if (result.glibc) problem(`has glibc symbol versions (up to GLIBC_${result.glibc}) in a musl build`)
  }
  if (!elf.stripped) problem('not stripped (has a .symtab): build with the dist profile')
  if (bytes < MIN_BYTES || bytes > MAX_BYTES) problem(`size ${bytes} bytes is outside ${MIN_BYTES}..${MAX_BYTES}`)
  return result
}

// Checks the named targets' artifacts under `dir` (each must exist), or all that exist.
export function checkArtifacts(dir, targets) {
  const wanted = targets?.length ? targets : Object.keys(LINUX_TARGETS).filter((t) => existsSync(artifactPath(dir, t)))
  if (!wanted.length) throw new Error(`no Linux artifacts under ${dir} (expected bindings-<target>/${binaryName}.<abi>.node)`)
  return wanted.map((t) => {
    if (!(t in LINUX_TARGETS)) throw new Error(`unknown linux target ${t}`)
    const file = artifactPath(dir, t)
    if (!existsSync(file)) return { target: t, file, problems: [`missing ${file}`] }
    return checkArtifact(t, file)
  })
}

export function printReport(results, buildSeconds = {}) {
  for (const r of results) {
    const libc = LINUX_TARGETS[r.target].libc === 'gnu' ? `GLIBC_${r.glibc ?? 'none'}` : 'musl'
    const facts = r.bytes === undefined ? '' : [
      `${(r.bytes / 1024 / 1024).toFixed(2)} MiB`,
      r.machine,
      `max ${libc}`,
      r.gcc ? `libgcc_s GCC_${r.gcc}` : null,
      r.glibcxx ? `libstdc++ GLIBCXX_${r.glibcxx}` : null,
      `needs ${r.needed?.join(' ') || 'nothing'}`,
      buildSeconds[r.target] !== undefined ? `built in ${buildSeconds[r.target].toFixed(0)} s` : null,
    ].filter(Boolean).join(', ')
    console.log(`${r.problems.length ? 'FAIL' : 'ok  '} ${r.target}: ${facts}`)
    for (const p of r.problems) console.log(`     - ${p}`)
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const dirFlag = args.indexOf('--dir')
  const dir = dirFlag >= 0 ? args.splice(dirFlag, 2)[1] : path.join(root, 'artifacts')
  const results = checkArtifacts(path.resolve(dir), args)
  printReport(results)
  if (results.some((r) => r.problems.length)) process.exit(1)
}
