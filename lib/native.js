'use strict'
// The one place the facade loads the generated napi-rs loader (../index.js), which picks
// the platform binary (a local ./bulwark.<abi>.node or the bulwark-<abi> npm package).
module.exports = require('../index.js')
