// One client connection to one DC: the transport, the auth key (created on first connect when there is
// none), the encrypted session, invokeWithLayer(initConnection(...)) on every new connection, ping keep-alive,
// timed acks, and reconnection with backoff in which pending calls are sent again.
import {
  TransportConnection,
  type FramingName,
  type ProxyConfig,
  type TransportError,
  type TransportListener,
} from '../transport/index.ts'
import { encryptMessage, decryptMessage } from '../crypto/message-cipher.ts'
import { AuthKey } from '../crypto/auth-key.ts'
import type { RsaPublicKey } from '../crypto/rsa-keys.ts'
import { randomBytes } from '../crypto/random.ts'
import { tlCodec, API_LAYER, type TlCodec, type TlValue } from '../tl/index.ts'
import { packPlainMessage, unpackPlainMessage } from '../session/plain-message.ts'
import { MessageIdClock } from '../session/message-id-clock.ts'
import {
  MtprotoSession,
  SessionClosedError,
  RequestTimeoutError,
  type InvokeOptions,
  type PlainEnvelope,
  type SessionCipher,
  type SessionHooks,
  type SessionSecurityError,
} from '../session/mtproto-session.ts'
import { TimeoutError } from '../timeout-error.ts'
import { exchangeAuthKey, type PlainChannel } from '../handshake/auth-key-exchange.ts'
import { connectionHeartbeat, type HeartbeatTarget } from './connection-heartbeat.ts'
import { LightEmitter } from './light-emitter.ts'
import { MtprotoError } from '../mtproto-error.ts'

/** What initConnection tells the server about the app (Telegram keeps it with the authorization). */
export interface AppIdentity {
  apiId: number
  deviceModel: string
  systemVersion: string
  appVersion: string
  systemLangCode: string
  langPack: string
  langCode: string
}

export interface DcConnectionOptions {
  dcId: number
  host: string
  port: number
  testMode: boolean
  app: AppIdentity
  rsaKeys: Iterable<RsaPublicKey>
  /** An existing auth key for this DC (from storage); created by a key exchange when absent. */
  authKey?: Uint8Array
  serverSalt?: bigint
  framing?: FramingName
  obfuscated?: boolean
  proxy?: ProxyConfig
  codec?: TlCodec
  /** TCP connect (and a proxy's handshake), default 10 s. */
  connectTimeoutMs?: number
  /** How long each step of the auth-key exchange may wait for its answer (default 10 s). */
  handshakeTimeoutMs?: number
  /**
   * How long one call may take, counted from invoke(): waiting for the connection and a key exchange included
   * (default 60 s; a call's own `timeoutMs` wins). Infinity: no deadline.
   */
  requestTimeoutMs?: number
  /** Resends of one call the server may ask for (bad_server_salt, bad_msg_notification, msg_resend_req), default 5. */
  maxResends?: number
  /** ping_delay_disconnect interval; the server drops us if nothing arrives for interval + 15 s. */
  pingIntervalMs?: number
  /** How long received messages may wait for an ack when we have nothing else to send. */
  ackDelayMs?: number
  /**
   * Reconnection after a lost connection: up to maxAttempts (default 8) with exponential backoff from baseDelayMs
   * (250) capped at maxDelayMs (10 s), ±25% jitter; the count resets only when a packet passes every check.
   */
  reconnect?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number }
  /** Called when a new auth key was created (persist it). */
  onAuthKey?(authKey: Uint8Array, serverSalt: bigint): void
  onUpdate?(update: TlValue): void
}

export class AuthKeyUnknownError extends MtprotoError {
  override readonly name = 'AuthKeyUnknownError'
  /** The retry makes a new key. */
  override get transient(): boolean {
    return true
  }
  constructor(readonly dcId: number) {
    super(`DC ${dcId} does not know our auth key (transport error -404): a new key is needed`)
  }
}

export class ConnectionLostError extends MtprotoError {
  override readonly name: string = 'ConnectionLostError'
  override get transient(): boolean {
    return true
  }
}

