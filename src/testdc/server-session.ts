// The test DC's half of one encrypted session (auth key + session_id): checks client msg_ids and salts like
// Telegram does (bad_msg_notification, bad_server_salt), announces new sessions, acks, unpacks containers,
// runs each request through the dispatcher in the layer the client announced, and sends rpc_result.
import { gzipSync } from 'node:zlib'
import { tlCodec, ID, type TlCodec, type TlValue } from '../mtproto/tl/index.ts'
import { ClientLayer } from './client-layer.ts'
import { encryptMessage } from '../mtproto/crypto/message-cipher.ts'
import type { AuthKey } from '../mtproto/crypto/auth-key.ts'
import { MessageIdClock } from '../mtproto/session/message-id-clock.ts'
import { SeenMessageIds } from '../mtproto/session/seen-message-ids.ts'
import { packContainer, unpackContainer, isContainer } from '../mtproto/session/message-container.ts'
import { RpcFailure, decodeFailure, unknownMethod } from './rpc-failure.ts'
import { TlReader } from '../mtproto/tl/index.ts'
import { DecodeBudget, type DecodeLimits } from '../mtproto/tl/runtime/decode-budget.ts'
import type { RpcContext, RpcDispatcher } from './rpc-dispatcher.ts'
import { randomBytes } from '../mtproto/crypto/random.ts'
import { SessionHistory } from './session-history.ts'

/** Client msg_ids more than this far from the server clock get bad_msg_notification 16/17 (docs/protocol.md#security-checks). */
const MAX_PAST_SECONDS = 300
const MAX_FUTURE_SECONDS = 30
const GZIP_PACKED_ID = ID.gzip_packed
const layerInvalid = (): RpcFailure => new RpcFailure(400, 'CONNECTION_LAYER_INVALID')
/** Results longer than this go out as gzip_packed, as Telegram does with big answers (docs/protocol.md#service-messages). */
const GZIP_MIN_BYTES = 512
/** Content-related messages kept for msg_resend_req, and client msg_ids whose state msgs_state_req can report. */
const SENT_KEPT = 128
const STATES_KEPT = 1000
/** msgs_state_info status bytes (core.telegram.org/mtproto/service_messages_about_messages). */
const STATE_UNKNOWN = 1
const STATE_NOT_RECEIVED = 2
const STATE_TOO_HIGH = 3
const STATE_RECEIVED = 4
/** received + acknowledged (the rpc_result is the ack) + RPC done + response generated */
const STATE_ANSWERED = 4 | 8 | 32 | 64
/** received + RPC being processed */
const STATE_RUNNING = 4 | 32

/** Where a session's answers go: the connection the client used last. */
export interface SessionLink {
  send(packet: Uint8Array): void
  /** ping_delay_disconnect: close this connection after `seconds` unless called again before. */
  disconnectAfter?(seconds: number): void
}

/** One entry of future_salts. */
export interface FutureSalt {
  validSince: number
  validUntil: number
  salt: bigint
}

/** What the session needs from the key it belongs to (salts, login state, the dispatcher context). */
export interface KeyState {
  authKey: AuthKey
  /** Salts the DC accepts now (current first). */
  salts(): bigint[]
  context(): RpcContext
  /** Layer announced on this key (kept across sessions, as Telegram does). */
  layer: number | null
  /** get_future_salts: up to `num` salts from now on, each of which the key then accepts in its time. */
  futureSalts(num: number, now: number): FutureSalt[]
  /** destroy_session: forgets another session of the key; false when it has none of that id. */
  destroySession(sessionId: bigint): boolean
  /** destroy_auth_key: forgets the key (its next packet gets -404). */
  destroy(): void
  /** auth.bindTempAuthKey on this key; throws RpcFailure (absent: the method is refused like any unknown one). */
  bindTemp?(req: TlValue, sessionId: bigint, msgId: bigint): void
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
  /** Content-related messages sent lately, by msg_id, for msg_resend_req. */
  private readonly sent = new Map<bigint, { seqNo: number; body: Uint8Array }>()
  /** What became of the client's recent messages (msgs_state_info bytes), and where each answer went. */
  private readonly states = new Map<bigint, number>()
  private readonly answers = new Map<bigint, { answerMsgId: bigint; bytes: number }>()
  private lowestReceived: bigint | null = null
  private highestReceived: bigint | null = null
  codec: TlCodec = tlCodec
  /** The layer this session's calls are read and answered in (the key's announced one, as served). */
  private layer: ClientLayer = ClientLayer.internal

