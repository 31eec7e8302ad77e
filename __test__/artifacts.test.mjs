// The Linux release binaries (artifacts/bindings-<target>/, built by
// `npm run build:release-linux` and by the release workflow): the checks the workflow runs
// before publishing, and the x86_64 musl binary loaded for real in a musl userland. The
// x86_64 gnu artifact is loaded by packaging.test.mjs. Without artifacts those tests skip and
// say so; the checker itself is always tested on the development build.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { LINUX_TARGETS, MAX_GLIBC, artifactPath, checkArtifact, checkArtifacts, compareVersions, readElf } from '../scripts/check-artifacts.mjs'
import { muslRoot, muslUserland, muslUserlandUnavailable, runInMusl } from './helpers/musl-userland.mjs'
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

const muslArtifact = artifactPath(artifactsDir, 'x86_64-unknown-linux-musl')
const muslSkip = !existsSync(muslArtifact) ? NO_ARTIFACTS : muslUserlandUnavailable()
test('the x86_64 musl artifact, packed and installed, works in a musl userland on memory:// and on redis', { skip: muslSkip, timeout: 300_000 }, async (t) => {
  muslUserland()
  const work = mkdtempSync(path.join(muslRoot, 'tmp', 'bulwark-pack-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const redis = await startRedis()
  t.after(() => redis.stop())

  const abi = 'linux-x64-musl'
  const { dir } = installPacked({ work, abi, binary: muslArtifact, npmArgs: ['--libc=musl'] })
  writeFileSync(path.join(dir, 'smoke.js'), smokeScript(abi, redis.url))
  const inside = (p) => `/${path.relative(muslRoot, p)}`
  const run = runInMusl([inside(path.join(dir, 'smoke.js'))])
  assert.equal(run.status, 0, `${run.error ?? ''}${run.stderr}`)
  const seen = JSON.parse(run.stdout.trim())
  assert.equal(seen.version, pkg.version)
  assert.equal(seen.binary, inside(path.join(dir, 'node_modules', `bulwark-${abi}`, `${pkg.napi.binaryName}.${abi}.node`)))
  assert.equal(seen.memory, 'memory://packaged')
  assert.equal(seen.redis, redis.url)
  // The process that loaded it had musl's loader and no glibc at all.
  assert.ok(seen.sharedObjects.includes('/lib/ld-musl-x86_64.so.1'), seen.sharedObjects.join(' '))
  assert.ok(seen.sharedObjects.includes(seen.binary), seen.sharedObjects.join(' '))
  assert.ok(!seen.sharedObjects.some((so) => /libc\.so\.6|ld-linux/.test(so)), seen.sharedObjects.join(' '))
  t.diagnostic(`loaded by Node ${runInMusl(['-p', 'process.version']).stdout.trim()} (musl) with ${seen.sharedObjects.join(' ')}`)
})
