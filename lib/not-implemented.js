'use strict'
// Placeholder export for compat entry points whose issue has not landed yet: the module
// resolves (so bundlers and `import()` work), but using the class fails loudly.
function notImplemented(name, entry) {
  const message = `${entry}: ${name} is not implemented yet in this version of bulwark`
  return class {
    constructor() {
      const err = new Error(message)
      err.code = 'ERR_BULWARK_NOT_IMPLEMENTED'
      throw err
    }
  }
}
module.exports = { notImplemented }
