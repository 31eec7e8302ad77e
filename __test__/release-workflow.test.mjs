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

test('one build per napi target, and no others, each into artifacts/bindings-<target>', () => {
  assert.deepEqual(builds.map((b) => b.target).sort(), [...pkg.napi.targets].sort())
  for (const b of builds.filter((b) => !b.target.includes('linux'))) {
    assert.equal(b.build, `npm run build -- --target ${b.target} --output-dir artifacts/bindings-${b.target}`)
  }
})

test('linux builds run the local release script, which builds portably and checks the result', () => {
  for (const b of builds.filter((b) => b.target.includes('linux'))) {
    assert.equal(b.build, `npm run build:release-linux -- ${b.target}`)
  }
  assert.equal(pkg.scripts['build:release-linux'], 'node scripts/build-release-linux.mjs')
  const script = read('scripts/build-release-linux.mjs')
  assert.match(script, /args\.push\('--use-napi-cross'\)/)
  assert.match(script, /args\.push\('--cross-compile'\)/)
  assert.match(script, /checkArtifacts\(/)
})

test('every build uploads its binary under the name napi artifacts expects', () => {
  const upload = workflow.jobs.build.steps.find((s) => String(s.uses).startsWith('actions/upload-artifact'))
  assert.equal(upload.with.name, 'bindings-${{ matrix.settings.target }}')
  assert.equal(upload.with.path, 'artifacts/bindings-${{ matrix.settings.target }}/${{ env.BINARY_NAME }}.*.node')
  assert.equal(workflow.env.BINARY_NAME, pkg.napi.binaryName)
})

test('every linux binary is tested on its own CPU and libc before publishing', () => {
  const tested = [...workflow.jobs['test-linux'].strategy.matrix.settings, ...workflow.jobs['test-linux-musl'].strategy.matrix.settings]
  assert.deepEqual(tested.map((s) => s.target).sort(), pkg.napi.targets.filter((t) => t.includes('linux')).sort())
  assert.equal(workflow.jobs['test-linux-musl'].container, 'node:22-alpine')
})

test('publishing waits for builds and tests, and only runs on tags', () => {
  const publish = workflow.jobs.publish
  assert.deepEqual(publish.needs.sort(), ['build', 'test-linux', 'test-linux-musl', 'test-macos'])
  assert.match(publish.if, /refs\/tags\/v/)
  const runs = publish.steps.map((s) => s.run).filter(Boolean)
  assert.ok(runs.includes('npm run artifacts'))
  const check = runs.findIndex((r) => r.startsWith('node scripts/check-artifacts.mjs'))
  assert.ok(check >= 0 && check < runs.indexOf('npm run artifacts'), 'the published files are checked first')
  for (const t of pkg.napi.targets.filter((t) => t.includes('linux'))) assert.ok(runs[check].includes(t), t)
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
