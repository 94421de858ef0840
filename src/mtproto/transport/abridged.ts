/**
 * Abridged framing: length in 4-byte words, one byte (0x01..0x7e) or 0x7f + 3 bytes LE. Plain connections start
 * with the single byte 0xef. A quick-ack request sets the top bit of the first length byte; the server's quick-ack
 * answer is the token byte-swapped (big-endian), so its first byte has the top bit set and cannot be a length.
 */
import type { ByteQueue } from './byte-queue.ts'
import { FrameDecoderBase, checkOutgoingLength, classifyServerPayload, writeUint32LE } from './frame-decoder-base.ts'
import {
  QUICK_ACK_BIT,
  type ClientEncoderOptions,
  type ClientFrameEncoder,
  type ClientTransportEvent,
  type EncodeOptions,
  type Framing,
  type ServerFrame,
  type ServerFrameEncoder,
} from './framing.ts'

/** First byte of a plain abridged connection. */
export const ABRIDGED_TAG = 0xef
/** The tag repeated to 4 bytes, as written into an obfuscated init. */
export const ABRIDGED_OBFUSCATION_TAG = 0xefefefef
/** First length byte meaning "3-byte length follows". */
const LONG_LENGTH_MARKER = 0x7f
/** Top bit of the first byte: quick ack (requested by the client, or the server's answer). */
const QUICK_ACK_BYTE_BIT = 0x80
/** Abridged lengths count 4-byte words in at most 3 bytes. */
const MAX_WORDS = 0xffffff

function encodeAbridged(payload: Uint8Array, quickAck: boolean, tag: boolean): Uint8Array {
  checkOutgoingLength(payload)
  if (payload.length % 4 !== 0) throw new RangeError(`abridged payload length ${payload.length} is not a multiple of 4`)
  const words = payload.length / 4
  if (words > MAX_WORDS) throw new RangeError(`abridged payload of ${payload.length} bytes is too long`)
  const prefix = tag ? 1 : 0
  const header = words < LONG_LENGTH_MARKER ? 1 : 4
  const out = new Uint8Array(prefix + header + payload.length)
  if (tag) out[0] = ABRIDGED_TAG
  if (header === 1) {
    out[prefix] = words
  } else {
    writeUint32LE(out, prefix, (words << 8) | LONG_LENGTH_MARKER)
  }
  if (quickAck) out[prefix] |= QUICK_ACK_BYTE_BIT
  out.set(payload, prefix + header)
  return out
}

export class AbridgedClientEncoder implements ClientFrameEncoder {
  private tagPending: boolean
  constructor(options: ClientEncoderOptions = {}) {
    this.tagPending = options.sendTag ?? true
  }

  encode(payload: Uint8Array, options: EncodeOptions = {}): Uint8Array {
    const out = encodeAbridged(payload, options.quickAck === true, this.tagPending)
    this.tagPending = false
    return out
  }
}

export class AbridgedServerEncoder implements ServerFrameEncoder {
  encode(payload: Uint8Array): Uint8Array {
    return encodeAbridged(payload, false, false)
  }

  encodeQuickAck(token: number): Uint8Array {
    const value = (token | QUICK_ACK_BIT) >>> 0
    // The documented abridged quirk: the token is byte-swapped, i.e. written big-endian.
    return new Uint8Array([value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff])
  }

  encodeTransportError(code: number): Uint8Array {
    const out = new Uint8Array(5)
    out[0] = 1 // one 4-byte word
    writeUint32LE(out, 1, code)
    return out
  }
}

/** Reads the header at the queue's head: [headerLength, payloadLength, firstByte] or undefined if incomplete. */
function readHeader(q: ByteQueue): [number, number, number] | undefined {
  if (q.length < 1) return undefined
  const first = q.byteAt(0)
  if ((first & ~QUICK_ACK_BYTE_BIT) !== LONG_LENGTH_MARKER) return [1, (first & ~QUICK_ACK_BYTE_BIT) * 4, first]
  if (q.length < 4) return undefined
  const words = q.byteAt(1) | (q.byteAt(2) << 8) | (q.byteAt(3) << 16)
  return [4, words * 4, first]
}

export class AbridgedClientDecoder extends FrameDecoderBase<ClientTransportEvent> {
  protected decodeOne(): ClientTransportEvent | undefined {
    const q = this.queue
    if (q.length < 1) return undefined
    if (q.byteAt(0) & QUICK_ACK_BYTE_BIT) {
      if (q.length < 4) return undefined
      const token = ((q.byteAt(0) << 24) | (q.byteAt(1) << 16) | (q.byteAt(2) << 8) | q.byteAt(3)) >>> 0
      q.skip(4)
      return { type: 'quickAck', token }
    }
    const header = readHeader(q)
    if (header === undefined) return undefined
    const [headerLength, length] = header
    this.checkLength(length)
    if (q.length < headerLength + length) return undefined
    q.skip(headerLength)
    return classifyServerPayload(q.read(length), false)
  }
}

export class AbridgedServerDecoder extends FrameDecoderBase<ServerFrame> {
  protected decodeOne(): ServerFrame | undefined {
    const q = this.queue
    const header = readHeader(q)
    if (header === undefined) return undefined
    const [headerLength, length, first] = header
    this.checkLength(length)
    if (q.length < headerLength + length) return undefined
    q.skip(headerLength)
    return { payload: q.read(length), quickAck: (first & QUICK_ACK_BYTE_BIT) !== 0 }
  }
}

export const abridged: Framing = {
  name: 'abridged',
  obfuscationTag: ABRIDGED_OBFUSCATION_TAG,
  plainTag: new Uint8Array([ABRIDGED_TAG]),
  createClientEncoder: (options) => new AbridgedClientEncoder(options),
  createClientDecoder: (options) => new AbridgedClientDecoder(options),
  createServerEncoder: () => new AbridgedServerEncoder(),
  createServerDecoder: (options) => new AbridgedServerDecoder(options),
}
