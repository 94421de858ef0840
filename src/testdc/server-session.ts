// The test DC's half of one encrypted session (auth key + session_id): checks client msg_ids and salts like
// Telegram does (bad_msg_notification, bad_server_salt), announces new sessions, acks, unpacks containers,
// runs each request through the dispatcher in the layer the client announced, and sends rpc_result.
import { gunzipSync, gzipSync } from 'node:zlib'
import { tlCodec, codecForLayer, type TlCodec, type TlValue } from '../mtproto/tl/index.ts'
import { encryptMessage } from '../mtproto/crypto/message-cipher.ts'
import type { AuthKey } from '../mtproto/crypto/auth-key.ts'
import { MessageIdClock } from '../mtproto/session/message-id-clock.ts'
import { SeenMessageIds } from '../mtproto/session/seen-message-ids.ts'
import { packContainer, unpackContainer, isContainer } from '../mtproto/session/message-container.ts'
import { RpcFailure } from './rpc-failure.ts'
import type { RpcContext, RpcDispatcher } from './rpc-dispatcher.ts'
import { randomBytes } from '../mtproto/crypto/random.ts'

/** Client msg_ids more than this far from the server clock get bad_msg_notification 16/17 (docs/protocol.md#security-checks). */
const MAX_PAST_SECONDS = 300
const MAX_FUTURE_SECONDS = 30
const INVOKE_WITH_LAYER_ID = 0xda9b0d0d
const GZIP_PACKED_ID = 0x3072cfa1
/** Results longer than this go out as gzip_packed, as Telegram does with big answers (docs/protocol.md#service-messages). */
const GZIP_MIN_BYTES = 512

/** Where a session's answers go: the connection the client used last. */
export interface SessionLink {
  send(packet: Uint8Array): void
}

/** What the session needs from the key it belongs to (salts, login state, the dispatcher context). */
export interface KeyState {
  authKey: AuthKey
  /** Salts the DC accepts now (current first). */
  salts(): bigint[]
  context(): RpcContext
  /** Layer announced on this key (kept across sessions, as Telegram does). */
  layer: number | null
}

/**
 * Test-only misbehaviour of the DC's outgoing encrypted messages, so tests can prove the client's checks
 * (docs/protocol.md#security-checks). Read on every message; set it on `DcServer.faults.session`.
 */
export interface SessionFaults {
  /** Send every message twice: the second copy replays the first's msg_id. */
  replayLast?: boolean
  /** Give messages an even msg_id (server msg_ids must be odd). */
  evenMsgId?: boolean
  /** Encrypt messages for another session_id. */
  wrongSessionId?: boolean
  /** Move msg_ids this many seconds into the future (+) or the past (−). */
  msgIdOffsetSeconds?: number
}

/** gzip_packed#3072cfa1 packed_data:bytes around `data`, or `data` itself when packing does not make it smaller. */
function gzipPacked(data: Uint8Array): Uint8Array {
  const packed = gzipSync(data)
  if (packed.length + 8 >= data.length) return data
  const w = tlCodec.newWriter(packed.length + 8)
  w.uint(GZIP_PACKED_ID)
  w.bytes(packed)
  return w.take()
}

export class ServerSession {
  readonly clock: MessageIdClock
  private readonly seen = new SeenMessageIds()
  private contentSent = 0
  private link: SessionLink | undefined
  private announced = false
  codec: TlCodec = tlCodec

  constructor(
    readonly sessionId: bigint,
    private readonly key: KeyState,
    private readonly dispatcher: RpcDispatcher,
    /** Seconds added to the server clock (a fault knob: a DC whose clock is off). */
    private readonly clockSkew: () => number,
    private readonly faults: () => SessionFaults | undefined = () => undefined,
  ) {
    this.clock = new MessageIdClock(1, () => Date.now() + this.clockSkew() * 1000)
  }

  attach(link: SessionLink): void {
    this.link = link
  }

  private nextSeq(contentRelated: boolean): number {
    return contentRelated ? this.contentSent++ * 2 + 1 : this.contentSent * 2
  }

  /** Sends one message (answers use parity 1, other messages 3, per docs/protocol.md#security-checks). */
  send(body: Uint8Array, contentRelated: boolean): void {
    if (!this.link) return
    const f = this.faults()
    let msgId = this.clock.next()
    if (f?.evenMsgId) msgId &= ~3n
    if (f?.msgIdOffsetSeconds) msgId += BigInt(Math.trunc(f.msgIdOffsetSeconds)) << 32n
    const { packet } = encryptMessage(this.key.authKey, 'server', {
      salt: this.key.salts()[0]!, sessionId: f?.wrongSessionId ? this.sessionId ^ 1n : this.sessionId, msgId, seqNo: this.nextSeq(contentRelated), body,
    })
    this.link.send(packet)
    if (f?.replayLast) this.link.send(packet)
  }

  private sendObject(obj: TlValue, contentRelated: boolean): void {
    this.send(this.codec.encode(obj), contentRelated)
  }