  constructor(
    readonly sessionId: bigint,
    private readonly key: KeyState,
    private readonly dispatcher: RpcDispatcher,
    /** Seconds added to the server clock (a fault knob: a DC whose clock is off). */
    private readonly clockSkew: () => number,
    private readonly faults: () => SessionFaults | undefined = () => undefined,
    /** What one received packet may inflate and nest (gzip_packed in containers in gzip_packed…). */
    private readonly decodeLimits: DecodeLimits = {},
    /** The DC's byte budget for what its sessions remember about past messages. */
    private readonly history: SessionHistory = SessionHistory.unbounded(),
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
  send(body: Uint8Array, contentRelated: boolean): bigint | undefined {
    if (!this.link) return undefined
    const f = this.faults()
    let msgId = this.clock.next()
    if (f?.evenMsgId) msgId &= ~3n
    if (f?.msgIdOffsetSeconds) msgId += BigInt(Math.trunc(f.msgIdOffsetSeconds)) << 32n
    const seqNo = this.nextSeq(contentRelated)
    const { packet } = encryptMessage(this.key.authKey, 'server', {
      salt: this.key.salts()[0]!,
      sessionId: f?.wrongSessionId ? this.sessionId ^ 1n : this.sessionId,
      msgId,
      seqNo,
      body,
    })
    if (contentRelated) this.history.remember(this.sent, msgId, { seqNo, body }, SENT_KEPT, body.length)
    this.link.send(packet)
    if (f?.replayLast) this.link.send(packet)
    return msgId
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
      this.sendObject(
        {
          _: 'bad_server_salt',
          badMsgId: msg.msgId,
          badMsgSeqno: msg.seqNo,
          errorCode: 48,
          newServerSalt: this.key.salts()[0]!,
        },
        false,
      )
      return
    }
    if (!this.seen.accept(msg.msgId)) return this.repeated(msg.msgId) // a replay: never processed twice
    if (!this.announced) {
      this.announced = true
      const uniqueId = new DataView(randomBytes(8).buffer).getBigInt64(0, true)
      this.sendObject(
        { _: 'new_session_created', firstMsgId: msg.msgId, uniqueId, serverSalt: this.key.salts()[0]! },
        true,
      )
    }
    await this.handle(msg.msgId, msg.seqNo, msg.body)
  }

  private badMsg(msgId: bigint, seqNo: number, code: number): void {
    this.sendObject({ _: 'bad_msg_notification', badMsgId: msgId, badMsgSeqno: seqNo, errorCode: code }, false)
  }

  /**
   * A msg_id seen before: an answered request gets msg_detailed_info naming its answer (the client may ask for it
   * again with msg_resend_req), as Telegram does for a duplicate (core.telegram.org/mtproto/service_messages_about_messages).
   */
  private repeated(msgId: bigint): void {
    const answer = this.answers.get(msgId)
    if (answer)
      this.sendObject(
        { _: 'msg_detailed_info', msgId, answerMsgId: answer.answerMsgId, bytes: answer.bytes, status: 0 },
        false,
      )
  }

  // Requests are not acked separately: every one gets an rpc_result soon, and that counts as the ack.
  private async handle(msgId: bigint, _seqNo: number, body: Uint8Array): Promise<void> {
    // One allowance for the whole packet, shared by the messages of a container.
    const budget = new DecodeBudget(this.decodeLimits)
    if (isContainer(body)) {
      let messages
      try {
        messages = unpackContainer(body)
      } catch {
        return this.badMsg(msgId, _seqNo, 64) // invalid container
      }
      await Promise.all(
        messages.map((m) => {
          // A message already received (re-sent inside a new container) is not run again.
          if (this.states.has(m.msgId)) return this.repeated(m.msgId)
          return this.handleSafely(m.msgId, m.body, budget)
        }),
      )
      return
    }
    await this.handleSafely(msgId, body, budget)
  }

  /** A request the DC fails on gets 500 INTERNAL; the connection stays (nothing the client sends closes it). */
  private async handleSafely(msgId: bigint, body: Uint8Array, budget: DecodeBudget): Promise<void> {
    try {
      await this.handleOne(msgId, body, budget)
    } catch {
      this.answerError(msgId, new RpcFailure(500, 'INTERNAL'))
    }
  }

  private received(msgId: bigint, state: number): void {
    this.history.remember(this.states, msgId, state, STATES_KEPT)
    if (this.lowestReceived === null || msgId < this.lowestReceived) this.lowestReceived = msgId
    if (this.highestReceived === null || msgId > this.highestReceived) this.highestReceived = msgId
  }

