/**
 * Full framing: length (4, covers the whole packet) ‖ seq (4) ‖ payload ‖ CRC32 of everything before it. Each
 * direction numbers its packets from 0; the receiver checks both seq and CRC. There is no tag: a plain full
 * connection starts directly with the first packet, and full cannot be obfuscated.
 *
 * Quick acks: the client sets the top bit of the length (the CRC covers the length as sent); the server answers with a
 * bare 4-byte LE word with the top bit set, outside the seq numbering, as in intermediate.
 */
import { crc32 } from './crc32.ts'
import { TransportProtocolError } from './errors.ts'
import {
  FrameDecoderBase,
  checkOutgoingLength,
  classifyServerPayload,
  isBareTransportError,
  writeUint32LE,
} from './frame-decoder-base.ts'
import {
  QUICK_ACK_BIT,
  type ClientFrameEncoder,
  type ClientTransportEvent,
  type EncodeOptions,
  type Framing,
  type ServerFrame,
  type ServerFrameEncoder,
} from './framing.ts'

/** Bytes of a full packet around the payload: length, seq and CRC. */
export const FULL_OVERHEAD = 12

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0
}

/** Per-direction state: the next seq to write. */
class FullWriter {
  private seq = 0

  write(payload: Uint8Array, lengthFlags: number): Uint8Array {
    checkOutgoingLength(payload)
    const length = payload.length + FULL_OVERHEAD
    const out = new Uint8Array(length)
    writeUint32LE(out, 0, (length | lengthFlags) >>> 0)
    writeUint32LE(out, 4, this.seq)
    this.seq = (this.seq + 1) >>> 0
    out.set(payload, 8)
    writeUint32LE(out, length - 4, crc32(out.subarray(0, length - 4)))
    return out
  }
}

export class FullClientEncoder implements ClientFrameEncoder {
  private readonly writer = new FullWriter()

  encode(payload: Uint8Array, options: EncodeOptions = {}): Uint8Array {
    return this.writer.write(payload, options.quickAck === true ? QUICK_ACK_BIT : 0)
  }
}

export class FullServerEncoder implements ServerFrameEncoder {
  private readonly writer = new FullWriter()

  encode(payload: Uint8Array): Uint8Array {
    return this.writer.write(payload, 0)
  }

  encodeQuickAck(token: number): Uint8Array {
    const out = new Uint8Array(4)
    writeUint32LE(out, 0, (token | QUICK_ACK_BIT) >>> 0)
    return out
  }

  encodeTransportError(code: number): Uint8Array {
    // A regular packet with a 4-byte payload (consumes a seq), which is what GramJS and Telethon expect.
    const payload = new Uint8Array(4)
    writeUint32LE(payload, 0, code)
    return this.writer.write(payload, 0)
  }
}

/** Reads one packet whose length (without flags) is known; checks CRC and seq. */
class FullReader {
  private expectedSeq = 0

  constructor(private readonly maxFrameLength: number) {}

  /** Validates a declared length before buffering for it. */
  checkLength(length: number): void {
    if (length < FULL_OVERHEAD) throw new TransportProtocolError('bad-length', `full packet length ${length} < 12`)
    if (length === FULL_OVERHEAD) throw new TransportProtocolError('empty-frame', 'full packet without payload')
    if (length - FULL_OVERHEAD > this.maxFrameLength) {
      throw new TransportProtocolError('frame-too-large', `declared length ${length} exceeds ${this.maxFrameLength}`)
    }
  }

  /** `packet` is the whole packet as received (length word included, flags and all). */
  open(packet: Uint8Array): Uint8Array {
    const end = packet.length - 4
    const expectedCrc = readUint32LE(packet, end)
    const actualCrc = crc32(packet.subarray(0, end))
    if (expectedCrc !== actualCrc) {
      throw new TransportProtocolError(
        'bad-crc',
        `CRC32 ${actualCrc.toString(16).padStart(8, '0')} != ${expectedCrc.toString(16).padStart(8, '0')}`,
      )
    }
    const seq = readUint32LE(packet, 4)
    if (seq !== this.expectedSeq)
      throw new TransportProtocolError('bad-seq', `seq ${seq}, expected ${this.expectedSeq}`)
    this.expectedSeq = (this.expectedSeq + 1) >>> 0
    return packet.subarray(8, end)
  }
}

export class FullClientDecoder extends FrameDecoderBase<ClientTransportEvent> {
  private readonly reader = new FullReader(this.maxFrameLength)

  protected decodeOne(): ClientTransportEvent | undefined {
    const q = this.queue
    if (q.length < 4) return undefined
    const word = q.uint32LE(0)
    if (word & QUICK_ACK_BIT) {
      q.skip(4)
      if (isBareTransportError(word)) {
        // Telegram has been seen sending e.g. -429 three times unframed; nothing after it is reliable.
        this.stop()
        const bytes = new Uint8Array(4)
        writeUint32LE(bytes, 0, word)
        return classifyServerPayload(bytes, false)
      }
      return { type: 'quickAck', token: word }
    }
    this.reader.checkLength(word)
    if (q.length < word) return undefined
    return classifyServerPayload(this.reader.open(q.read(word)), false)
  }
}

export class FullServerDecoder extends FrameDecoderBase<ServerFrame> {
  private readonly reader = new FullReader(this.maxFrameLength)

  protected decodeOne(): ServerFrame | undefined {
    const q = this.queue
    if (q.length < 4) return undefined
    const word = q.uint32LE(0)
    const length = (word & ~QUICK_ACK_BIT) >>> 0
    this.reader.checkLength(length)
    if (q.length < length) return undefined
    return { payload: this.reader.open(q.read(length)), quickAck: (word & QUICK_ACK_BIT) !== 0 }
  }
}

export const full: Framing = {
  name: 'full',
  obfuscationTag: undefined,
  plainTag: new Uint8Array(0),
  createClientEncoder: () => new FullClientEncoder(),
  createClientDecoder: (options) => new FullClientDecoder(options),
  createServerEncoder: () => new FullServerEncoder(),
  createServerDecoder: (options) => new FullServerDecoder(options),
}