  /** Handles one decrypted message from the client. */
  async receive(msg: { salt: bigint; msgId: bigint; seqNo: number; body: Uint8Array }): Promise<void> {
    // msg_id checks first: Telegram answers bad_msg_notification for ids it cannot accept.
    if ((msg.msgId & 3n) !== 0n) return this.badMsg(msg.msgId, msg.seqNo, 18)
    const age = this.clock.ageOf(msg.msgId)
    if (age > MAX_PAST_SECONDS) return this.badMsg(msg.msgId, msg.seqNo, 16)
    if (age < -MAX_FUTURE_SECONDS) return this.badMsg(msg.msgId, msg.seqNo, 17)
    if (!this.key.salts().includes(msg.salt)) {
      this.sendObject({ _: 'bad_server_salt', badMsgId: msg.msgId, badMsgSeqno: msg.seqNo, errorCode: 48, newServerSalt: this.key.salts()[0]! }, false)
      return
    }
    if (!this.seen.accept(msg.msgId)) return // a replay: Telegram ignores it
    if (!this.announced) {
      this.announced = true
      const uniqueId = new DataView(randomBytes(8).buffer).getBigInt64(0, true)
      this.sendObject({ _: 'new_session_created', firstMsgId: msg.msgId, uniqueId, serverSalt: this.key.salts()[0]! }, true)
    }
    await this.handle(msg.msgId, msg.seqNo, msg.body)
  }

  private badMsg(msgId: bigint, seqNo: number, code: number): void {
    this.sendObject({ _: 'bad_msg_notification', badMsgId: msgId, badMsgSeqno: seqNo, errorCode: code }, false)
  }

  // Requests are not acked separately: every one gets an rpc_result soon, and that counts as the ack.
  private async handle(msgId: bigint, _seqNo: number, body: Uint8Array): Promise<void> {
    if (isContainer(body)) {
      await Promise.all(unpackContainer(body).map((m) => this.handleOne(m.msgId, m.body)))
      return
    }
    await this.handleOne(msgId, body)
  }

  private async handleOne(msgId: bigint, body: Uint8Array): Promise<void> {
    const id = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true)
    if (id === GZIP_PACKED_ID) return this.handleOne(msgId, gunzipSync(tlCodec.reader(body, 4).bytes()))
    if (id === INVOKE_WITH_LAYER_ID) {
      const layer = new DataView(body.buffer, body.byteOffset, body.byteLength).getInt32(4, true)
      try {
        this.codec = await codecForLayer(layer)
        this.key.layer = layer
      } catch {
        return this.answerError(msgId, new RpcFailure(400, 'CONNECTION_LAYER_INVALID'))
      }
    } else if (this.key.layer !== null && this.codec.layer !== this.key.layer) {
      this.codec = await codecForLayer(this.key.layer)
    }
    let request: TlValue
    try {
      request = this.codec.decode(body)
    } catch {
      return this.answerError(msgId, new RpcFailure(400, 'INPUT_REQUEST_INVALID'))
    }
    switch (request._) {
      case 'msgs_ack':
      case 'msgs_state_info':
        return
      case 'ping':
        return this.sendObject({ _: 'pong', msgId, pingId: request['pingId'] }, false)
      case 'ping_delay_disconnect':
        return this.answer(msgId, request, { _: 'pong', msgId, pingId: request['pingId'] })
      case 'get_future_salts':
        return this.answer(msgId, request, {
          _: 'future_salts', reqMsgId: msgId, now: Math.floor(this.clock.serverTime()),
          salts: this.key.salts().map((salt, i) => ({ _: 'future_salt', validSince: Math.floor(this.clock.serverTime()) + i * 1800, validUntil: Math.floor(this.clock.serverTime()) + (i + 1) * 1800, salt })),
        })
      case 'destroy_session':
        return this.answer(msgId, request, { _: 'destroy_session_none', sessionId: request['sessionId'] })
    }
    // Not awaited: a slow handler must not hold up the packets behind it (pings, other calls); Telegram answers
    // in any order. The wrappers are peeled and the handler started before dispatch() first yields.
    void this.dispatcher.dispatch(request, this.key.context()).then(
      (result) => this.answer(msgId, request, result),
      (err: unknown) => this.answerError(msgId, err instanceof RpcFailure ? err : new RpcFailure(500, 'INTERNAL')),
    )
  }

  private answer(msgId: bigint, request: TlValue, result: unknown): void {
    let resultBytes: Uint8Array
    try {
      resultBytes = this.codec.encodeResult(request, result)
    } catch {
      return this.answerError(msgId, new RpcFailure(500, 'INTERNAL'))
    }
    this.sendRpcResult(msgId, resultBytes.length > GZIP_MIN_BYTES ? gzipPacked(resultBytes) : resultBytes)
  }

  private answerError(msgId: bigint, err: RpcFailure): void {
    this.sendRpcResult(msgId, this.codec.encode({ _: 'rpc_error', errorCode: err.code, errorMessage: err.errorMessage }))
  }

  private sendRpcResult(reqMsgId: bigint, result: Uint8Array): void {
    const body = new Uint8Array(12 + result.length)
    const dv = new DataView(body.buffer)
    dv.setUint32(0, 0xf35c6d01, true) // rpc_result
    dv.setBigInt64(4, reqMsgId, true)
    body.set(result, 12)
    this.send(body, true)
  }

  /** Answers every request of a message with one error (keys the accounts side revoked or banned). */
  async rejectAll(msg: { msgId: bigint; body: Uint8Array }, code: number, message: string): Promise<void> {
    const messages = isContainer(msg.body) ? unpackContainer(msg.body) : [{ msgId: msg.msgId, body: msg.body }]
    for (const m of messages) {
      const id = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength).getUint32(0, true)
      if (id === 0x62d6b459) continue // msgs_ack needs no answer
      this.answerError(m.msgId, new RpcFailure(code, message))
    }
  }

  /** Pushes an update outside any rpc_result (e.g. updateLoginToken). */
  pushUpdate(update: TlValue): void {
    this.sendObject(update, true)
  }

  /** Several bodies in one container (used by tests that check container handling on the client). */
  sendContainer(bodies: Uint8Array[]): void {
    const messages = bodies.map((body) => ({ msgId: this.clock.next(), seqNo: this.nextSeq(true), body }))
    this.send(packContainer(messages), false)
  }
}
