// What decoding one received packet may cost, shared by every reader of that packet: gzip_packed inside a
// container inside gzip_packed… each inflate draws on the same byte allowance and each packing level on the same
// depth, so a small packet cannot inflate gigabytes (a 64 MiB cap per object alone allows 64 MiB × every object)
// or recurse until the stack overflows. Every limit ends in a TlDecodeError.
import { gunzipSync, inflateSync } from 'node:zlib'
import { TlDecodeError } from './tl-errors.ts'

/** Bytes all the gzip_packed objects of one packet may inflate to together (intermediate layers included). */
export const MAX_PACKET_INFLATED_BYTES = 64 * 1024 * 1024
/** Packing levels (containers and gzip_packed) one inside another; Telegram uses two (a container, then gzip). */
export const MAX_PACKING_DEPTH = 8

export interface DecodeLimits {
  /** Default MAX_PACKET_INFLATED_BYTES. */
  maxInflatedBytes?: number
  /** Default MAX_PACKING_DEPTH. */
  maxDepth?: number
}

/** zlib (RFC 1950) header: CM = 8 (deflate) and the header checksum (CMF·256 + FLG divisible by 31). */
function isZlibHeader(b: Uint8Array): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0
}

export class DecodeBudget {
  readonly maxInflatedBytes: number
  readonly maxDepth: number
  /** Bytes inflated so far for this packet. */
  inflatedBytes = 0
  /** Packing levels currently open. */
  depth = 0

  constructor(limits: DecodeLimits = {}) {
    this.maxInflatedBytes = limits.maxInflatedBytes ?? MAX_PACKET_INFLATED_BYTES
    this.maxDepth = limits.maxDepth ?? MAX_PACKING_DEPTH
  }

  /** Opens a packing level (a container or a gzip_packed); `at` is the offset reported on failure. */
  enter(at: number): void {
    if (++this.depth > this.maxDepth)
      throw new TlDecodeError('too-deep', at, `containers and gzip_packed nested deeper than ${this.maxDepth}`)
  }

  leave(): void {
    this.depth--
  }

  /**
   * Inflates one gzip_packed body (gzip, RFC 1952, as Telegram sends; zlib, RFC 1950, as some clients send) within
   * what is left of the allowance. Never inflates past it: the inflater stops at the remaining byte count.
   */
  inflate(packed: Uint8Array, at: number): Uint8Array {
    const left = this.maxInflatedBytes - this.inflatedBytes
    if (left <= 0)
      throw new TlDecodeError('bad-gzip', at, `the packet already inflated ${this.inflatedBytes} bytes, its limit`)
    let out: Uint8Array
    try {
      if (packed.length >= 2 && packed[0] === 0x1f && packed[1] === 0x8b)
        out = gunzipSync(packed, { maxOutputLength: left })
      else if (isZlibHeader(packed)) out = inflateSync(packed, { maxOutputLength: left })
      else throw new Error('neither gzip nor zlib data')
    } catch (err) {
      const tooLarge = (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE'
      throw new TlDecodeError(
        'bad-gzip',
        at,
        tooLarge ? `inflates past the packet's limit of ${this.maxInflatedBytes} bytes` : (err as Error).message,
      )
    }
    this.inflatedBytes += out.length
    return out
  }
}
