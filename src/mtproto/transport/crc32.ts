import * as zlib from 'node:zlib'

/** CRC-32 (IEEE 802.3, as zlib) used by the full transport. */
export type Crc32 = (data: Uint8Array, previous?: number) => number

/** Reflected IEEE polynomial. */
const CRC32_POLYNOMIAL = 0xedb88320

let table: Uint32Array | undefined

function buildTable(): Uint32Array {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? CRC32_POLYNOMIAL ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
}

/** Table-driven fallback for Node releases older than 20.15, which lack `zlib.crc32`. */
export function crc32Table(data: Uint8Array, previous = 0): number {
  table ??= buildTable()
  let c = ~previous >>> 0
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32

/** Unsigned CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it). */
export const crc32: Crc32 =
  typeof native === 'function' ? (data, previous = 0) => native(data, previous) >>> 0 : crc32Table
