'use strict'
// `redis.monitor()`: a client on its own MONITOR connection (core/src/client/monitor.rs),
// emitting `monitor(time, args, source, database)` for every command the server runs, as
// ioredis's monitor connection does. It takes no commands and does not reconnect.
const native = require('../native')
const { nativeOptions } = require('./native-options')

/** Splits a MONITOR line (`<time> [<db> <source>] "cmd" "arg" …`) exactly as ioredis does. */
function parseMonitorLine(line) {
  const len = line.indexOf(' ')
  const timestamp = line.slice(0, len)
  const argIndex = line.indexOf('"')
  const args = line
    .slice(argIndex + 1, -1)
    .split('" "')
    .map((elem) => elem.replace(/\\"/g, '"'))
  const dbAndSource = line.slice(len + 2, argIndex - 2).split(' ')
  return [timestamp, args, dbAndSource[1], dbAndSource[0]]
}

/** Turns a new, not yet connected client into a monitor; resolves it once MONITOR is on. */
function startMonitor(client) {
  client.mode = 'monitor'
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      client.removeListener('monitoring', onMonitoring)
      reject(err)
    }
    const onMonitoring = () => {
      client.removeListener('_connectError', onError)
      resolve(client)
    }
    client.once('_connectError', onError)
    client.once('monitoring', onMonitoring)
    client._setStatus('connecting')
    client._link = new native.MonitorConnection(nativeOptions(client.options, false), (batch) => {
      if (batch[0] === -2) {
        client.emit('monitor', ...parseMonitorLine(batch[2].toString()))
        return
      }
      const [, name, code, detail] = batch
      client._onEvent(name, code, detail)
      // MONITOR was acknowledged before `ready`: from now on the server streams.
      if (name === 'ready') client._setStatus('monitoring')
    })
  })
}

module.exports = { startMonitor }
