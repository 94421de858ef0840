// One client connection to one DC: the transport, the auth key (created on first connect when there is
// none), the encrypted session, invokeWithLayer(initConnection(...)) on every new connection, ping keep-alive,
// timed acks, and reconnection with backoff in which pending calls are sent again.
import { TransportConnection, type FramingName, type ProxyConfig, type TransportError, type TransportListener } from '../transport/index.ts'
import { encryptMessage, decryptMessage } from '../crypto/message-cipher.ts'
import { AuthKey } from '../crypto/auth-key.ts'
import type { RsaPublicKey } from '../crypto/rsa-keys.ts'
import { randomBytes } from '../crypto/random.ts'
import { tlCodec, API_LAYER, type TlCodec, type TlValue } from '../tl/index.ts'
import { packPlainMessage, unpackPlainMessage } from '../session/plain-message.ts'
import { MessageIdClock } from '../session/message-id-clock.ts'
import {
  MtprotoSession, SessionClosedError, type InvokeOptions, type PlainEnvelope, type SessionCipher, type SessionHooks, type SessionSecurityError,
} from '../session/mtproto-session.ts'
import { exchangeAuthKey, type PlainChannel } from '../handshake/auth-key-exchange.ts'
import { connectionHeartbeat, type HeartbeatTarget } from './connection-heartbeat.ts'
import { LightEmitter } from './light-emitter.ts'

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
  connectTimeoutMs?: number
  /** ping_delay_disconnect interval; the server drops us if nothing arrives for interval + 15 s. */
  pingIntervalMs?: number
  /** How long received messages may wait for an ack when we have nothing else to send. */
  ackDelayMs?: number
  reconnect?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number }
  /** Called when a new auth key was created (persist it). */
  onAuthKey?(authKey: Uint8Array, serverSalt: bigint): void
  onUpdate?(update: TlValue): void
}

export class AuthKeyUnknownError extends Error {
  override readonly name = 'AuthKeyUnknownError'
  constructor(readonly dcId: number) {
    super(`DC ${dcId} does not know our auth key (transport error -404): a new key is needed`)
  }
}

export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError'
}

const DEFAULT_PING_INTERVAL_MS = 60_000
/** ping_delay_disconnect's delay: the server closes the connection after this many seconds of silence. */
const PING_DISCONNECT_DELAY_S = 75
const DEFAULT_ACK_DELAY_MS = 5_000
const DEFAULT_RECONNECT = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 10_000 }
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
export class DcConnection extends LightEmitter<DcConnectionEvents> implements HeartbeatTarget, TransportListener, SessionHooks {
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
  private readonly codec: TlCodec
  private plainWaiter: { resolve(body: Uint8Array): void; reject(err: Error): void } | undefined

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
      host: o.host, port: o.port, framing: o.framing ?? 'intermediate', obfuscated: o.obfuscated ?? false,
      dcId: o.testMode ? o.dcId + 10000 : o.dcId, ...(o.proxy ? { proxy: o.proxy } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    })
    transport.listener = this
    await transport.connect()
    this.transport = transport
    this.initialized = false
    if (!this.authKey) {
      let created
      try {
        created = await exchangeAuthKey(this.plainChannel(), { dcId: o.dcId, testMode: o.testMode, rsaKeys: o.rsaKeys, codec: this.codec })
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
    // reconnectAttempts is reset only when the server answers (onFrame): a DC that accepts connections and
    // drops them at once must still make us give up.
    this.startPing()
    this.emit('ready')
  }

  private plainChannel(): PlainChannel {
    const clock = new MessageIdClock(0)
    return {
      request: (body) => new Promise<Uint8Array>((resolve, reject) => {
        this.plainWaiter = { resolve, reject }
        this.transport!.send(packPlainMessage(clock.next(), body))
      }),
    }
  }

  private newSession(salt: bigint, timeOffset?: number): MtprotoSession {
    return new MtprotoSession(new ClientCipher(this.authKey!), this, { salt, codec: this.codec, ...(timeOffset !== undefined ? { timeOffset } : {}) })
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
    if (this.plainWaiter) {
      const waiter = this.plainWaiter
      this.plainWaiter = undefined
      try {
        waiter.resolve(unpackPlainMessage(payload).body)
      } catch (err) {
        waiter.reject(err as Error)
      }
      return
    }
    if (!this.session) return
    this.reconnectAttempts = 0
    this.session.receive(payload)
    if (this.session.pendingAcks > 0 && this.acksWaitingSince === 0) this.acksWaitingSince = Date.now()
  }

  private clearAckTimer(): void {
    this.acksWaitingSince = 0
  }

  /** TransportListener. Not for callers. */
  onTransportError(err: TransportError): void {
    if (this.plainWaiter) {
      this.plainWaiter.reject(err)
      this.plainWaiter = undefined
    }
    if (err.code === TRANSPORT_AUTH_KEY_NOT_FOUND && this.session) {
      // The DC forgot our key (or never had it): nothing pending can succeed with it.
      this.shutdown(new AuthKeyUnknownError(this.opts.dcId))
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
    if (this.plainWaiter) {
      this.plainWaiter.reject(err ?? new ConnectionLostError('connection closed during the key exchange'))
      this.plainWaiter = undefined
    }
    this.transport = undefined
    if (this.closing || !this.session) return
    this.scheduleReconnect(err)
  }

  private scheduleReconnect(cause: Error | undefined): void {
    const r = { ...DEFAULT_RECONNECT, ...this.opts.reconnect }
    if (this.reconnectAttempts >= r.maxAttempts) {
      this.shutdown(new ConnectionLostError(`gave up reconnecting to DC ${this.opts.dcId} after ${r.maxAttempts} attempts${cause ? `: ${cause.message}` : ''}`))
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
      session.invoke({ _: 'ping_delay_disconnect', pingId, disconnectDelay: PING_DISCONNECT_DELAY_S }, { timeoutMs: interval }).catch(() => {})
    }
  }

  /** Calls a method; the first calls of every connection are wrapped in invokeWithLayer(initConnection()). */
  async invoke(request: TlValue, opts: InvokeOptions = {}): Promise<unknown> {
    await this.connect()
    const session = this.session!
    if (this.initialized) return session.invoke(request, opts)
    const a = this.opts.app
    const wrapped: TlValue = {
      _: 'invokeWithLayer', layer: this.codec.layer || API_LAYER,
      query: {
        _: 'initConnection', apiId: a.apiId, deviceModel: a.deviceModel, systemVersion: a.systemVersion, appVersion: a.appVersion,
        systemLangCode: a.systemLangCode, langPack: a.langPack, langCode: a.langCode, query: request,
      },
    }
    const result = await session.invoke(wrapped, opts)
    this.initialized = true
    return result
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
