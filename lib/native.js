'use strict'
// The one place the facade loads the generated napi-rs loader (../index.js), which picks
// the platform binary (a local ./bulwark.<abi>.node or the bulwark-<abi> npm package). Its
// own error ("Cannot find native binding … npm bug …") says nothing about an unsupported
// platform, so we name the platform, the ones we ship, and how to build from source.
const { napi } = require('../package.json')

const ARCH = { x86_64: 'x64', aarch64: 'arm64' }
// 'x86_64-unknown-linux-gnu' → 'linux-x64-gnu', the names of the npm/<abi> packages.
function abiOf(triple) {
  const [cpu, , os, env] = triple.split('-')
  const arch = ARCH[cpu] ?? cpu
  if (os === 'darwin') return `darwin-${arch}`
  if (os === 'windows') return `win32-${arch}-${env}`
  return `${os}-${arch}-${env}`
}

function hostAbi() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform === 'win32') return `${base}-msvc`
  if (process.platform !== 'linux') return base
  return `${base}-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`
}

function loadFailure(cause) {
  const abi = hostAbi()
  const shipped = napi.targets.map(abiOf)
  const fromSource =
    'To build it from source: install Rust (stable, >= 1.88), then in a checkout of bulwark run ' +
    '`npm install && npm run build`, and point NAPI_RS_NATIVE_LIBRARY_PATH at the built ' +
    `${napi.binaryName}.${abi}.node (or install that checkout).`
  const message = shipped.includes(abi)
    ? `bulwark could not load its native binary for ${abi} (Node ${process.version}). ` +
      `Reinstall so npm fetches the optional package ${napi.binaryName}-${abi} (not with --omit=optional or --no-optional; ` +
      'if it is still missing, remove node_modules and package-lock.json first: npm/cli#4828). ' +
      `Linux builds need glibc >= 2.17 or musl. ${fromSource} Cause: ${cause.message}`
    : `bulwark has no prebuilt binary for ${abi} (Node ${process.version}); prebuilt: ${shipped.join(', ')}. ${fromSource}`
  return Object.assign(new Error(message, { cause }), { code: 'ERR_BULWARK_NATIVE_BINARY' })
}

try {
  module.exports = require('../index.js')
} catch (err) {
  throw loadFailure(err)
}
