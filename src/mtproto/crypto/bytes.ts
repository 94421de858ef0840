// Byte-array helpers the crypto modules share: big-endian bigint conversion, XOR, comparison.

import { timingSafeEqual } from 'node:crypto'

/** Reads `bytes` as an unsigned big-endian integer. */
export function bigIntFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n
  // hex round trip is the fastest conversion V8 offers for numbers of this size
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex'))
}

/** Writes `value` (≥ 0) as `length` big-endian bytes, left-padded with zeros. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new RangeError('negative value')
  const hex = value.toString(16)
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`)
  return Buffer.from(hex.padStart(length * 2, '0'), 'hex')
}

/** `bytes` left-padded with zeros to `size` (OpenSSL and some clients drop a number's leading zero bytes). */
export function leftPadBytes(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.length >= size) return bytes
  const out = new Uint8Array(size)
  out.set(bytes, size - bytes.length)
  return out
}

/** Byte length of the unsigned big-endian form of `value`. */
export function byteLengthOf(value: bigint): number {
  return value === 0n ? 0 : (value.toString(16).length + 1) >>> 1
}

/** a XOR b for equal lengths. */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError('xorBytes: length mismatch')
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i]
  return out
}

/** Constant-time equality (lengths are not secret). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Concatenation of `parts` into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0
  for (const p of parts) total += p.length
  const out = new Uint8Array(total)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** Reverses a copy of `bytes`. */
export function reversedBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes).reverse()
}