/** Reconnecting failed `attempts` times in a row (no packet passed the checks in between): the connection gave up. */
export class ReconnectGaveUpError extends ConnectionLostError {
  override readonly name = 'ReconnectGaveUpError'
  constructor(
    readonly dcId: number,
    readonly attempts: number,
    cause: Error | undefined,
  ) {
    super(
      `gave up reconnecting to DC ${dcId} after ${attempts} attempts${cause ? `: ${cause.message}` : ''}`,
      cause ? { cause } : undefined,
    )
  }
}

const DEFAULT_PING_INTERVAL_MS = 60_000
/** ping_delay_disconnect's delay: the server closes the connection after this many seconds of silence. */
const PING_DISCONNECT_DELAY_S = 75
const DEFAULT_ACK_DELAY_MS = 5_000
const DEFAULT_RECONNECT = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 10_000 }
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000
/** Transport errors (docs/protocol.md#transports). */
const TRANSPORT_AUTH_KEY_NOT_FOUND = -404
const TRANSPORT_FLOOD = -429
const TRANSPORT_INVALID_DC = -444

export interface DcConnectionEvents {
  /** The connection is usable (after connect and after every reconnect). */
  ready: []
  /** Gave up reconnecting, or the key is unknown: pending calls were rejected with `error`. */
  closed: [error: Error | undefined]
  securityViolation: [error: SessionSecurityError]
}

/** MTProto 2.0 encryption with one auth key, as the client (a class: no closures per connection). */
class ClientCipher implements SessionCipher {
  constructor(private readonly key: AuthKey) {}

  encrypt(m: PlainEnvelope): Uint8Array {
    return encryptMessage(this.key, 'client', m).packet
  }

  decrypt(p: Uint8Array): PlainEnvelope {
    // Padded intermediate may add up to 15 bytes after the packet: cut to what MTProto says it is.
    return decryptMessage(this.key, 'server', p.subarray(0, 24 + ((p.length - 24) & ~15)))
  }
}

/**
 * Thousands of these live in one process, so a connection is its own transport listener, session hooks and heartbeat
 * target (methods, not a closure per callback), and its events cost nothing until someone listens.
 */
