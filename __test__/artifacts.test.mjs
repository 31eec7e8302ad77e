// The Linux release binaries (artifacts/bindings-<target>/, built by
// `npm run build:release-linux` and by the release workflow): the checks the workflow runs
// before publishing, then each one packed, installed and used for real by Node 22 in a
// userland of its own: glibc 2.17 for gnu, musl (no glibc) for musl, aarch64 under qemu
// (helpers/userland.mjs). Without artifacts those tests skip and say so; the checker itself
// is always tested on the development build.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { LINUX_TARGETS, MAX_GLIBC, artifactPath, checkArtifact, checkArtifacts, compareVersions, readElf } from '../scripts/check-artifacts.mjs'
import { USERLANDS, runInUserland, userland, userlandUnavailable } from './helpers/userland.mjs'
import { installPacked, pkg, root, smokeScript } from './helpers/packed-install.mjs'
import { startRedis } from './helpers/redis-server.mjs'

const artifactsDir = path.join(root, 'artifacts')
const present = Object.keys(LINUX_TARGETS).filter((t) => existsSync(artifactPath(artifactsDir, t)))
const NO_ARTIFACTS = 'no release artifacts under artifacts/: `npm run build:release-linux` builds them (the release workflow does)'
const devBuild = path.join(root, `${pkg.napi.binaryName}.linux-x64-gnu.node`)
const isX64Linux = process.platform === 'linux' && process.arch === 'x64'
const hasReadelf = spawnSync('readelf', ['--version']).status === 0

test('the ELF reader finds the same libraries and versions as readelf', { skip: !(isX64Linux && existsSync(devBuild) && hasReadelf) && 'needs the linux-x64-gnu development build and readelf' }, () => {
  for (const file of [devBuild, ...present.map((t) => artifactPath(artifactsDir, t))]) {
    const elf = readElf(readFileSync(file))
    const dynamic = spawnSync('readelf', ['-d', '-W', file], { encoding: 'utf8' }).stdout
    assert.deepEqual(elf.needed, [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]), file)
    const versionInfo = spawnSync('readelf', ['-V', '-W', file], { encoding: 'utf8' }).stdout
    const required = versionInfo.slice(versionInfo.indexOf('.gnu.version_r'))
    assert.deepEqual(Object.values(elf.versions).flat().sort(), [...required.matchAll(/Name: (\S+)\s+Flags/g)].map((m) => m[1]).sort(), file)
  }
})

test('the check names what is wrong: foreign CPU, glibc in a musl build, too new a glibc', { skip: !(isX64Linux && existsSync(devBuild)) && 'needs the linux-x64-gnu development build' }, () => {
  const asGnu = checkArtifact('x86_64-unknown-linux-gnu', devBuild)
  assert.equal(asGnu.machine, 'x86-64')
  assert.ok(asGnu.needed.includes('libc.so.6'))
  // `npm run build` links against this machine's glibc, so it passes only where that is old.
  const tooNew = compareVersions(asGnu.glibc, MAX_GLIBC) > 0
  assert.equal(asGnu.problems.some((p) => p.includes(`needs GLIBC_${asGnu.glibc}, above GLIBC_${MAX_GLIBC}`)), tooNew)

  const asArm = checkArtifact('aarch64-unknown-linux-gnu', devBuild)
  assert.ok(asArm.problems.includes('ELF machine is x86-64, aarch64-unknown-linux-gnu needs AArch64'), asArm.problems.join('; '))
  const asMusl = checkArtifact('x86_64-unknown-linux-musl', devBuild)
  assert.ok(asMusl.problems.some((p) => p.startsWith("needs libraries that are not musl's: ") && p.includes('libc.so.6')), asMusl.problems.join('; '))
  assert.ok(asMusl.problems.some((p) => p.startsWith('has glibc symbol versions')), asMusl.problems.join('; '))
})

test('every Linux release artifact present passes the release checks', { skip: !present.length && NO_ARTIFACTS }, (t) => {
  for (const r of checkArtifacts(artifactsDir)) {
    const libc = LINUX_TARGETS[r.target].libc === 'gnu' ? `GLIBC_${r.glibc}` : 'musl'
    t.diagnostic(`${r.target}: ${r.bytes} bytes, ${r.machine}, max ${libc}, needs ${r.needed.join(' ')}`)
    assert.deepEqual(r.problems, [], r.target)
    if (LINUX_TARGETS[r.target].libc === 'musl') assert.equal(r.glibc, null)
  }
})

for (const [target, spec] of Object.entries(USERLANDS)) {
  const artifact = artifactPath(artifactsDir, target)
  const skip = (!existsSync(artifact) ? NO_ARTIFACTS : userlandUnavailable(target)) ?? false
  const where = `${spec.libc === 'gnu' ? 'glibc 2.17' : 'musl, no glibc'}${spec.qemu ? ', under qemu' : ''}`
  test(`the ${target} artifact, packed and installed, works on memory:// and on redis (Node 22, ${where})`, { skip, timeout: 300_000 }, async (t) => {
    const dir = userland(target)
    const work = mkdtempSync(path.join(dir, 'tmp', 'bulwark-pack-'))
    t.after(() => rmSync(work, { recursive: true, force: true }))
    const redis = await startRedis()
    t.after(() => redis.stop())

    const { abi } = LINUX_TARGETS[target]
    // The platform package is for the userland's platform, not this host's: npm refuses a
    // direct install of it (EBADPLATFORM) unless forced.
    const npmArgs = ['--force', '--os=linux', `--cpu=${spec.npmCpu}`, `--libc=${spec.libc === 'gnu' ? 'glibc' : 'musl'}`]
    const installed = installPacked({ work, abi, binary: artifact, npmArgs })
    writeFileSync(path.join(installed.dir, 'smoke.js'), smokeScript(abi, redis.url))
    const inside = (p) => `/${path.relative(dir, p)}`
    const run = runInUserland(target, [inside(path.join(installed.dir, 'smoke.js'))])
    assert.equal(run.status, 0, `${run.error ?? ''}${run.stderr}`)
    const seen = JSON.parse(run.stdout.trim())
    assert.equal(seen.version, pkg.version)
    assert.equal(seen.binary, inside(path.join(installed.dir, 'node_modules', `bulwark-${abi}`, `${pkg.napi.binaryName}.${abi}.node`)))
    assert.equal(seen.memory, 'memory://packaged')
    assert.equal(seen.redis, redis.url)
    // The process that loaded it ran on the C library we meant, and only on it.
    const libs = seen.sharedObjects
    assert.ok(libs.includes(seen.binary), libs.join(' '))
    if (spec.libc === 'gnu') {
      assert.equal(seen.glibc, '2.17')
    } else {
      assert.ok(libs.includes(`/lib/ld-musl-${spec.cpu}.so.1`), libs.join(' '))
      assert.ok(!libs.some((so) => /libc\.so\.6|ld-linux/.test(so)), libs.join(' '))
    }
    t.diagnostic(`${seen.node} ${seen.arch}, glibc ${seen.glibc ?? 'none'}: ${libs.join(' ')}`)
  })
}
