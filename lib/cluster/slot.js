'use strict'
// Hash slots in JS, for the checks ioredis makes before sending a cluster pipeline
// (routing itself happens in the Rust core, core/src/cluster/slot.rs).

const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  TABLE[i] = crc
}

/** The hash slot of `key` (string or Buffer): CRC16/XMODEM of its `{hash tag}` mod 16384. */
function slotOf(key) {
  let bytes = Buffer.isBuffer(key) ? key : Buffer.from(String(key))
  const open = bytes.indexOf(0x7b)
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1)
    if (close > open + 1) bytes = bytes.subarray(open + 1, close)
  }
  let crc = 0
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]
  return crc % 16384
}

module.exports = { slotOf }
