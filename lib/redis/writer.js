'use strict'
// The argument writer: commands are encoded into one growable byte buffer (u32 LE length
// + bytes per argument) that the native side copies in one call.

/** Redis refuses bulk strings of 512 MiB and more (proto-max-bulk-len). */
const MAX_ARG_BYTES = 512 * 1024 * 1024

/**
 * A growable byte buffer commands are encoded into (u32 LE length + bytes per argument).
 * Each client owns one for its batch of commands waiting for the next flush; `scratch`
 * serves single submissions. JS is single-threaded and the native side copies
 * synchronously, so a buffer is reused as soon as it was handed over.
 */
class Writer {
  constructor(size) {
    this.buf = Buffer.allocUnsafe(size)
    this.pos = 0
  }

  ensure(extra) {
    const needed = this.pos + extra
    if (needed <= this.buf.length) return
    let size = this.buf.length
    while (size < needed) size *= 2
    const bigger = Buffer.allocUnsafe(size)
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  u32(n) {
    this.ensure(4)
    putU32(this.buf, n, this.pos)
    this.pos += 4
  }

  /** Appends one argument; throws RangeError for 512 MiB and more. */
  arg(name, arg) {
    if (typeof arg === 'string') {
      if (arg.length * 3 + this.pos + 4 > this.buf.length) {
        const bytes = Buffer.byteLength(arg)
        if (bytes >= MAX_ARG_BYTES) throw tooBig(name, bytes)
        this.ensure(4 + bytes)
      }
      const written = arg.length <= SHORT_ASCII ? writeShort(this.buf, arg, this.pos + 4) : -1
      const n = written >= 0 ? written : this.buf.write(arg, this.pos + 4, 'utf8')
      putU32(this.buf, n, this.pos)
      this.pos += 4 + n
    } else if (Buffer.isBuffer(arg) || arg instanceof Uint8Array) {
      if (arg.length >= MAX_ARG_BYTES) throw tooBig(name, arg.length)
      this.u32(arg.length)
      this.ensure(arg.length)
      this.buf.set(arg, this.pos)
      this.pos += arg.length
    } else if (arg === null || arg === undefined) {
      this.u32(0)
    } else {
      this.arg(name, typeof arg === 'bigint' ? arg.toString() : String(arg))
    }
  }

  /** Appends the command name and its arguments. */
  command(name, args) {
    this.arg(name, name)
    for (let i = 0; i < args.length; i++) this.arg(name, args[i])
  }
}

const scratch = new Writer(16 * 1024)

/** Strings up to this length are copied by hand when ASCII: cheaper than a utf8 write call. */
const SHORT_ASCII = 24

/** Copies an ASCII string into `buf` at `at`; -1 (nothing usable written) at the first non-ASCII char. */
function writeShort(buf, str, at) {
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i)
    if (c > 0x7f) return -1
    buf[at + i] = c
  }
  return str.length
}

function putU32(buf, n, at) {
  buf[at] = n & 0xff
  buf[at + 1] = (n >>> 8) & 0xff
  buf[at + 2] = (n >>> 16) & 0xff
  buf[at + 3] = n >>> 24
}

function tooBig(name, bytes) {
  return new RangeError(`Argument of ${name} is ${bytes} bytes; Redis refuses arguments of 512 MiB or more`)
}

module.exports = { Writer, scratch }
