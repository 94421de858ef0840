/**
 * The whole server side of a transport without I/O. It detects, from the client's first bytes, the framing and
 * whether the stream is obfuscated (and with which MTProxy secret, and for which DC), then decodes client packets and
 * encodes answers, quick acks and transport errors.
 *
 * Detection: 0xef → abridged; eeeeeeee → intermediate; dddddddd → padded; bytes 4..8 zero → full (an obfuscated init
 * never has them zero); HTTP verbs and a TLS record → unsupported; anything else → a 64-byte obfuscated init whose
 * decrypted tag must name abridged, intermediate or padded.
 */
import { ByteQueue } from './byte-queue.ts'
import { TransportProtocolError } from './errors.ts'
import type {
  Framing,
  FramingName,
  RandomSource,
  ServerFrame,
  ServerFrameDecoder,
  ServerFrameEncoder,
} from './framing.ts'
import { FRAMINGS, framingByObfuscationTag } from './framings.ts'
import { ABRIDGED_TAG } from './abridged.ts'
import { INTERMEDIATE_TAG, PADDED_INTERMEDIATE_TAG } from './intermediate.ts'
import {
  OBFUSCATED_INIT_LENGTH,
  acceptClientObfuscation,
  type AcceptedObfuscation,
  type ObfuscationCipher,
} from './obfuscation.ts'

/** First ints of streams that are not MTProto over TCP, with a readable name. */
const FOREIGN_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [0x44414548, 'HTTP (HEAD)'],
  [0x54534f50, 'HTTP (POST)'],
  [0x20544547, 'HTTP (GET)'],
  [0x4954504f, 'HTTP (OPTIONS)'],
  [0x02010316, 'TLS (fake-TLS MTProxy is not supported)'],
])

export interface ServerTransportCodecOptions {
  /** Accept non-obfuscated clients. Default: true unless `mtproxySecrets` is set (a real MTProxy refuses them). */
  allowPlain?: boolean
  /** Accept obfuscated clients. Default true. */
  allowObfuscated?: boolean
  /** Act as an MTProxy endpoint: obfuscated clients must use one of these 16-byte secrets. */
  mtproxySecrets?: readonly Uint8Array[]
  maxFrameLength?: number
  random?: RandomSource
}

