/**
 * A client TCP connection to a DC: directly, through a SOCKS5 proxy, or through an MTProxy. Wraps a
 * ClientTransportCodec around a node `net` socket.
 *
 * Built to be cheap (thousands per process): no closure per connection (the socket's listeners are shared by every
 * connection and events go to one listener object), one timer only while connecting, no buffers while idle (chunks are
 * queued by reference and copied once per frame), no 'error' event to forget — failures arrive through `connect()`'s
 * rejection or the single onTransportClose call.
 */
import { Socket } from 'node:net'
import { ClientTransportCodec } from './client-transport-codec.ts'
import { ConnectTimeoutError, ConnectionClosedError, ProxyError, type TransportError } from './errors.ts'
import type { EncodeOptions, FramingName, RandomSource } from './framing.ts'
import { parseMtproxySecret } from './mtproxy-secret.ts'
import { Socks5Handshake } from './socks5-handshake.ts'

/** Default connect timeout (TCP + proxy handshake). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export interface Socks5ProxyConfig {
  type: 'socks5'
  host: string
  port: number
  /** Username/password authentication (RFC 1929); both or neither. */
  username?: string
  password?: string
}

export interface MtproxyConfig {
  type: 'mtproxy'
  host: string
  port: number
  /** 16 bytes, or `dd` + 16 bytes; hex, base64 or bytes. `ee` (fake-TLS) secrets are refused. */
  secret: string | Uint8Array
}

export type ProxyConfig = Socks5ProxyConfig | MtproxyConfig

export interface TransportConnectionOptions {
  /** The DC address (reached directly or through SOCKS5; an MTProxy routes by `dcId` instead). */
  host: string
  port: number
  /** Default 'intermediate'. A `dd` MTProxy secret forces 'padded'. */
  framing?: FramingName
  /** Default false; always on through MTProxy. 'full' cannot be obfuscated. */
  obfuscated?: boolean
  /** Target DC (required with MTProxy: +10000 for test DCs, negative for media DCs). */
  dcId?: number
  proxy?: ProxyConfig
  connectTimeoutMs?: number
  maxFrameLength?: number
  random?: RandomSource
}

export type TransportConnectionState = 'idle' | 'connecting' | 'open' | 'closed'

/**
 * What a connection reports, to one object (set `listener` before `connect()`). Calls are synchronous, from the
 * socket's events; a listener may close the connection from inside a call.
 */
export interface TransportListener {
  onTransportFrame(payload: Uint8Array, from: TransportConnection): void
  /** Quick-ack token (uint32 with the top bit set). */
  onTransportQuickAck?(token: number, from: TransportConnection): void
  onTransportError(error: TransportError, from: TransportConnection): void
  /** Called once, only after the connection was open; `error` is undefined for a clean close. */
  onTransportClose(error: Error | undefined, from: TransportConnection): void
}

/** A socket that knows its connection, so that one set of listener functions serves every socket of the process. */
class OwnedSocket extends Socket {
  constructor(readonly owner: TransportConnection) {
    super()
    this.setNoDelay(true) // applied when the handle is created, as net.connect's noDelay option
  }
}

/** What a connect() in progress settles. */
interface ConnectWaiter {
  resolve(): void
  reject(error: Error): void
  timer: NodeJS.Timeout
}

export class TransportConnection {
  /** Receives frames, quick acks, transport errors and the close. */
  listener: TransportListener | undefined
  private readonly codec: ClientTransportCodec
  /** Needed until connect() starts. */
  private options: TransportConnectionOptions | undefined
  private socket: Socket | undefined
  private socks: Socks5Handshake | undefined
  private waiter: ConnectWaiter | undefined
  private stateValue: TransportConnectionState = 'idle'
  private closeError: Error | undefined
  /** close() was called (the socket's 'close' event comes later). */
  private closeRequested = false

  constructor(options: TransportConnectionOptions) {
    this.options = options
    const proxy = options.proxy
    if (proxy?.type === 'mtproxy') {
      if (options.dcId === undefined) throw new ProxyError('mtproxy-bad-config', 'MTProxy needs the target dcId')
      this.codec = new ClientTransportCodec({
        framing: options.framing ?? 'intermediate',
        mtproxy: { secret: parseMtproxySecret(proxy.secret), dcId: options.dcId },
        maxFrameLength: options.maxFrameLength,
        random: options.random,
      })
    } else {
      this.codec = new ClientTransportCodec({
        framing: options.framing ?? 'intermediate',
        obfuscated: options.obfuscated,
        maxFrameLength: options.maxFrameLength,
        random: options.random,
      })
      if (proxy?.type === 'socks5') {
        const { username, password } = proxy
        if ((username === undefined) !== (password === undefined)) {
          throw new ProxyError('socks-bad-config', 'give both username and password, or neither')
        }
        const credentials = username !== undefined && password !== undefined ? { username, password } : undefined
        this.socks = new Socks5Handshake({ host: options.host, port: options.port }, credentials)
      }
    }
  }

  get state(): TransportConnectionState {
    return this.stateValue
  }

  /** The framing actually used (a `dd` MTProxy secret may have forced 'padded'). */
  get framing(): FramingName {
    return this.codec.framing.name
  }

