'use strict'
const { Readable } = require('node:stream')
const { Command } = require('../redis-command')

/** ioredis's ScanStream: object-mode Readable of SCAN batches until the cursor is "0". */
class ScanStream extends Readable {
  constructor(redis, command, key, options = {}, replyEncoding) {
    super({ objectMode: true })
    if (options === null || typeof options !== 'object') throw new TypeError('scanStream(options): options must be an object')
    this._redis = redis
    this._command = command
    this._key = key
    this._options = options
    this._replyEncoding = replyEncoding
    this._cursor = '0'
    this._started = false
    this._stopped = false
  }

  _read() {
    if (this._stopped) {
      this.push(null)
      return
    }
    if (this._started && this._cursor === '0') {
      this.push(null)
      return
    }
    this._started = true
    const args = []
    if (this._key !== undefined) args.push(this._key)
    args.push(this._cursor)
    const o = this._options
    if (o.match) args.push('MATCH', o.match)
    if (o.type) args.push('TYPE', o.type)
    if (o.count) args.push('COUNT', String(o.count))
    if (o.noValues) args.push('NOVALUES')
    this._redis.sendCommand(new Command(this._command, args, { replyEncoding: this._replyEncoding })).then(
      ([cursor, batch]) => {
        this._cursor = String(cursor)
        this.push(batch)
      },
      (err) => this.destroy(err),
    )
  }

  /** Stops after the batch in flight. */
  close() {
    this._stopped = true
  }
}

module.exports = { ScanStream }
