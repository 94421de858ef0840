// The client half of an MTProto 2.0 encrypted session, without I/O: requests go out through `transmit`,
// packets come in through `receive`. It numbers messages (msg_id, seq_no), batches calls and acks into
// containers, matches rpc_result to calls, and follows the service messages (salts, time resync, resends,
// new sessions). The connection around it owns sockets and timers.
import { tlCodec, TlDecodeError, DecodeBudget, ID, type TlCodec, type TlValue } from '../tl/index.ts'
import { RpcError } from '../rpc-error.ts'
import { TimeoutError } from '../timeout-error.ts'
import { MessageIdClock } from './message-id-clock.ts'
import { SeenMessageIds } from './seen-message-ids.ts'
import {
  packContainer,
  unpackContainer,
  isContainer,
  MSG_CONTAINER_ID,
  type InnerMessage,
} from './message-container.ts'
import { randomBytes } from '../crypto/random.ts'
import { MtprotoError } from '../mtproto-error.ts'

/** What the session needs from the cipher: MTProto 2.0 encryption with one auth key, one direction each way. */
export interface SessionCipher {
  encrypt(msg: PlainEnvelope): Uint8Array
  /** Throws on any failure (msg_key, auth_key_id, length, padding); all failures look the same to the peer. */
  decrypt(packet: Uint8Array): PlainEnvelope
}

export interface PlainEnvelope {
  salt: bigint
  sessionId: bigint
  msgId: bigint
  seqNo: number
  body: Uint8Array
}

export class SessionSecurityError extends MtprotoError {
  override readonly name = 'SessionSecurityError'
  constructor(
    readonly check: 'session-id' | 'msg-id-parity' | 'replay' | 'time-window' | 'decrypt' | 'malformed',
    detail: string,
  ) {
    super(`dropped an inbound message (${check}): ${detail}`)
  }
}

/** A call got no answer in time (the 'request' phase of TimeoutError; its class name is kept for callers). */
export class RequestTimeoutError extends TimeoutError {
  override readonly name = 'RequestTimeoutError'
  constructor(
    readonly method: string,
    timeoutMs: number,
  ) {
    super('request', timeoutMs, `${method} got no answer within ${timeoutMs} ms`)
  }
}

/**
 * The server asked for a call to be sent again (bad_server_salt, bad_msg_notification, msg_resend_req) more often
 * than a working server ever does: a DC answering every message that way would otherwise get resends for ever.
 */
export class ResendLimitError extends MtprotoError {
  override readonly name = 'ResendLimitError'
  /** Another connection (or the DC later) may well behave. */
  override get transient(): boolean {
    return true
  }
  constructor(
    readonly method: string,
    readonly resends: number,
    readonly lastReason: string,
  ) {
    super(`${method} was sent again ${resends} times at the server's request (last: ${lastReason}); giving up`)
  }
}

export class SessionClosedError extends MtprotoError {
  override readonly name = 'SessionClosedError'
  override get transient(): boolean {
    return true
  }
  constructor(detail = 'the session was closed') {
    super(detail)
  }
}

/** Server messages may not be more than 30 s in the future or 300 s in the past (docs/protocol.md#security-checks). */
const MAX_FUTURE_SECONDS = 30
const MAX_PAST_SECONDS = 300
/** Unacknowledged server messages that trigger an immediate ack. */
export const ACK_FLUSH_THRESHOLD = 16
/** msgs_ack and msg_resend_req carry at most this many ids. */
const MAX_IDS_PER_SERVICE_MESSAGE = 8192
/** Resends of one call that the server may ask for (salt, time, numbering, msg_resend_req) before it fails. */
export const DEFAULT_MAX_RESENDS = 5
/** new_session_created unique_ids remembered (one a session in practice; more only from a misbehaving server). */
const NEW_SESSION_IDS_KEPT = 64
/** Keep one packet well under Telegram's 1 MiB limit and a container under its 1024 messages. */
const MAX_BATCH_BYTES = 512 * 1024
const MAX_BATCH_MESSAGES = 1000

