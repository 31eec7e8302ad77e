// The release workflow cannot run here; check that it is valid YAML and builds, tests and
// publishes every target package.json declares.
import test from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

const read = (rel) => readFileSync(new URL(`../${rel}`, import.meta.url), 'utf8')
const pkg = JSON.parse(read('package.json'))
const workflow = parse(read('.github/workflows/release.yml'), { strict: true, uniqueKeys: true })
const builds = workflow.jobs.build.strategy.matrix.settings

test('it is triggered by version tags', () => {
  assert.deepEqual(workflow.on.push.tags, ['v*'])
})

test('one build per napi target, and no others', () => {
  assert.deepEqual(builds.map((b) => b.target).sort(), [...pkg.napi.targets].sort())
  for (const b of builds) assert.match(b.build, new RegExp(`--target ${b.target}(\\s|$)`))
})

test('linux-gnu builds are glibc-portable (napi cross toolchain), musl builds cross-compile', () => {
  for (const b of builds) {
    if (b.target.endsWith('linux-gnu')) assert.match(b.build, /--use-napi-cross/, b.target)
    if (b.target.endsWith('linux-musl')) assert.match(b.build, /\s-x(\s|$)/, b.target)
  }
})

test('every build uploads its binary under the name napi artifacts expects', () => {
  const upload = workflow.jobs.build.steps.find((s) => String(s.uses).startsWith('actions/upload-artifact'))
  assert.equal(upload.with.name, 'bindings-${{ matrix.settings.target }}')
  assert.equal(workflow.env.BINARY_NAME, pkg.napi.binaryName)
})

test('publishing waits for builds and tests, and only runs on tags', () => {
  const publish = workflow.jobs.publish
  assert.deepEqual(publish.needs.sort(), ['build', 'test-linux', 'test-macos'])
  assert.match(publish.if, /refs\/tags\/v/)
  const runs = publish.steps.map((s) => s.run).filter(Boolean)
  assert.ok(runs.includes('npm run artifacts'))
  assert.ok(runs.some((r) => r.startsWith('npm publish')))
  assert.match(pkg.scripts.prepublishOnly, /napi pre-publish -t npm/)
})

test('every target has its npm/<platform> package', () => {
  const platform = {
    'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
    'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
    'x86_64-unknown-linux-musl': 'linux-x64-musl',
    'aarch64-unknown-linux-musl': 'linux-arm64-musl',
    'x86_64-apple-darwin': 'darwin-x64',
    'aarch64-apple-darwin': 'darwin-arm64',
    'x86_64-pc-windows-msvc': 'win32-x64-msvc',
  }
  for (const target of pkg.napi.targets) {
    const sub = JSON.parse(read(`npm/${platform[target]}/package.json`))
    assert.equal(sub.name, `${pkg.name}-${platform[target]}`)
    assert.equal(sub.version, pkg.version)
    assert.equal(sub.main, `${pkg.napi.binaryName}.${platform[target]}.node`)
  }
})
