/**
 * Intermediate framing: a 4-byte LE length before each packet; plain connections start with eeeeeeee. The padded
 * variant (dddddddd, see padded-intermediate.ts) appends 0–15 random bytes counted in the length; the same classes
 * serve both, switched by `padded`.
 *
 * Top bit of the length: client→server "quick ack requested"; server→client the whole 4-byte word is a quick-ack
 * token (no payload follows).
 */
import { randomBytes } from 'node:crypto'
import {
  FrameDecoderBase,
  checkOutgoingLength,
  classifyServerPayload,
  isBareTransportError,
  writeUint32LE,
} from './frame-decoder-base.ts'
import {
  QUICK_ACK_BIT,
  type ClientEncoderOptions,
  type ClientFrameEncoder,
  type ClientTransportEvent,
  type DecoderOptions,
  type EncodeOptions,
  type Framing,
  type RandomSource,
  type ServerEncoderOptions,
  type ServerFrame,
  type ServerFrameEncoder,
} from './framing.ts'

/** Plain intermediate tag (also the obfuscated-init tag). */
export const INTERMEDIATE_TAG = 0xeeeeeeee
/** Plain padded-intermediate tag (also the obfuscated-init tag). */
export const PADDED_INTERMEDIATE_TAG = 0xdddddddd
/** Padding is 0..MAX_PADDING bytes. */
const MAX_PADDING = 15

const defaultRandom: RandomSource = (n) => randomBytes(n)

function tagBytes(tag: number): Uint8Array {
  const out = new Uint8Array(4)
  writeUint32LE(out, 0, tag)
  return out
}

function encodeIntermediate(
  payload: Uint8Array,
  lengthFlags: number,
  tag: number | undefined,
  random: RandomSource | undefined,
): Uint8Array {
  checkOutgoingLength(payload)
  let padding = 0
  let paddingBytes: Uint8Array | undefined
  if (random !== undefined) {
    // One draw gives both the padding length (low 4 bits of byte 0) and up to 15 padding bytes.
    paddingBytes = random(MAX_PADDING + 1)
    padding = paddingBytes[0] & MAX_PADDING
  }
  const prefix = tag === undefined ? 0 : 4
  const out = new Uint8Array(prefix + 4 + payload.length + padding)
  if (tag !== undefined) writeUint32LE(out, 0, tag)
  writeUint32LE(out, prefix, ((payload.length + padding) | lengthFlags) >>> 0)
  out.set(payload, prefix + 4)
  if (paddingBytes !== undefined && padding > 0)
    out.set(paddingBytes.subarray(1, 1 + padding), prefix + 4 + payload.length)
  return out
}

export class IntermediateClientEncoder implements ClientFrameEncoder {
  private tagPending: boolean
  private readonly random: RandomSource | undefined
  constructor(
    private readonly padded: boolean,
    options: ClientEncoderOptions = {},
  ) {
    this.tagPending = options.sendTag ?? true
    this.random = padded ? (options.random ?? defaultRandom) : undefined
  }

  encode(payload: Uint8Array, options: EncodeOptions = {}): Uint8Array {
    const tag = this.tagPending ? (this.padded ? PADDED_INTERMEDIATE_TAG : INTERMEDIATE_TAG) : undefined
    const out = encodeIntermediate(payload, options.quickAck === true ? QUICK_ACK_BIT : 0, tag, this.random)
    this.tagPending = false
    return out
  }
}

export class IntermediateServerEncoder implements ServerFrameEncoder {
  private readonly random: RandomSource | undefined
  constructor(padded: boolean, options: ServerEncoderOptions = {}) {
    this.random = padded ? (options.random ?? defaultRandom) : undefined
  }

  encode(payload: Uint8Array): Uint8Array {
    return encodeIntermediate(payload, 0, undefined, this.random)
  }

  encodeQuickAck(token: number): Uint8Array {
    return tagBytes((token | QUICK_ACK_BIT) >>> 0)
  }

  encodeTransportError(code: number): Uint8Array {
    // Never padded: a bare 4-byte error frame is what every client understands.
    const out = new Uint8Array(8)
    writeUint32LE(out, 0, 4)
    writeUint32LE(out, 4, code)
    return out
  }
}

export class IntermediateClientDecoder extends FrameDecoderBase<ClientTransportEvent> {
  constructor(
    private readonly padded: boolean,
    options?: DecoderOptions,
  ) {
    super(options)
  }

  protected decodeOne(): ClientTransportEvent | undefined {
    const q = this.queue
    if (q.length < 4) return undefined
    const word = q.uint32LE(0)
    if (word & QUICK_ACK_BIT) {
      q.skip(4)
      if (isBareTransportError(word)) {
        this.stop()
        return classifyServerPayload(tagBytes(word), false)
      }
      return { type: 'quickAck', token: word }
    }
    this.checkLength(word)
    if (q.length < 4 + word) return undefined
    q.skip(4)
    return classifyServerPayload(q.read(word), this.padded)
  }
}

export class IntermediateServerDecoder extends FrameDecoderBase<ServerFrame> {
  protected decodeOne(): ServerFrame | undefined {
    const q = this.queue
    if (q.length < 4) return undefined
    const word = q.uint32LE(0)
    const length = (word & ~QUICK_ACK_BIT) >>> 0
    this.checkLength(length)
    if (q.length < 4 + length) return undefined
    q.skip(4)
    return { payload: q.read(length), quickAck: (word & QUICK_ACK_BIT) !== 0 }
  }
}

export const intermediate: Framing = {
  name: 'intermediate',
  obfuscationTag: INTERMEDIATE_TAG,
  plainTag: tagBytes(INTERMEDIATE_TAG),
  createClientEncoder: (options) => new IntermediateClientEncoder(false, options),
  createClientDecoder: (options) => new IntermediateClientDecoder(false, options),
  createServerEncoder: (options) => new IntermediateServerEncoder(false, options),
  createServerDecoder: (options) => new IntermediateServerDecoder(options),
}
