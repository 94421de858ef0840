// A client that does what a real one would not, for tests (and the fuzzer) that push the test DC to its limits:
// raw bytes on a socket, frames in any transport, a real auth key from a real key exchange, encrypted messages in
// any session, and waits that end (an answer, a close, or a timeout) instead of hanging.
import { connect, type Socket } from 'node:net'
import {
  createClientObfuscation,
  getFraming,
  type ClientFrameDecoder,
  type ClientFrameEncoder,
  type ClientTransportEvent,
  type Framing,
  type FramingName,
  type ObfuscationCipher,
} from '../../src/mtproto/transport/index.ts'
import { exchangeAuthKey, type CreatedAuthKey } from '../../src/mtproto/handshake/auth-key-exchange.ts'
import { encryptMessage, decryptMessage, type DecryptedMessage } from '../../src/mtproto/crypto/message-cipher.ts'
import type { AuthKey } from '../../src/mtproto/crypto/auth-key.ts'
import type { RsaPublicKey } from '../../src/mtproto/crypto/rsa-keys.ts'
import { randomBytes } from '../../src/mtproto/crypto/random.ts'
import { MessageIdClock } from '../../src/mtproto/session/message-id-clock.ts'
import { packPlainMessage, unpackPlainMessage } from '../../src/mtproto/session/plain-message.ts'
import { isContainer, unpackContainer } from '../../src/mtproto/session/message-container.ts'
import { tlCodec, type TlValue } from '../../src/mtproto/tl/index.ts'

/** rpc_result#f35c6d01: not in the codec's object table (its result's type depends on the request). */
const RPC_RESULT_ID = 0xf35c6d01

export interface HostileTransport {
  framing: FramingName
  obfuscated?: boolean
}

/** What a wait ended with. */
export type WaitResult = ClientTransportEvent | { type: 'closed' } | { type: 'timeout' }

/**
 * The client half of a transport, with the start (tag or obfuscation header) kept apart from the frames so a test
 * can send the start alone, or bytes of its own choosing after it.
 */
class HostileCodec {
  readonly framing: Framing
  private readonly encoder: ClientFrameEncoder
  private readonly decoder: ClientFrameDecoder
  private readonly cipher: ObfuscationCipher | undefined
  /** The tag (plain) or the 64-byte header (obfuscated); empty for full. */
  readonly start: Uint8Array

  constructor(transport: HostileTransport) {
    this.framing = getFraming(transport.framing)
    this.encoder = this.framing.createClientEncoder({ sendTag: false })
    this.decoder = this.framing.createClientDecoder({})
    if (transport.obfuscated) {
      const tag = this.framing.obfuscationTag
      if (tag === undefined) throw new RangeError(`the ${transport.framing} framing cannot be obfuscated`)
      const ob = createClientObfuscation({ tag })
      this.cipher = ob.cipher
      this.start = ob.header
    } else {
      this.start = this.framing.plainTag
    }
  }

  /** The bytes of one frame (no start), encrypted if obfuscated; abridged counts in words, so it pads to 4 bytes. */
  frame(payload: Uint8Array): Uint8Array {
    if (this.framing.name === 'abridged' && payload.length % 4 !== 0) {
      const padded = new Uint8Array(payload.length + 4 - (payload.length % 4))
      padded.set(payload)
      payload = padded
    }
    return this.seal(this.encoder.encode(payload))
  }

  /** Bytes sent as they are within the stream (encrypted if obfuscated, so the DC reads them as written). */
  seal(bytes: Uint8Array): Uint8Array {
    return this.cipher === undefined ? bytes : this.cipher.encrypt(bytes)
  }

  push(chunk: Uint8Array): void {
    this.decoder.push(this.cipher === undefined ? chunk : this.cipher.decrypt(chunk))
  }

  next(): ClientTransportEvent | undefined {
    return this.decoder.next()
  }
}