/** What detection found out about the client. */
export interface TransportDetection {
  readonly framing: FramingName
  readonly obfuscated: boolean
  /** The int16 at init offset 60 (the MTProxy target DC); only for obfuscated clients, random unless they set it. */
  readonly dcId?: number
  /** Which of `mtproxySecrets` the client used. */
  readonly secretIndex?: number
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`
}

export class ServerTransportCodec {
  private readonly allowPlain: boolean
  private readonly allowObfuscated: boolean
  /** Bytes before detection completes (at most 64). Released afterwards. */
  private preamble: ByteQueue | undefined = new ByteQueue()
  private detected: TransportDetection | undefined
  private encoder: ServerFrameEncoder | undefined
  private decoder: ServerFrameDecoder | undefined
  private cipher: ObfuscationCipher | undefined
  private failure: TransportProtocolError | undefined

  constructor(private readonly options: ServerTransportCodecOptions = {}) {
    this.allowPlain = options.allowPlain ?? options.mtproxySecrets === undefined
    this.allowObfuscated = options.allowObfuscated ?? true
  }

  /** Undefined until enough bytes arrived to tell. */
  get detection(): TransportDetection | undefined {
    return this.detected
  }

  /** Bytes received and held: the undetected preamble, or a frame not yet complete. */
  get buffered(): number {
    return this.decoder?.buffered ?? this.preamble?.length ?? 0
  }

  /** Bytes read from the socket. */
  push(chunk: Uint8Array): void {
    if (this.decoder !== undefined) {
      this.decoder.push(this.cipher === undefined ? chunk : this.cipher.decrypt(chunk))
    } else {
      this.preamble?.push(chunk)
    }
  }

  /** Next client packet, or undefined when more bytes are needed. Throws TransportProtocolError. */
  next(): ServerFrame | undefined {
    if (this.decoder === undefined) {
      if (this.failure !== undefined) throw this.failure
      try {
        if (!this.detect()) return undefined
      } catch (error) {
        if (error instanceof TransportProtocolError) {
          this.failure = error
          this.preamble = undefined
        }
        throw error
      }
    }
    return this.decoder?.next()
  }

  /** Bytes to write for one answer. Call only after detection (i.e. after the first frame arrived). */
  encode(payload: Uint8Array): Uint8Array {
    return this.seal(this.requireEncoder().encode(payload))
  }

  encodeQuickAck(token: number): Uint8Array {
    return this.seal(this.requireEncoder().encodeQuickAck(token))
  }

  encodeTransportError(code: number): Uint8Array {
    return this.seal(this.requireEncoder().encodeTransportError(code))
  }

  private seal(framed: Uint8Array): Uint8Array {
    return this.cipher === undefined ? framed : this.cipher.encrypt(framed)
  }

  private requireEncoder(): ServerFrameEncoder {
    if (this.encoder === undefined)
      throw new RangeError('transport not detected yet: nothing can be sent before the first client bytes')
    return this.encoder
  }

  /** Tries to detect from the preamble; returns true once the decoder exists. */
  private detect(): boolean {
    const q = this.preamble
    if (q === undefined || q.length < 1) return false
    if (q.byteAt(0) === ABRIDGED_TAG) return this.plain(FRAMINGS.abridged, 1)
    if (q.length < 4) return false
    const first = q.uint32LE(0)
    if (first === INTERMEDIATE_TAG) return this.plain(FRAMINGS.intermediate, 4)
    if (first === PADDED_INTERMEDIATE_TAG) return this.plain(FRAMINGS.padded, 4)
    const foreign = FOREIGN_PROTOCOLS.get(first)
    if (foreign !== undefined) throw new TransportProtocolError('unsupported-transport', foreign)
    if (q.length < 8) return false
    if (q.uint32LE(4) === 0) return this.plain(FRAMINGS.full, 0)
    if (!this.allowObfuscated)
      throw new TransportProtocolError('unknown-tag', `unknown transport start ${hex32(first)}`)
    if (q.length < OBFUSCATED_INIT_LENGTH) return false
    const header = q.read(OBFUSCATED_INIT_LENGTH)
    const [accepted, framing, secretIndex] = this.acceptObfuscated(header)
    this.detected = { framing: framing.name, obfuscated: true, dcId: accepted.dcId, secretIndex }
    this.cipher = accepted.cipher
    this.start(framing)
    return true
  }

  private acceptObfuscated(header: Uint8Array): [AcceptedObfuscation, Framing, number | undefined] {
    const secrets = this.options.mtproxySecrets
    let lastTag = 0
    if (secrets === undefined) {
      const accepted = acceptClientObfuscation(header)
      const framing = framingByObfuscationTag(accepted.tag)
      if (framing !== undefined) return [accepted, framing, undefined]
      lastTag = accepted.tag
    } else {
      // The right secret is the one under which the tag decrypts to a known value.
      for (let i = 0; i < secrets.length; i++) {
        const accepted = acceptClientObfuscation(header, secrets[i])
        const framing = framingByObfuscationTag(accepted.tag)
        if (framing !== undefined) return [accepted, framing, i]
        lastTag = accepted.tag
      }
    }
    throw new TransportProtocolError(
      'unknown-tag',
      secrets === undefined
        ? `obfuscated init carries unknown tag ${hex32(lastTag)}`
        : 'obfuscated init matches none of the MTProxy secrets',
    )
  }

  private plain(framing: Framing, tagLength: number): boolean {
    if (!this.allowPlain) {
      throw new TransportProtocolError(
        'plain-not-allowed',
        `plain ${framing.name} transport refused (obfuscation required)`,
      )
    }
    this.preamble?.skip(tagLength)
    this.detected = { framing: framing.name, obfuscated: false }
    this.start(framing)
    return true
  }

  private start(framing: Framing): void {
    this.encoder = framing.createServerEncoder({ random: this.options.random })
    const decoder = framing.createServerDecoder({ maxFrameLength: this.options.maxFrameLength })
    const rest = this.preamble?.readAll()
    this.preamble = undefined
    if (rest !== undefined && rest.length > 0)
      decoder.push(this.cipher === undefined ? rest : this.cipher.decrypt(rest))
    this.decoder = decoder
  }
}
