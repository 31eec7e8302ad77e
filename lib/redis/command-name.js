'use strict'

function checkName(name) {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('Command name must be a non-empty string')
  return name
}

module.exports = { checkName }