export interface InvokeOptions {
  /** Reject with RequestTimeoutError after this many ms (default: no timeout). */
  timeoutMs?: number
  signal?: AbortSignal
}

interface PendingCall {
  request: TlValue
  method: string
  body: Uint8Array
  msgId: bigint
  seqNo: number
  /** Service messages we send ourselves (ping, msgs_state_info…) are not content-related. */
  contentRelated: boolean
  /** Whether an answer is expected (msgs_ack and msgs_state_info expect none). */
  expectsAnswer: boolean
  acked: boolean
  /** Times the server asked for this call again. */
  resends: number
  resolve(value: unknown): void
  reject(err: Error): void
  timer: NodeJS.Timeout | undefined
}

export interface SessionHooks {
  transmit(packet: Uint8Array): void
  /** Updates (updates, updateShort, …) that arrived outside rpc_result. */
  onUpdate?(update: TlValue): void
  /** The server started a new session for us: updates may have been missed. */
  onNewSession?(): void
  /** An inbound message was dropped by a security check; the connection should reconnect. */
  onSecurityViolation?(err: SessionSecurityError): void
  /** The server asked us to start over (bad_msg_notification 32/33/34/35/64, 17): the caller may log it. */
  onSessionReset?(reason: string): void
}

export interface FutureSalt {
  validSince: number
  validUntil: number
  salt: bigint
}

const NO_FUTURE_SALTS: readonly FutureSalt[] = Object.freeze([])

function noop(): void {}

const PING_METHODS: ReadonlySet<string> = new Set(['ping', 'ping_delay_disconnect'])
const FUTURE_SALTS_METHODS: ReadonlySet<string> = new Set(['get_future_salts'])
const STATE_REQ_METHODS: ReadonlySet<string> = new Set(['msgs_state_req'])

function randomLong(): bigint {
  return new DataView(randomBytes(8).buffer).getBigInt64(0, true)
}

function idOf(body: Uint8Array): number {
  return body.length < 4 ? -1 : (body[0]! | (body[1]! << 8) | (body[2]! << 16) | (body[3]! << 24)) >>> 0
}

/**
 * A process keeps thousands of sessions that are idle most of the time, so what only matters while calls are in
 * flight (the pending calls, the containers that carried them) exists only then, and queues drop their storage once
 * drained.
 */
export class MtprotoSession {
  sessionId = randomLong()
  salt: bigint
  readonly clock: MessageIdClock
  /** Set once a server message has told us its time: the time window is checked only after that. */
  private timeSynced = false
  private contentSent = 0
  /** Calls sent and waiting for their answer, by msg_id; undefined while there is none. */
  private pending: Map<bigint, PendingCall> | undefined
  /**
   * Which calls a container carried, to resend them when the container itself is rejected; only containers with calls
   * that expect an answer, and forgotten with them once no call is pending (resending would find nothing).
   */
  private containers: Map<bigint, bigint[]> | undefined
  private outbox: PendingCall[] = []
  private acks: bigint[] = []
  private flushScheduled = false
  private readonly seen = new SeenMessageIds()
  /** The last unique_ids of new_session_created, oldest first (a Set: O(1) a message, bounded). */
  private newSessionIds: Set<bigint> | undefined
  private closed = false
  /** Set when a check drops a message of the packet being received. */
  private violated = false
  private readonly maxResends: number
  futureSalts: readonly FutureSalt[] = NO_FUTURE_SALTS

  constructor(
    private readonly cipher: SessionCipher,
    private readonly hooks: SessionHooks,
    opts: { salt: bigint; codec?: TlCodec; clock?: MessageIdClock; timeOffset?: number; maxResends?: number },
  ) {
    this.salt = opts.salt
    this.maxResends = opts.maxResends ?? DEFAULT_MAX_RESENDS
    this.codec = opts.codec ?? tlCodec
    this.clock = opts.clock ?? new MessageIdClock(0)
    if (opts.timeOffset !== undefined) {
      this.clock.setServerTime(Date.now() / 1000 + opts.timeOffset)
      this.timeSynced = true
    }
  }
  private readonly codec: TlCodec