  /** Bytes queued in the socket and not yet handed to the kernel (for backpressure). */
  get pendingWriteBytes(): number {
    return this.socket?.writableLength ?? 0
  }

  /** Opens TCP (and the proxy handshake). Rejects with ConnectTimeoutError, ProxyError or the socket's error. */
  connect(): Promise<void> {
    const options = this.options
    if (this.stateValue !== 'idle' || options === undefined) {
      return Promise.reject(new ConnectionClosedError('connect() may be called once'))
    }
    this.stateValue = 'connecting'
    this.options = undefined
    const proxy = options.proxy
    const host = proxy?.host ?? options.host
    const port = proxy?.port ?? options.port
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS

    return new Promise<void>((resolve, reject) => {
      const socket = new OwnedSocket(this)
      this.socket = socket
      this.waiter = {
        resolve,
        reject,
        timer: setTimeout(TransportConnection.onConnectTimeout, timeoutMs, this, timeoutMs),
      }
      socket.on('error', TransportConnection.onSocketError)
      socket.on('close', TransportConnection.onSocketClose)
      socket.on('connect', TransportConnection.onSocketConnect)
      socket.on('data', TransportConnection.onSocketData)
      try {
        socket.connect({ host, port })
      } catch (error) {
        this.failConnect(error instanceof Error ? error : new ConnectionClosedError(String(error)))
      }
    })
  }

  /**
   * Sends one MTProto packet. Returns false when the socket's buffer is full (wait for 'drain' on backpressure-aware
   * paths). Throws ConnectionClosedError if the connection is not open.
   */
  send(payload: Uint8Array, options?: EncodeOptions): boolean {
    if (this.stateValue !== 'open' || this.closeRequested || this.socket === undefined) {
      throw new ConnectionClosedError()
    }
    return this.socket.write(this.codec.encode(payload, options))
  }

  /** Closes at once; onTransportClose follows (with no error) if the connection was open. */
  close(): void {
    if (this.stateValue === 'closed' || this.stateValue === 'idle') {
      this.stateValue = 'closed'
      return
    }
    this.closeRequested = true
    this.socket?.destroy()
  }

  // The socket's listeners, shared by every connection: `this` is the socket.

  private static onSocketError(this: OwnedSocket, error: Error): void {
    const conn = this.owner
    if (conn.stateValue === 'connecting') conn.failConnect(error)
    else conn.closeError ??= error
  }

  private static onSocketClose(this: OwnedSocket): void {
    const conn = this.owner
    if (conn.stateValue === 'connecting') {
      let error: Error
      if (conn.closeRequested) error = new ConnectionClosedError('closed by the caller while connecting')
      else if (conn.socks !== undefined && !this.connecting) {
        error = new ProxyError('proxy-closed', 'the SOCKS5 proxy closed the connection during its handshake')
      } else error = new ConnectionClosedError('closed while connecting')
      conn.failConnect(error)
      return
    }
    if (conn.stateValue === 'open') {
      conn.stateValue = 'closed'
      conn.listener?.onTransportClose(conn.closeError, conn)
    }
  }

  private static onSocketConnect(this: OwnedSocket): void {
    const conn = this.owner
    if (conn.socks === undefined) conn.finishConnect()
    else if (conn.stateValue === 'connecting') this.write(conn.socks.start())
  }

  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    const conn = this.owner
    if (conn.stateValue === 'open') conn.receive(chunk)
    else if (conn.stateValue === 'connecting') conn.receiveSocks(chunk)
  }

  private static onConnectTimeout(conn: TransportConnection, timeoutMs: number): void {
    conn.failConnect(new ConnectTimeoutError(timeoutMs))
  }

  private failConnect(error: Error): void {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    clearTimeout(waiter.timer)
    this.stateValue = 'closed'
    this.socket?.destroy()
    waiter.reject(error)
  }

  private finishConnect(): void {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    clearTimeout(waiter.timer)
    this.stateValue = 'open'
    waiter.resolve()
  }

  /** The proxy's answer during its handshake (the connection is 'connecting'). */
  private receiveSocks(chunk: Buffer): void {
    const socks = this.socks
    if (socks === undefined) return
    try {
      const reply = socks.push(chunk)
      if (reply !== undefined && reply.length > 0) this.socket?.write(reply)
    } catch (error) {
      this.failConnect(error instanceof Error ? error : new ProxyError('socks-protocol', String(error)))
      return
    }
    if (!socks.done) return
    const leftover = socks.takeLeftover()
    this.socks = undefined
    this.finishConnect()
    if (leftover.length > 0) this.receive(leftover)
  }

  private receive(chunk: Uint8Array): void {
    try {
      this.codec.push(chunk)
      for (;;) {
        if (this.stateValue !== 'open' || this.closeRequested) return // a listener closed us
        const event = this.codec.next()
        if (event === undefined) return
        const listener = this.listener
        if (listener === undefined) continue
        switch (event.type) {
          case 'frame':
            listener.onTransportFrame(event.payload, this)
            break
          case 'quickAck':
            listener.onTransportQuickAck?.(event.token, this)
            break
          case 'transportError':
            listener.onTransportError(event.error, this)
            break
        }
      }
    } catch (error) {
      this.closeError ??= error instanceof Error ? error : new ConnectionClosedError(String(error))
      this.socket?.destroy()
    }
  }
}
