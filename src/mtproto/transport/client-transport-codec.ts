/**
 * The whole client side of a transport without I/O: framing plus optional obfuscation (plain, obfuscated, or MTProxy).
 * `encode()` returns the exact bytes to write (the first call carries the plain tag or the 64-byte obfuscation header);
 * `push()` takes the exact bytes read; `next()` yields frames, quick acks and transport errors.
 */
import { ProxyError } from './errors.ts'
import type {
  ClientFrameDecoder,
  ClientFrameEncoder,
  ClientTransportEvent,
  EncodeOptions,
  Framing,
  FramingName,
  RandomSource,
} from './framing.ts'
import { getFraming } from './framings.ts'
import type { MtproxySecret } from './mtproxy-secret.ts'
import { createClientObfuscation, type ObfuscationCipher } from './obfuscation.ts'

export interface ClientTransportCodecOptions {
  framing: FramingName
  /** Obfuscate the stream (AES-256-CTR with a random init). Forced on by `mtproxy`. */
  obfuscated?: boolean
  /** Going through MTProxy: the secret is mixed into the keys and `dcId` is written into the init. */
  mtproxy?: { secret: MtproxySecret; dcId: number }
  /** DC id to write at init offset 60 without MTProxy (tdlib does this; Telegram ignores it). */
  dcId?: number
  maxFrameLength?: number
  random?: RandomSource
}

export class ClientTransportCodec {
  readonly framing: Framing
  readonly obfuscated: boolean
  private readonly encoder: ClientFrameEncoder
  private readonly decoder: ClientFrameDecoder
  private readonly cipher: ObfuscationCipher | undefined
  private header: Uint8Array | undefined

  constructor(options: ClientTransportCodecOptions) {
    let name = options.framing
    if (options.mtproxy !== undefined) {
      if (options.mtproxy.secret.paddedOnly) name = 'padded'
      if (name === 'full') throw new ProxyError('mtproxy-bad-config', 'MTProxy cannot carry the full framing')
    }
    this.framing = getFraming(name)
    this.obfuscated = options.obfuscated === true || options.mtproxy !== undefined
    const tag = this.framing.obfuscationTag
    if (this.obfuscated) {
      if (tag === undefined) throw new RangeError(`the ${name} framing cannot be obfuscated`)
      const obfuscation = createClientObfuscation({
        tag,
        dcId: options.mtproxy?.dcId ?? options.dcId,
        secret: options.mtproxy?.secret.key,
        random: options.random,
      })
      this.cipher = obfuscation.cipher
      this.header = obfuscation.header
    }
    this.encoder = this.framing.createClientEncoder({ sendTag: !this.obfuscated, random: options.random })
    this.decoder = this.framing.createClientDecoder({ maxFrameLength: options.maxFrameLength })
  }

  /** Bytes to write for one packet (the first one carries the tag or obfuscation header). */
  encode(payload: Uint8Array, options?: EncodeOptions): Uint8Array {
    const framed = this.encoder.encode(payload, options)
    if (this.cipher === undefined) return framed
    const encrypted = this.cipher.encrypt(framed)
    if (this.header === undefined) return encrypted
    const out = new Uint8Array(this.header.length + encrypted.length)
    out.set(this.header)
    out.set(encrypted, this.header.length)
    this.header = undefined
    return out
  }

  /** Bytes read from the socket. */
  push(chunk: Uint8Array): void {
    this.decoder.push(this.cipher === undefined ? chunk : this.cipher.decrypt(chunk))
  }

  /** Next decoded event, or undefined when more bytes are needed. Throws TransportProtocolError. */
  next(): ClientTransportEvent | undefined {
    return this.decoder.next()
  }
}