  get pendingCount(): number {
    return (this.pending?.size ?? 0) + this.outbox.length
  }

  /** Sends a request; resolves with its result or rejects with RpcError / RequestTimeoutError. */
  invoke(request: TlValue, opts: InvokeOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new SessionClosedError())
    const body = this.codec.encode(request)
    return new Promise<unknown>((resolve, reject) => {
      const call: PendingCall = {
        request,
        method: this.codec.innerRequest(request)._,
        body,
        msgId: 0n,
        seqNo: 0,
        contentRelated: true,
        expectsAnswer: true,
        acked: false,
        resends: 0,
        resolve,
        reject,
        timer: undefined,
      }
      if (opts.timeoutMs !== undefined) {
        call.timer = setTimeout(
          () => this.fail(call, new RequestTimeoutError(call.method, opts.timeoutMs!)),
          opts.timeoutMs,
        )
        call.timer.unref?.()
      }
      opts.signal?.addEventListener(
        'abort',
        () => this.fail(call, opts.signal!.reason instanceof Error ? opts.signal!.reason : new Error('aborted')),
        { once: true },
      )
      this.enqueue(call)
    })
  }

  /** Sends a service message that expects no answer (acks, msgs_state_info, …). */
  private sendService(obj: TlValue, contentRelated = false): void {
    const call: PendingCall = {
      request: obj,
      method: obj._,
      body: this.codec.encode(obj),
      msgId: 0n,
      seqNo: 0,
      contentRelated,
      expectsAnswer: false,
      acked: false,
      resends: 0,
      resolve: noop,
      reject: noop,
      timer: undefined,
    }
    this.enqueue(call)
  }

  private enqueue(call: PendingCall): void {
    this.outbox.push(call)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(() => this.flush())
    }
  }

  /** Forgets a call that was answered, failed, or is about to be sent again. */
  private dropPending(msgId: bigint): void {
    const pending = this.pending
    if (pending?.delete(msgId) && pending.size === 0) {
      this.pending = undefined
      this.containers = undefined
    }
  }

  private fail(call: PendingCall, err: Error): void {
    if (call.timer) clearTimeout(call.timer)
    this.dropPending(call.msgId)
    const i = this.outbox.indexOf(call)
    if (i >= 0) this.outbox.splice(i, 1)
    call.reject(err)
  }

  private nextSeqNo(contentRelated: boolean): number {
    if (!contentRelated) return this.contentSent * 2
    return this.contentSent++ * 2 + 1
  }

  /** Writes everything queued (calls and acks) as one packet, in a container when there is more than one. */
  flush(): void {
    this.flushScheduled = false
    if (this.closed) return
    while (this.outbox.length > 0 || this.acks.length > 0) {
      const batch: PendingCall[] = []
      let bytes = 0
      while (
        this.outbox.length > 0 &&
        batch.length < MAX_BATCH_MESSAGES &&
        (batch.length === 0 || bytes + this.outbox[0]!.body.length < MAX_BATCH_BYTES)
      ) {
        const call = this.outbox.shift()!
        bytes += call.body.length + 16
        batch.push(call)
      }
      const messages: InnerMessage[] = []
      for (const call of batch) {
        call.msgId = this.clock.next()
        call.seqNo = this.nextSeqNo(call.contentRelated)
        if (call.expectsAnswer) (this.pending ??= new Map()).set(call.msgId, call)
        messages.push({ msgId: call.msgId, seqNo: call.seqNo, body: call.body })
      }
      if (this.acks.length > 0 && messages.length < MAX_BATCH_MESSAGES) {
        const ids = this.acks.splice(0, MAX_IDS_PER_SERVICE_MESSAGE)
        messages.push({
          msgId: this.clock.next(),
          seqNo: this.nextSeqNo(false),
          body: this.codec.encode({ _: 'msgs_ack', msgIds: ids }),
        })
      }
      if (messages.length === 1) {
        const m = messages[0]!
        this.hooks.transmit(this.cipher.encrypt({ salt: this.salt, sessionId: this.sessionId, ...m }))
      } else {
        // A container's msg_id must be greater than the ids inside it, so it is taken last.
        const containerId = this.clock.next()
        const carried = batch.filter((c) => c.expectsAnswer).map((c) => c.msgId)
        if (carried.length > 0) {
          const containers = (this.containers ??= new Map())
          containers.set(containerId, carried)
          if (containers.size > 1000) containers.delete(containers.keys().next().value!)
        }
        this.hooks.transmit(
          this.cipher.encrypt({
            salt: this.salt,
            sessionId: this.sessionId,
            msgId: containerId,
            seqNo: this.nextSeqNo(false),
            body: packContainer(messages),
          }),
        )
      }
    }
    // Drained: new arrays give back the storage the old ones grew.
    this.outbox = []
    this.acks = []
  }

  /**
   * Handles one encrypted packet from the server. Violations drop the packet and are reported. Returns true only
   * when the packet passed every check (msg_key, session_id, msg_id parity, time window, replay, well-formed): only
   * such a packet proves the connection reaches our DC (the connection's reconnect counter resets on it, not on any
   * bytes that arrive).
   */
  receive(packet: Uint8Array): boolean {
    this.violated = false
    let env: PlainEnvelope
    try {
      env = this.cipher.decrypt(packet)
    } catch (err) {
      this.violation(new SessionSecurityError('decrypt', (err as Error).message))
      return false
    }
    if (env.sessionId !== this.sessionId) {
      this.violation(new SessionSecurityError('session-id', 'the message belongs to another session'))
      return false
    }
    if (!this.checkMsgId(env.msgId, true)) return false
    try {
      // One budget a packet: all its containers and gzip_packed together (DecodeBudget).
      this.handle(env.msgId, env.seqNo, env.body, new DecodeBudget())
    } catch (err) {
      if (err instanceof TlDecodeError) this.violation(new SessionSecurityError('malformed', err.message))
      else throw err
    }
    if (this.acks.length >= ACK_FLUSH_THRESHOLD) this.flush()
    return !this.violated
  }

  /** Acks that wait for the next outgoing packet; the connection flushes them on a timer too. */
  get pendingAcks(): number {
    return this.acks.length
  }

  private violation(err: SessionSecurityError): void {
    this.violated = true
    this.hooks.onSecurityViolation?.(err)
  }

  private checkMsgId(msgId: bigint, outer: boolean): boolean {
    if ((msgId & 1n) !== 1n) {
      this.violation(new SessionSecurityError('msg-id-parity', 'server msg_ids are odd'))
      return false
    }
    // The time window comes before the replay window, and applies to the messages inside a container too: an id far
    // in the future that entered the replay window would stay at its top, and a thousand of them would make every
    // real id look older than the window (found by `npm run fuzz -- client`).
    if (this.timeSynced) {
      const age = this.clock.ageOf(msgId)
      if (age > MAX_PAST_SECONDS || age < -MAX_FUTURE_SECONDS) {
        this.violation(new SessionSecurityError('time-window', `msg_id is ${Math.round(age)} s off the server clock`))
        return false
      }
    }
    if (!this.seen.accept(msgId)) {
      this.violation(new SessionSecurityError('replay', `msg_id ${msgId} was seen or is too old`))
      return false
    }
    if (outer && !this.timeSynced) {
      this.clock.syncFrom(msgId)
      this.timeSynced = true
    }
    return true
  }

  private handle(msgId: bigint, seqNo: number, body: Uint8Array, budget: DecodeBudget): void {
    if (seqNo & 1) this.acks.push(msgId)
    const id = idOf(body)
    if (id === MSG_CONTAINER_ID && isContainer(body)) {
      budget.enter(0)
      for (const m of unpackContainer(body)) {
        if (!this.checkMsgId(m.msgId, false)) continue
        this.handle(m.msgId, m.seqNo, m.body, budget)
      }
      budget.leave()
      return
    }
    if (id === ID.gzip_packed) {
      const r = this.codec.reader(body, 4, body.length, budget)
      const packed = r.bytes()
      r.expectEnd()
      budget.enter(4)
      this.handle(msgId, seqNo & ~1, budget.inflate(packed, 4), budget)
      budget.leave()
      return
    }
    if (id === ID.rpc_result) return this.handleRpcResult(body, budget)
    const obj = this.codec.decode(body, budget)
    switch (obj._) {
      case 'msgs_ack':
        for (const ackId of obj['msgIds'] as bigint[]) {
          const call = this.pending?.get(ackId)
          if (call) call.acked = true
        }
        return
      case 'bad_server_salt':
        this.salt = obj['newServerSalt'] as bigint
        this.resend(obj['badMsgId'] as bigint, 'bad_server_salt')
        return
      case 'bad_msg_notification':
        return this.handleBadMsg(msgId, obj['badMsgId'] as bigint, obj['errorCode'] as number)
      case 'new_session_created': {
        this.salt = obj['serverSalt'] as bigint
        const unique = obj['uniqueId'] as bigint
        const seen = (this.newSessionIds ??= new Set())
        if (!seen.has(unique)) {
          seen.add(unique)
          if (seen.size > NEW_SESSION_IDS_KEPT) seen.delete(seen.values().next().value!)
          this.hooks.onNewSession?.()
        }
        return
      }
      // Service answers come as plain messages (not rpc_result) and name the call they answer; each settles only a
      // call of the method it answers, so a pong naming a pending getMe cannot pass for that call's result.
      case 'pong': {
        const call = this.pendingOf(obj['msgId'] as bigint, PING_METHODS)
        if (call && this.codec.innerRequest(call.request)['pingId'] === obj['pingId']) this.settle(call, obj)
        return
      }
      case 'future_salts': {
        const call = this.pendingOf(obj['reqMsgId'] as bigint, FUTURE_SALTS_METHODS)
        if (!call) return
        this.futureSalts = (obj['salts'] as TlValue[]).map((s) => ({
          validSince: s['validSince'] as number,
          validUntil: s['validUntil'] as number,
          salt: s['salt'] as bigint,
        }))
        this.settle(call, obj)
        return
      }
      case 'msgs_state_info': {
        const call = this.pendingOf(obj['reqMsgId'] as bigint, STATE_REQ_METHODS)
        if (call) this.settle(call, obj)
        return
      }
      case 'msgs_state_req': {
        const ids = obj['msgIds'] as bigint[]
        const info = new Uint8Array(ids.length)
        // 4 = received; +8 acked; 1 = unknown. We only know what we have answered or are waiting for.
        ids.forEach((i, k) => {
          info[k] = this.seen.has(i) ? 4 + 8 : 1
        })
        this.sendService({ _: 'msgs_state_info', reqMsgId: msgId, info })
        return
      }
      case 'msg_resend_req':
        for (const i of obj['msgIds'] as bigint[]) this.resend(i, 'msg_resend_req')
        return
      case 'msg_detailed_info':
      case 'msg_new_detailed_info': {
        const answer = obj['answerMsgId'] as bigint
        if (this.seen.has(answer)) this.acks.push(answer)
        else this.sendService({ _: 'msg_resend_req', msgIds: [answer] })
        return
      }
      case 'destroy_session_ok':
      case 'destroy_session_none': {
        // No req_msg_id: the answer names the session, so it settles the destroy_session call for that session.
        if (!this.pending) return
        for (const call of this.pending.values()) {
          if (
            call.method === 'destroy_session' &&
            this.codec.innerRequest(call.request)['sessionId'] === obj['sessionId']
          ) {
            this.settle(call, obj)
            return
          }
        }
        return
      }
      case 'destroy_auth_key_ok':
      case 'destroy_auth_key_none':
      case 'destroy_auth_key_fail': {
        // Sent as a plain (encrypted) message, naming nothing: it settles a pending destroy_auth_key and nothing else.
        if (!this.pending) return
        for (const call of this.pending.values()) {
          if (call.method === 'destroy_auth_key') {
            this.settle(call, obj)
            return
          }
        }
        return
      }
      case 'msgs_all_info':
        return
      default:
        this.hooks.onUpdate?.(obj)
    }
  }

  /** The pending call `msgId` if it is a call of one of `methods`. */
  private pendingOf(msgId: bigint, methods: ReadonlySet<string>): PendingCall | undefined {
    const call = this.pending?.get(msgId)
    return call && methods.has(call.method) ? call : undefined
  }

  private handleRpcResult(body: Uint8Array, budget: DecodeBudget): void {
    const r = this.codec.reader(body, 4, body.length, budget)
    const reqMsgId = r.long()
    const call = this.pending?.get(reqMsgId)
    if (!call) return // an answer to something we gave up on
    if (r.peekUint() === ID.rpc_error) {
      const err = this.codec.decode(body.subarray(r.pos), budget) as TlValue
      this.settleError(call, new RpcError(err['errorCode'] as number, err['errorMessage'] as string, call.method))
      return
    }
    let result: unknown
    try {
      result = this.codec.readResult(call.request, r)
    } catch (err) {
      this.settleError(call, err as Error)
      return
    }
    this.settle(call, result)
  }

  private settle(call: PendingCall, value: unknown): void {
    if (call.timer) clearTimeout(call.timer)
    this.dropPending(call.msgId)
    call.resolve(value)
  }

  private settleError(call: PendingCall, err: Error): void {
    if (call.timer) clearTimeout(call.timer)
    this.dropPending(call.msgId)
    call.reject(err)
  }

  private handleBadMsg(serverMsgId: bigint, badMsgId: bigint, code: number): void {
    // Only a notification about a call still waiting changes anything: one about a message we no longer track (or
    // never sent) must not reset the session or move the clock, however many of them arrive.
    if (!this.pending?.has(badMsgId) && !this.containers?.has(badMsgId)) return
    const reason = `bad_msg_notification ${code}`
    switch (code) {
      case 16: // msg_id too low
      case 17: // msg_id too high
        this.clock.syncFrom(serverMsgId)
        this.timeSynced = true
        if (code === 17) this.resetSession('bad_msg_notification 17 (msg_id too high)')
        this.resend(badMsgId, reason)
        return
      case 20: // message too old: the server forgot it
        this.resend(badMsgId, reason)
        return
      default:
        // 18/19 (id not divisible by 4, container id collision), 32–35 (seqno), 64 (bad container):
        // our numbering is off; start a new session and send again.
        this.resetSession(reason)
        this.resend(badMsgId, reason)
    }
  }

  /**
   * Sends a call (or every call of a container) again with new ids, at the server's request; a call asked for more
   * than maxResends times fails with ResendLimitError instead.
   */
  private resend(msgId: bigint, reason: string): void {
    const inContainer = this.containers?.get(msgId)
    const ids = inContainer ?? [msgId]
    this.containers?.delete(msgId)
    for (const id of ids) {
      const call = this.pending?.get(id)
      if (!call) continue
      if (++call.resends > this.maxResends) {
        this.settleError(call, new ResendLimitError(call.method, call.resends - 1, reason))
        continue
      }
      this.dropPending(id)
      this.enqueue(call)
    }
  }

  /** A new session id and seq_no 0; pending calls are sent again in it. */
  resetSession(reason: string): void {
    this.sessionId = randomLong()
    this.contentSent = 0
    // A clock synced backwards (bad_msg_notification 17) must give lower ids now, or every resend is too high again.
    this.clock.restart()
    this.seen.clear()
    this.hooks.onSessionReset?.(reason)
  }

  /** After a reconnect: every call still waiting is sent again (the server may never have seen it). */
  resendPending(): void {
    if (!this.pending) return
    const calls = [...this.pending.values()].sort((a, b) => (a.msgId < b.msgId ? -1 : 1))
    this.pending = undefined
    this.containers = undefined
    for (const c of calls) this.enqueue(c)
  }

  /** Rejects everything pending and refuses new calls. */
  close(err: Error = new SessionClosedError()): void {
    this.closed = true
    for (const c of [...(this.pending?.values() ?? []), ...this.outbox]) {
      if (c.timer) clearTimeout(c.timer)
      if (c.expectsAnswer) c.reject(err)
    }
    this.pending = undefined
    this.containers = undefined
    this.outbox = []
  }
}