export class DcConnection
  extends LightEmitter<DcConnectionEvents>
  implements HeartbeatTarget, TransportListener, SessionHooks
{
  private transport: TransportConnection | undefined
  private session: MtprotoSession | undefined
  private authKey: AuthKey | undefined
  private initialized = false
  private closing = false
  private connecting: Promise<void> | undefined
  /** When we last pinged, and since when received messages wait for an ack (0: none), for the heartbeat. */
  private lastPingAt = 0
  private acksWaitingSince = 0
  private reconnectAttempts = 0
  /** Packets that passed every check, on any transport: a call that timed out with none arriving meanwhile ends the transport. */
  private validPackets = 0
  /**
   * The transport on which a -404 arrived while we had a key, until a packet passes every check. See onTransportError
   * for the rule.
   */
  private keySuspectedOn: TransportConnection | undefined
  private readonly codec: TlCodec
  private plainWaiter: { resolve(body: Uint8Array): void; reject(err: Error): void; timer: NodeJS.Timeout } | undefined

  constructor(readonly opts: DcConnectionOptions) {
    super()
    this.codec = opts.codec ?? tlCodec
    if (opts.authKey) this.authKey = new AuthKey(opts.authKey)
  }

  get dcId(): number {
    return this.opts.dcId
  }

  get authKeyBytes(): Uint8Array | undefined {
    return this.authKey?.key
  }

  get serverSalt(): bigint | undefined {
    return this.session?.salt
  }

  /** Connects (creating an auth key if needed). Safe to call repeatedly. */
  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new SessionClosedError('the connection was closed'))
    if (this.transport?.state === 'open' && this.session) return Promise.resolve()
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private async open(): Promise<void> {
    const o = this.opts
    const transport = new TransportConnection({
      host: o.host,
      port: o.port,
      framing: o.framing ?? 'intermediate',
      obfuscated: o.obfuscated ?? false,
      dcId: o.testMode ? o.dcId + 10000 : o.dcId,
      ...(o.proxy ? { proxy: o.proxy } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    })
    transport.listener = this
    await transport.connect()
    this.transport = transport
    this.initialized = false
    if (!this.authKey) {
      let created
      try {
        created = await exchangeAuthKey(this.plainChannel(), {
          dcId: o.dcId,
          testMode: o.testMode,
          rsaKeys: o.rsaKeys,
          codec: this.codec,
        })
      } catch (err) {
        // A failed check (or a refused exchange) drops the connection (docs/protocol.md#security-checks); the next connect() starts over.
        this.transport = undefined
        transport.close()
        throw err
      }
      this.authKey = created.authKey
      this.session = this.newSession(created.serverSalt, created.timeOffset)
      o.onAuthKey?.(created.authKey.key, created.serverSalt)
    } else if (!this.session) {
      this.session = this.newSession(o.serverSalt ?? 0n)
    } else {
      this.session.resendPending()
    }
    // A -404 on the last connection is confirmed or cleared by this one: it must carry a request for the DC to answer.
    if (this.keySuspectedOn) this.probeKey()
    // reconnectAttempts is reset only when the server answers (onFrame): a DC that accepts connections and
    // drops them at once must still make us give up.
    this.startPing()
    this.emit('ready')
  }

  /**
   * The key exchange's messages, each step with its own deadline: a DC that accepts TCP and then stays silent,
   * reads nothing, or trickles a frame that never ends fails the step with TimeoutError('handshake').
   */
  private plainChannel(): PlainChannel {
    const clock = new MessageIdClock(0)
    const ms = this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
    return {
      request: (body, step) =>
        new Promise<Uint8Array>((resolve, reject) => {
          const transport = this.transport
          const timer = setTimeout(() => {
            if (this.plainWaiter?.timer !== timer) return
            this.plainWaiter = undefined
            reject(new TimeoutError('handshake', ms, `${step} got no answer from DC ${this.opts.dcId} within ${ms} ms`))
          }, ms)
          timer.unref()
          this.plainWaiter = { resolve, reject, timer }
          try {
            transport!.send(packPlainMessage(clock.next(), body))
          } catch (err) {
            clearTimeout(timer)
            this.plainWaiter = undefined
            reject(err as Error)
          }
        }),
    }
  }

  private takePlainWaiter(): { resolve(body: Uint8Array): void; reject(err: Error): void } | undefined {
    const waiter = this.plainWaiter
    if (waiter) {
      clearTimeout(waiter.timer)
      this.plainWaiter = undefined
    }
    return waiter
  }

  private newSession(salt: bigint, timeOffset?: number): MtprotoSession {
    const o = this.opts
    return new MtprotoSession(new ClientCipher(this.authKey!), this, {
      salt,
      codec: this.codec,
      ...(timeOffset !== undefined ? { timeOffset } : {}),
      ...(o.maxResends !== undefined ? { maxResends: o.maxResends } : {}),
    })
  }

  /** A ping on the new connection: a DC that knows the key answers it (clearing the suspicion), one that does not says -404. */
  private probeKey(): void {
    const pingId = new DataView(randomBytes(8).buffer).getBigInt64(0, true)
    this.session
      ?.invoke({ _: 'ping', pingId }, { timeoutMs: this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS })
      .catch(() => {})
  }

  /** SessionHooks: the session's packets. Not for callers. */
  transmit(packet: Uint8Array): void {
    try {
      this.transport?.send(packet)
    } catch {
      // The transport is closing (e.g. right after a security violation): the calls stay pending and are
      // sent again once reconnected. Throwing here would surface as an uncaught exception from a microtask.
    }
    this.clearAckTimer()
  }

  /** SessionHooks: an update outside rpc_result. Not for callers. */
  onUpdate(update: TlValue): void {
    this.opts.onUpdate?.(update)
  }

  /** SessionHooks: an inbound message was dropped. Not for callers. */
  onSecurityViolation(err: SessionSecurityError): void {
    this.emit('securityViolation', err)
    // docs/protocol.md#security-checks: drop the message and reconnect.
    this.transport?.close()
  }

  /** TransportListener. Not for callers. */
  onTransportFrame(payload: Uint8Array): void {
    const waiter = this.takePlainWaiter()
    if (waiter) {
      try {
        waiter.resolve(unpackPlainMessage(payload).body)
      } catch (err) {
        waiter.reject(err as Error)
      }
      return
    }
    if (!this.session) return
    // Only a packet that passed every check shows the DC is there and knows our key: garbage, replays or another
    // session's packets must not keep a reconnect loop going for ever, nor clear a -404.
    if (this.session.receive(payload)) {
      this.validPackets++
      this.reconnectAttempts = 0
      this.keySuspectedOn = undefined
    }
    if (this.session.pendingAcks > 0 && this.acksWaitingSince === 0) this.acksWaitingSince = Date.now()
  }

  private clearAckTimer(): void {
    this.acksWaitingSince = 0
  }

  /** TransportListener. Not for callers. */
  onTransportError(err: TransportError, from?: TransportConnection): void {
    this.takePlainWaiter()?.reject(err)
    if (err.code === TRANSPORT_AUTH_KEY_NOT_FOUND && this.session) {
      // -404 with a key is a suspicion, not proof: it is 4 unauthenticated bytes that anyone on the path can send,
      // and the stored key is an account's login. So the key is kept and a fresh connection asks again (a ping);
      // only a -404 there too, before any packet passed the checks, confirms the DC no longer knows the key. A
      // packet that passes the checks clears the suspicion. tdlib likewise keeps its main key on a -404 and checks
      // it on a new connection before dropping it (Session::on_closed: "Use PFS to check main key", then
      // "Invalidate main key"); Telethon and GramJS drop the key at the first -404 (MTProtoSender's
      // InvalidBufferError 404 path), which is what let one injected packet log a farm out.
      const transport = from ?? this.transport
      if (this.keySuspectedOn !== undefined && transport !== this.keySuspectedOn) {
        this.shutdown(new AuthKeyUnknownError(this.opts.dcId))
        return
      }
      this.keySuspectedOn = transport
      this.transport?.close()
      return
    }
    if (err.code === TRANSPORT_INVALID_DC && this.session) {
      // This DC will not serve us (e.g. a test DC id on a production DC): reconnecting cannot help.
      this.shutdown(err)
      return
    }
    if (err.code === TRANSPORT_FLOOD) this.reconnectAttempts = Math.max(this.reconnectAttempts, 3)
    this.transport?.close()
  }

  /** TransportListener. Not for callers. */
  onTransportClose(err: Error | undefined, transport: TransportConnection): void {
    if (transport !== this.transport) return
    this.stopPing()
    this.clearAckTimer()
    this.takePlainWaiter()?.reject(err ?? new ConnectionLostError('connection closed during the key exchange'))
    this.transport = undefined
    if (this.closing || !this.session) return
    this.scheduleReconnect(err)
  }

  private scheduleReconnect(cause: Error | undefined): void {
    const r = { ...DEFAULT_RECONNECT, ...this.opts.reconnect }
    if (this.reconnectAttempts >= r.maxAttempts) {
      this.shutdown(new ReconnectGaveUpError(this.opts.dcId, this.reconnectAttempts, cause))
      return
    }
    const delay = Math.min(r.maxDelayMs, r.baseDelayMs * 2 ** this.reconnectAttempts) * (0.75 + Math.random() * 0.5)
    this.reconnectAttempts++
    const t = setTimeout(() => {
      if (this.closing) return
      this.connect().catch((err: Error) => this.scheduleReconnect(err))
    }, delay)
    t.unref()
  }

  private startPing(): void {
    this.lastPingAt = Date.now()
    connectionHeartbeat.add(this)
  }

  private stopPing(): void {
    connectionHeartbeat.delete(this)
  }

  /** Keep-alive (ping_delay_disconnect every pingIntervalMs) and acks that waited ackDelayMs. */
  onHeartbeat(now: number): void {
    const session = this.session
    if (!session || !this.transport) return
    if (this.acksWaitingSince !== 0 && now - this.acksWaitingSince >= (this.opts.ackDelayMs ?? DEFAULT_ACK_DELAY_MS)) {
      this.acksWaitingSince = 0
      session.flush()
    }
    const interval = this.opts.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS
    if (now - this.lastPingAt >= interval) {
      this.lastPingAt = now
      const pingId = new DataView(randomBytes(8).buffer).getBigInt64(0, true)
      const transport = this.transport
      session
        .invoke(
          { _: 'ping_delay_disconnect', pingId, disconnectDelay: PING_DISCONNECT_DELAY_S },
          { timeoutMs: interval },
        )
        .catch((err: unknown) => {
          // No pong for a whole interval: the path is dead (a blackhole keeps TCP open). Reconnect; calls are resent.
          if (err instanceof RequestTimeoutError && this.transport === transport) transport.close()
        })
    }
  }

  /**
   * Calls a method; the first calls of every connection are wrapped in invokeWithLayer(initConnection()). The
   * deadline (opts.timeoutMs, else requestTimeoutMs) runs from here: a connection or key exchange that hangs counts.
   */
  async invoke(request: TlValue, opts: InvokeOptions = {}): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const bounded = Number.isFinite(timeoutMs) && timeoutMs > 0
    const started = Date.now()
    await this.connectWithin(bounded ? timeoutMs : undefined, request)
    const session = this.session
    if (!session) throw new SessionClosedError('the connection was closed')
    opts = {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(bounded ? { timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) } : {}),
    }
    const transport = this.transport
    const validBefore = this.validPackets
    try {
      return await this.invokeInSession(session, request, opts)
    } catch (err) {
      // Nothing that passed the checks arrived while the call waited: the path is dead (a blackhole that keeps TCP
      // open, a frame that never ends). Reconnect now rather than at the next missed pong; calls are resent.
      if (
        err instanceof RequestTimeoutError &&
        transport &&
        this.transport === transport &&
        this.validPackets === validBefore
      )
        transport.close()
      throw err
    }
  }

  private async invokeInSession(session: MtprotoSession, request: TlValue, opts: InvokeOptions): Promise<unknown> {
    if (this.initialized) return session.invoke(request, opts)
    const a = this.opts.app
    const wrapped: TlValue = {
      _: 'invokeWithLayer',
      layer: this.codec.layer || API_LAYER,
      query: {
        _: 'initConnection',
        apiId: a.apiId,
        deviceModel: a.deviceModel,
        systemVersion: a.systemVersion,
        appVersion: a.appVersion,
        systemLangCode: a.systemLangCode,
        langPack: a.langPack,
        langCode: a.langCode,
        query: request,
      },
    }
    const result = await session.invoke(wrapped, opts)
    this.initialized = true
    return result
  }

  /** connect(), failing with RequestTimeoutError once `ms` have passed (the connect goes on within its own deadlines). */
  private connectWithin(ms: number | undefined, request: TlValue): Promise<void> {
    if (ms === undefined || (this.transport?.state === 'open' && this.session)) return this.connect()
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RequestTimeoutError(this.codec.innerRequest(request)._, ms)), ms)
      timer.unref()
      this.connect().then(
        () => {
          clearTimeout(timer)
          resolve()
        },
        (err: unknown) => {
          clearTimeout(timer)
          reject(err)
        },
      )
    })
  }

  private shutdown(err: Error | undefined): void {
    this.closing = true
    this.stopPing()
    this.clearAckTimer()
    this.session?.close(err ?? new SessionClosedError())
    this.transport?.close()
    this.transport = undefined
    this.emit('closed', err)
  }

  /** Closes the connection; pending calls are rejected. */
  close(): void {
    if (this.closing) return
    this.shutdown(undefined)
  }
}