export class HostileClient {
  readonly codec: HostileCodec
  private started = false
  private readonly events: ClientTransportEvent[] = []
  private wake: (() => void) | undefined
  private closedFlag = false
  /** The DC sent bytes that do not frame in this transport (a DC bug: its answers must always frame). */
  badStream = false
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>
  private readonly plainClock = new MessageIdClock(0)

  private constructor(
    readonly socket: Socket,
    transport: HostileTransport,
  ) {
    this.codec = new HostileCodec(transport)
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true
        this.wake?.()
        resolve()
      })
    })
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      try {
        this.codec.push(chunk)
        for (let e = this.codec.next(); e !== undefined; e = this.codec.next()) this.events.push(e)
      } catch {
        this.badStream = true
        socket.destroy() // a stream we cannot frame: nothing after it can be trusted
      }
      this.wake?.()
    })
  }

  /** Opens a TCP connection to `port`; nothing is sent until asked. */
  static connect(
    port: number,
    transport: HostileTransport = { framing: 'intermediate' },
    host = '127.0.0.1',
  ): Promise<HostileClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new HostileClient(socket, transport))
      })
    })
  }

  get isClosed(): boolean {
    return this.closedFlag
  }

  /** Writes bytes as they are (no framing, no obfuscation). */
  writeRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** Frames `payload` in the client's transport (the start goes first, once). */
  sendPacket(payload: Uint8Array): void {
    this.sendTransportStart()
    this.writeRaw(this.codec.frame(payload))
  }

  /**
   * The transport's start alone (tag or obfuscation header), once: enough for the DC to detect every transport but
   * full, which has no start (the DC knows it from the first frame).
   */
  sendTransportStart(): void {
    if (this.started) return
    this.started = true
    if (this.codec.start.length > 0) this.writeRaw(this.codec.start)
  }

  /** Bytes inside the transport stream after its start (encrypted when obfuscated): lengths, partial frames, junk. */
  sendInStream(bytes: Uint8Array): void {
    this.sendTransportStart()
    this.writeRaw(this.codec.seal(bytes))
  }

  /** The next frame, quick ack or transport error; or the close; or a timeout after `ms`. */
  async next(ms = 5000): Promise<WaitResult> {
    const deadline = Date.now() + ms
    for (;;) {
      const e = this.events.shift()
      if (e !== undefined) return e
      if (this.closedFlag) return { type: 'closed' }
      const left = deadline - Date.now()
      if (left <= 0) return { type: 'timeout' }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.wake = undefined
    }
  }

  /** Resolves true once the socket is closed, false if it is still open after `ms`. */
  async waitClosed(ms: number): Promise<boolean> {
    if (this.closedFlag) return true
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
    const r = await Promise.race([this.closed.then(() => true as const), timedOut])
    clearTimeout(timer)
    return r
  }

  /** Sends one unencrypted message (key-exchange steps). */
  sendPlain(body: Uint8Array): void {
    this.sendPacket(packPlainMessage(this.plainClock.next(), body))
  }

  /** Runs a real key exchange over this connection. */
  async createKey(opts: {
    dcId: number
    rsaKeys: Iterable<RsaPublicKey>
    timeoutMs?: number
  }): Promise<CreatedAuthKey> {
    const ms = opts.timeoutMs ?? 10_000
    return exchangeAuthKey(
      {
        request: async (body, step) => {
          this.sendPlain(body)
          const answer = await this.next(ms)
          if (answer.type !== 'frame') throw new Error(`key exchange step ${step}: got ${answer.type}`)
          return unpackPlainMessage(answer.payload).body
        },
      },
      { dcId: opts.dcId, testMode: true, rsaKeys: opts.rsaKeys },
    )
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** One encrypted session of a key, on whichever connection it is told to use. */
export class HostileSession {
  readonly clock: MessageIdClock
  private contentSent = 0

  constructor(
    readonly key: CreatedAuthKey,
    readonly sessionId: bigint = randomLong(),
  ) {
    this.clock = new MessageIdClock(0)
    this.clock.setServerTime(Date.now() / 1000 + key.timeOffset)
  }

  get authKey(): AuthKey {
    return this.key.authKey
  }

  /** Encrypts one message of this session: a TL object, or raw body bytes (length divisible by 4). */
  packet(
    body: TlValue | Uint8Array,
    opts: { contentRelated?: boolean; msgId?: bigint; salt?: bigint } = {},
  ): { packet: Uint8Array; msgId: bigint } {
    const bytes = body instanceof Uint8Array ? body : tlCodec.encode(body)
    const msgId = opts.msgId ?? this.clock.next()
    const related = opts.contentRelated ?? true
    const seqNo = related ? this.contentSent++ * 2 + 1 : this.contentSent * 2
    const { packet } = encryptMessage(this.key.authKey, 'client', {
      salt: opts.salt ?? this.key.serverSalt,
      sessionId: this.sessionId,
      msgId,
      seqNo,
      body: bytes,
    })
    return { packet, msgId }
  }

  /** Sends `body` on `client` and returns its msg_id. */
  send(
    client: HostileClient,
    body: TlValue | Uint8Array,
    opts: { contentRelated?: boolean; salt?: bigint } = {},
  ): bigint {
    const { packet, msgId } = this.packet(body, opts)
    client.sendPacket(packet)
    return msgId
  }

  /** Decrypts a frame the DC sent under this key (padded intermediate's padding is cut off first). */
  open(payload: Uint8Array): DecryptedMessage {
    return decryptMessage(
      this.key.authKey,
      'server',
      payload.length < 24 ? payload : payload.subarray(0, 24 + ((payload.length - 24) & ~15)),
    )
  }
}

/** Decoded service messages of one answer packet (a container's messages one by one). */
export function serviceObjects(message: DecryptedMessage): TlValue[] {
  return objectsOf(message.body)
}

function objectsOf(body: Uint8Array): TlValue[] {
  if (isContainer(body)) return unpackContainer(body).flatMap((m) => objectsOf(m.body))
  if (new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true) === RPC_RESULT_ID)
    return [rpcResult(body)]
  return [tlCodec.decode(body)]
}

