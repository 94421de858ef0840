// A bare MTProto client for test-DC protocol tests: intermediate framing on a plain socket, the key exchange with a
// chosen RSA scheme and p_q_inner_data variant (exchangeAuthKey's options), and encrypted messages sent and read one
// by one with our own codec — so a test sees exactly what the DC sends (plain pong or rpc_result, containers…).
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import {
  exchangeAuthKey,
  type AuthKeyExchangeOptions,
  type CreatedAuthKey,
} from '../../src/mtproto/handshake/auth-key-exchange.ts'
import { decryptMessage, encryptMessage } from '../../src/mtproto/crypto/message-cipher.ts'
import type { AuthKey } from '../../src/mtproto/crypto/auth-key.ts'
import { randomBytes } from '../../src/mtproto/crypto/random.ts'
import type { RsaPublicKey } from '../../src/mtproto/crypto/rsa-keys.ts'
import { packPlainMessage, unpackPlainMessage } from '../../src/mtproto/session/plain-message.ts'
import { isContainer, unpackContainer } from '../../src/mtproto/session/message-container.ts'
import { tlCodec, type TlValue } from '../../src/mtproto/tl/index.ts'

const INTERMEDIATE_TAG = Uint8Array.of(0xee, 0xee, 0xee, 0xee)
const RPC_RESULT_ID = 0xf35c6d01

export interface ReceivedMessage {
  msgId: bigint
  seqNo: number
  body: Uint8Array
  /** The decoded body; rpc_result is decoded as { _: 'rpc_result', reqMsgId, result } with result decoded when it can be. */
  obj: TlValue
}

export class RawDcClient {
  private readonly frames: Uint8Array[] = []
  private waiters: (() => void)[] = []
  private buffer = new Uint8Array(0)
  closed = false
  private lastMsgId = 0n
  private seqNo = 0
  authKey: AuthKey | undefined
  salt = 0n
  sessionId = new DataView(randomBytes(8).buffer).getBigInt64(0, true)

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
    socket.on('error', () => {})
    socket.write(INTERMEDIATE_TAG)
  }

  static async connect(host: string, port: number): Promise<RawDcClient> {
    const socket = connect(port, host)
    await once(socket, 'connect')
    return new RawDcClient(socket)
  }

  close(): void {
    this.socket.destroy()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  private receive(chunk: Uint8Array): void {
    const all = new Uint8Array(this.buffer.length + chunk.length)
    all.set(this.buffer)
    all.set(chunk, this.buffer.length)
    let at = 0
    while (all.length - at >= 4) {
      const len = new DataView(all.buffer, all.byteOffset + at, 4).getUint32(0, true)
      if (all.length - at - 4 < len) break
      this.frames.push(all.slice(at + 4, at + 4 + len))
      at += 4 + len
    }
    this.buffer = all.slice(at)
    this.wake()
  }

  sendFrame(payload: Uint8Array): void {
    const head = new Uint8Array(4)
    new DataView(head.buffer).setUint32(0, payload.length, true)
    this.socket.write(head)
    this.socket.write(payload)
  }

  /** The next frame from the DC (a 4-byte frame is a transport error); rejects after `timeoutMs` or on close. */
  async nextFrame(timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const f = this.frames.shift()
      if (f) return f
      if (this.closed) throw new Error('connection closed')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('no frame in time')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Resolves when the DC closes the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('still open')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** A fresh client msg_id (increasing, divisible by 4). */
  nextMsgId(): bigint {
    let id = (BigInt(Math.floor(Date.now() / 1000)) << 32n) | (BigInt(Math.floor(Math.random() * 0xffffffff)) & ~3n)
    if (id <= this.lastMsgId) id = this.lastMsgId + 4n
    this.lastMsgId = id
    return id
  }

  /** The key exchange on this connection; the key is used for the encrypted messages that follow. */
  async createKey(rsaKey: RsaPublicKey, opts: Partial<AuthKeyExchangeOptions> = {}): Promise<CreatedAuthKey> {
    const created = await exchangeAuthKey(
      {
        request: async (body) => {
          this.sendFrame(packPlainMessage(this.nextMsgId(), body))
          const frame = await this.nextFrame()
          if (frame.length === 4)
            throw new Error(`transport error ${new DataView(frame.buffer, frame.byteOffset).getInt32(0, true)}`)
          return unpackPlainMessage(frame).body
        },
      },
      { dcId: 2, testMode: true, rsaKeys: [rsaKey], ...opts },
    )
    this.useKey(created.authKey, created.serverSalt)
    return created
  }

  useKey(authKey: AuthKey, salt: bigint): void {
    this.authKey = authKey
    this.salt = salt
  }

  /** Sends one encrypted message (content-related unless said otherwise); returns its msg_id. */
  send(body: Uint8Array | TlValue, opts: { contentRelated?: boolean; msgId?: bigint } = {}): bigint {
    const bytes = body instanceof Uint8Array ? body : tlCodec.encode(body)
    const msgId = opts.msgId ?? this.nextMsgId()
    const related = opts.contentRelated ?? true
    const seqNo = related ? this.seqNo++ * 2 + 1 : this.seqNo * 2
    const { packet } = encryptMessage(this.authKey!, 'client', {
      salt: this.salt,
      sessionId: this.sessionId,
      msgId,
      seqNo,
      body: bytes,
    })
    this.sendFrame(packet)
    return msgId
  }

  /** The next message from the DC; containers are opened, so each call returns one inner message. */
  async next(timeoutMs = 5000): Promise<ReceivedMessage> {
    for (;;) {
      const pending = this.unpacked.shift()
      if (pending) return pending
      const frame = await this.nextFrame(timeoutMs)
      if (frame.length === 4)
        throw new Error(`transport error ${new DataView(frame.buffer, frame.byteOffset).getInt32(0, true)}`)
      const msg = decryptMessage(this.authKey!, 'server', frame)
      const parts = isContainer(msg.body)
        ? unpackContainer(msg.body)
        : [{ msgId: msg.msgId, seqNo: msg.seqNo, body: msg.body }]
      for (const p of parts) this.unpacked.push({ ...p, obj: decodeBody(p.body) })
    }
  }

  private readonly unpacked: ReceivedMessage[] = []

  /** Skips messages until one matches (new_session_created and the like are skipped). */
  async waitFor(match: (m: ReceivedMessage) => boolean, timeoutMs = 5000): Promise<ReceivedMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const m = await this.next(Math.max(1, deadline - Date.now()))
      if (match(m)) return m
    }
  }

  /** The rpc_result for `reqMsgId` (its result decoded as an object, rpc_error included). */
  async result(reqMsgId: bigint, timeoutMs = 5000): Promise<TlValue> {
    const m = await this.waitFor((x) => x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === reqMsgId, timeoutMs)
    return m.obj['result'] as TlValue
  }

  /** Sends a request and waits for its rpc_result. */
  async call(request: TlValue | Uint8Array): Promise<TlValue> {
    return this.result(this.send(request))
  }
}

function decodeBody(body: Uint8Array): TlValue {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  if (view.getUint32(0, true) === RPC_RESULT_ID) {
    const reqMsgId = view.getBigInt64(4, true)
    let result: TlValue
    try {
      result = tlCodec.decode(body.subarray(12))
    } catch {
      result = { _: 'undecoded' }
    }
    return { _: 'rpc_result', reqMsgId, result }
  }
  try {
    return tlCodec.decode(body)
  } catch {
    return { _: 'undecoded' }
  }
}
