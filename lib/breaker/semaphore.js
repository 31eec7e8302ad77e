'use strict'
// Non-blocking counting semaphore with opossum's exact shape (`take`, `release`, `test`,
// read-only `count` = free permits). Kept in JS: it is a counter on the fire() path and
// crossing into native code for it would cost more than it saves.

/**
 * @param {number} count initial number of permits
 */
function semaphore(count) {
  const resolvers = []
  let counter = count

  const sem = { take, release, test }
  Object.defineProperty(sem, 'count', { get: () => counter, enumerable: true })
  return sem

  function take(timeout) {
    if (counter > 0) {
      --counter
      return Promise.resolve(release)
    }
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (timer !== undefined) clearTimeout(timer)
        --counter
        resolve(release)
      }
      resolvers.push(waiter)
      let timer
      if (timeout) {
        timer = setTimeout(() => {
          // Remove this waiter (opossum removed the first one, whichever it was).
          const i = resolvers.indexOf(waiter)
          if (i !== -1) resolvers.splice(i, 1)
          const err = new Error(`Timed out after ${timeout}ms`)
          err.code = 'ETIMEDOUT'
          reject(err)
        }, timeout)
      }
    })
  }

  function release() {
    counter++
    if (resolvers.length > 0) resolvers.shift()()
  }

  function test() {
    if (counter < 1) return false
    --counter
    return true
  }
}

module.exports = semaphore