/** rpc_result#f35c6d01 req_msg_id:long result:Object, with the result decoded when it is a known object (else its bytes). */
function rpcResult(body: Uint8Array): TlValue {
  const reqMsgId = new DataView(body.buffer, body.byteOffset, body.byteLength).getBigInt64(4, true)
  const raw = body.subarray(12)
  let result: TlValue | Uint8Array = raw
  try {
    result = tlCodec.decode(raw)
  } catch {
    // a result only its request's reader can read: left as bytes
  }
  return { _: 'rpc_result', reqMsgId, result }
}

/**
 * Reads answers on `client` for `session` (other sessions' messages are skipped) until `until` holds for one of
 * their objects, the connection ends, or `ms` pass; returns every object seen.
 */
export async function readUntil(
  client: HostileClient,
  session: HostileSession,
  until: (o: TlValue) => boolean,
  ms = 5000,
): Promise<{ seen: TlValue[]; found: TlValue | undefined; ended: WaitResult['type'] | undefined }> {
  const deadline = Date.now() + ms
  const seen: TlValue[] = []
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) return { seen, found: undefined, ended: 'timeout' }
    const e = await client.next(left)
    if (e.type !== 'frame') return { seen, found: undefined, ended: e.type }
    const message = session.open(e.payload)
    if (message.sessionId !== session.sessionId) continue // another session of the same key
    for (const o of serviceObjects(message)) {
      seen.push(o)
      if (until(o)) return { seen, found: o, ended: undefined }
    }
  }
}

export function randomLong(): bigint {
  return new DataView(randomBytes(8).buffer).getBigInt64(0, true)
}

/** Transport error code of a wait result, or undefined. */
export function transportErrorCode(r: WaitResult): number | undefined {
  return r.type === 'transportError' ? r.error.code : undefined
}