  /** msgs_state_info bytes for client msg_ids (core.telegram.org/mtproto/service_messages_about_messages). */
  private stateOf(msgId: bigint): number {
    const state = this.states.get(msgId)
    if (state !== undefined) return state
    if (this.lowestReceived === null || msgId < this.lowestReceived) return STATE_UNKNOWN
    if (msgId > this.highestReceived!) return STATE_TOO_HIGH
    return STATE_NOT_RECEIVED
  }

  private async handleOne(msgId: bigint, body: Uint8Array, budget: DecodeBudget): Promise<void> {
    this.received(msgId, STATE_RECEIVED)
    if (body.length < 4) return this.answerError(msgId, new RpcFailure(400, 'INPUT_FETCH_ERROR'))
    const id = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true)
    if (id === GZIP_PACKED_ID) {
      // Clients pack requests as gzip (RFC 1952) or, like mtcute, zlib (RFC 1950); Telegram inflates both.
      let inflated: Uint8Array
      try {
        budget.enter(4)
        inflated = budget.inflate(tlCodec.reader(body, 4).bytes(), 4)
      } catch (err) {
        return this.answerError(msgId, decodeFailure(err, id))
      }
      try {
        return await this.handleOne(msgId, inflated, budget)
      } finally {
        budget.leave()
      }
    }
    // The layer is the key's until it announces another, refused or not: a client the DC cannot serve gets
    // CONNECTION_LAYER_INVALID for every call, never an answer in a layer it did not announce.
    if (id === ID.invokeWithLayer)
      this.key.layer = new DataView(body.buffer, body.byteOffset, body.byteLength).getInt32(4, true)
    const layer = this.key.layer === null ? ClientLayer.internal : ClientLayer.forAnnounced(this.key.layer)
    this.layer = layer ?? ClientLayer.internal
    this.codec = this.layer.codec
    let request: TlValue
    try {
      // gzip_packed inside the request (e.g. invokeAfterMsg's query) draws on the same allowance.
      const r = new TlReader(this.codec.decoders, body, 0, body.length, 0, budget)
      request = r.object()
      r.expectEnd()
    } catch (err) {
      return this.answerError(msgId, layer ? decodeFailure(err, id) : layerInvalid())
    }
    // Service messages are answered by plain messages, never rpc_result (core.telegram.org/mtproto/service_messages).
    switch (request._) {
      case 'msgs_ack':
      case 'msgs_state_info':
      case 'msgs_all_info': // informational: needs no answer
      case 'msg_detailed_info':
      case 'msg_new_detailed_info':
      case 'http_wait': // for HTTP transports only; this DC speaks TCP
        return
      case 'ping':
        return void this.sendObject({ _: 'pong', msgId, pingId: request['pingId'] }, false)
      case 'ping_delay_disconnect':
        this.link?.disconnectAfter?.(request['disconnectDelay'] as number)
        return void this.sendObject({ _: 'pong', msgId, pingId: request['pingId'] }, false)
      case 'get_future_salts': {
        const now = Math.floor(this.clock.serverTime())
        const salts = this.key.futureSalts(request['num'] as number, now).map((salt) => ({ _: 'future_salt', ...salt }))
        return void this.sendObject({ _: 'future_salts', reqMsgId: msgId, now, salts }, false)
      }
      case 'destroy_session': {
        const sessionId = request['sessionId'] as bigint
        // Destroying the session the request came in is undefined by the docs; this DC leaves it alone.
        const destroyed = sessionId !== this.sessionId && this.key.destroySession(sessionId)
        return void this.sendObject({ _: destroyed ? 'destroy_session_ok' : 'destroy_session_none', sessionId }, false)
      }
      case 'msgs_state_req':
        return this.sendStates(msgId, request['msgIds'] as bigint[])
      case 'msg_resend_req':
        return this.resendMessages(msgId, request['msgIds'] as bigint[])
      case 'destroy_auth_key':
        // Answered in the session (tdlib and mtcute read it from an encrypted message), then the key is gone.
        this.sendObject({ _: 'destroy_auth_key_ok' }, false)
        return this.key.destroy()
      case 'rpc_drop_answer': {
        // Answers leave as soon as they are made, so there is never one queued to drop.
        const running = this.states.get(request['reqMsgId'] as bigint) === STATE_RUNNING
        return this.answer(msgId, request, { _: running ? 'rpc_answer_dropped_running' : 'rpc_answer_unknown' })
      }
    }
    if (!layer) return this.answerError(msgId, layerInvalid())
    request = this.layer.request(request)
    const inner = this.codec.innerRequest(request)
    if (inner._ === 'auth.bindTempAuthKey' && this.key.bindTemp) {
      const ctx = this.key.context()
      this.dispatcher.unwrap(request, ctx) // records invokeWithLayer/initConnection around it
      try {
        this.key.bindTemp(inner, this.sessionId, msgId)
      } catch (err) {
        return this.answerError(msgId, err instanceof RpcFailure ? err : new RpcFailure(500, 'INTERNAL'))
      }
      return this.answer(msgId, request, true)
    }
    this.received(msgId, STATE_RUNNING)
    // Not awaited: a slow handler must not hold up the packets behind it (pings, other calls); Telegram answers
    // in any order. The wrappers are peeled and the handler started before dispatch() first yields.
    void this.dispatcher
      .dispatch(request, this.key.context(), (unknown) => unknownMethod(this.codec.encode(unknown)))
      .then(
        (result) => this.answer(msgId, request, result),
        (err: unknown) => this.answerError(msgId, err instanceof RpcFailure ? err : new RpcFailure(500, 'INTERNAL')),
      )
  }

  /** msgs_state_req → msgs_state_info, one status byte per asked id. */
  private sendStates(reqMsgId: bigint, ids: bigint[]): void {
    this.sendObject({ _: 'msgs_state_info', reqMsgId, info: Uint8Array.from(ids, (id) => this.stateOf(id)) }, false)
  }

  /**
   * msg_resend_req: the asked messages again, in a container under their own msg_ids; if any is unknown, forgotten or
   * the client's own, msgs_state_info for them all instead (core.telegram.org/mtproto/service_messages_about_messages).
   */
  private resendMessages(reqMsgId: bigint, ids: bigint[]): void {
    const messages = ids.map((id) => ({ id, m: this.sent.get(id) }))
    if (ids.length === 0 || messages.some((x) => !x.m)) return this.sendStates(reqMsgId, ids)
    this.send(packContainer(messages.map(({ id, m }) => ({ msgId: id, seqNo: m!.seqNo, body: m!.body }))), false)
  }

  private answer(msgId: bigint, request: TlValue, result: unknown): void {
    let resultBytes: Uint8Array
    try {
      resultBytes = this.codec.encodeResult(request, this.layer.result(request, result))
    } catch {
      return this.answerError(msgId, new RpcFailure(500, 'INTERNAL'))
    }
    this.sendRpcResult(msgId, resultBytes.length > GZIP_MIN_BYTES ? gzipPacked(resultBytes) : resultBytes)
  }

  private answerError(msgId: bigint, err: RpcFailure): void {
    this.sendRpcResult(
      msgId,
      this.codec.encode({ _: 'rpc_error', errorCode: err.code, errorMessage: err.errorMessage }),
    )
  }

  private sendRpcResult(reqMsgId: bigint, result: Uint8Array): void {
    const body = new Uint8Array(12 + result.length)
    const dv = new DataView(body.buffer)
    dv.setUint32(0, ID.rpc_result, true)
    dv.setBigInt64(4, reqMsgId, true)
    body.set(result, 12)
    const answerMsgId = this.send(body, true)
    this.received(reqMsgId, STATE_ANSWERED)
    if (answerMsgId !== undefined)
      this.history.remember(this.answers, reqMsgId, { answerMsgId, bytes: body.length }, STATES_KEPT)
  }

  /** Answers every request of a message with one error (keys the accounts side revoked or banned). */
  async rejectAll(msg: { msgId: bigint; body: Uint8Array }, code: number, message: string): Promise<void> {
    const messages = isContainer(msg.body) ? unpackContainer(msg.body) : [{ msgId: msg.msgId, body: msg.body }]
    for (const m of messages) {
      const id = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength).getUint32(0, true)
      if (id === ID.msgs_ack) continue // needs no answer
      this.answerError(m.msgId, new RpcFailure(code, message))
    }
  }

  /** Pushes an update outside any rpc_result (e.g. updateLoginToken). */
  pushUpdate(update: TlValue): void {
    this.sendObject(this.layer.object(update), true)
  }

  /** Several bodies in one container (used by tests that check container handling on the client). */
  sendContainer(bodies: Uint8Array[]): void {
    const messages = bodies.map((body) => ({ msgId: this.clock.next(), seqNo: this.nextSeq(true), body }))
    this.send(packContainer(messages), false)
  }
}
