'use strict'
// The Redis client's public exports; each concept has its own file under lib/redis/.
module.exports = require('./redis/client')
