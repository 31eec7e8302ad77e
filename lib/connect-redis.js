'use strict'
// Drop-in for the `connect-redis` package: `new RedisStore({ client })`, as the default
// export (connect-redis 7) and the named one (8+).
const { RedisStore } = require('./session/store')

module.exports = RedisStore
module.exports.default = RedisStore
module.exports.RedisStore = RedisStore
