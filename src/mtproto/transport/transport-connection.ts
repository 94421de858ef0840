/**
 * A client TCP connection to a DC: directly, through a SOCKS5 proxy, or through an MTProxy. Wraps a
 * ClientTransportCodec around a node `net` socket.
 *
 * Built to be cheap (thousands per process): one timer only while connecting, no buffers while idle (chunks are
 * queued by reference and copied once per frame), no 'error' event to forget — failures arrive through `connect()`'s
 * rejection or the single 'close' event.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { ClientTransportCodec } from './client-transport-codec.ts';
import { ConnectTimeoutError, ConnectionClosedError, ProxyError, type TransportError } from './errors.ts';
import type { EncodeOptions, FramingName, RandomSource } from './framing.ts';
import { parseMtproxySecret } from './mtproxy-secret.ts';
import { Socks5Handshake } from './socks5-handshake.ts';

/** Default connect timeout (TCP + proxy handshake). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface Socks5ProxyConfig {
  type: 'socks5';
  host: string;
  port: number;
  /** Username/password authentication (RFC 1929); both or neither. */
  username?: string;
  password?: string;
}

export interface MtproxyConfig {
  type: 'mtproxy';
  host: string;
  port: number;
  /** 16 bytes, or `dd` + 16 bytes; hex, base64 or bytes. `ee` (fake-TLS) secrets are refused. */
  secret: string | Uint8Array;
}

export type ProxyConfig = Socks5ProxyConfig | MtproxyConfig;

export interface TransportConnectionOptions {
  /** The DC address (reached directly or through SOCKS5; an MTProxy routes by `dcId` instead). */
  host: string;
  port: number;
  /** Default 'intermediate'. A `dd` MTProxy secret forces 'padded'. */
  framing?: FramingName;
  /** Default false; always on through MTProxy. 'full' cannot be obfuscated. */
  obfuscated?: boolean;
  /** Target DC (required with MTProxy: +10000 for test DCs, negative for media DCs). */
  dcId?: number;
  proxy?: ProxyConfig;
  connectTimeoutMs?: number;
  maxFrameLength?: number;
  random?: RandomSource;
}

export type TransportConnectionState = 'idle' | 'connecting' | 'open' | 'closed';

export interface TransportConnectionEvents {
  frame: [payload: Uint8Array];
  /** Quick-ack token (uint32 with the top bit set). */
  quickAck: [token: number];
  transportError: [error: TransportError];
  /** Emitted once, only after the connection was open; `error` is undefined for a clean close. */
  close: [error: Error | undefined];
}

export class TransportConnection extends EventEmitter<TransportConnectionEvents> {
  private readonly codec: ClientTransportCodec;
  private readonly options: TransportConnectionOptions;
  private socket: Socket | undefined;
  private socks: Socks5Handshake | undefined;
  private stateValue: TransportConnectionState = 'idle';
  private closeError: Error | undefined;
  /** close() was called (the socket's 'close' event comes later). */
  private closeRequested = false;

  constructor(options: TransportConnectionOptions) {
    super();
    this.options = options;
    const proxy = options.proxy;
    if (proxy?.type === 'mtproxy') {
      if (options.dcId === undefined) throw new ProxyError('mtproxy-bad-config', 'MTProxy needs the target dcId');
      this.codec = new ClientTransportCodec({
        framing: options.framing ?? 'intermediate',
        mtproxy: { secret: parseMtproxySecret(proxy.secret), dcId: options.dcId },
        maxFrameLength: options.maxFrameLength,
        random: options.random,
      });
    } else {
      this.codec = new ClientTransportCodec({
        framing: options.framing ?? 'intermediate',
        obfuscated: options.obfuscated,
        maxFrameLength: options.maxFrameLength,
        random: options.random,
      });
      if (proxy?.type === 'socks5') {
        const { username, password } = proxy;
        if ((username === undefined) !== (password === undefined)) {
          throw new ProxyError('socks-bad-config', 'give both username and password, or neither');
        }
        const credentials = username !== undefined && password !== undefined ? { username, password } : undefined;
        this.socks = new Socks5Handshake({ host: options.host, port: options.port }, credentials);
      }
    }
  }

  get state(): TransportConnectionState {
    return this.stateValue;
  }

  /** The framing actually used (a `dd` MTProxy secret may have forced 'padded'). */
  get framing(): FramingName {
    return this.codec.framing.name;
  }

  /** Bytes queued in the socket and not yet handed to the kernel (for backpressure). */
  get pendingWriteBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Opens TCP (and the proxy handshake). Rejects with ConnectTimeoutError, ProxyError or the socket's error. */
  connect(): Promise<void> {
    if (this.stateValue !== 'idle') return Promise.reject(new ConnectionClosedError('connect() may be called once'));
    this.stateValue = 'connecting';
    const proxy = this.options.proxy;
    const host = proxy?.host ?? this.options.host;
    const port = proxy?.port ?? this.options.port;
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

    return new Promise<void>((resolve, reject) => {
      const socket = netConnect({ host, port, noDelay: true });
      this.socket = socket;
      let settled = false;
      const timer = setTimeout(() => fail(new ConnectTimeoutError(timeoutMs)), timeoutMs);
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stateValue = 'closed';
        socket.destroy();
        reject(error);
      };
      const open = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stateValue = 'open';
        resolve();
      };

      socket.on('error', (error) => {
        if (this.stateValue === 'connecting') fail(error);
        else this.closeError ??= error;
      });
      socket.on('close', () => {
        if (this.stateValue === 'connecting') {
          let error: Error;
          if (this.closeRequested) error = new ConnectionClosedError('closed by the caller while connecting');
          else if (this.socks !== undefined && !socket.connecting) {
            error = new ProxyError('proxy-closed', 'the SOCKS5 proxy closed the connection during its handshake');
          } else error = new ConnectionClosedError('closed while connecting');
          fail(error);
          return;
        }
        if (this.stateValue === 'open') {
          this.stateValue = 'closed';
          this.emit('close', this.closeError);
        }
      });
      socket.once('connect', () => {
        if (this.socks === undefined) {
          open();
          return;
        }
        socket.write(this.socks.start());
      });
      socket.on('data', (chunk: Buffer) => {
        if (this.stateValue === 'connecting') {
          const socks = this.socks;
          if (socks === undefined) return;
          try {
            const reply = socks.push(chunk);
            if (reply !== undefined && reply.length > 0) socket.write(reply);
          } catch (error) {
            fail(error instanceof Error ? error : new ProxyError('socks-protocol', String(error)));
            return;
          }
          if (!socks.done) return;
          const leftover = socks.takeLeftover();
          this.socks = undefined;
          open();
          if (leftover.length > 0) this.receive(leftover);
          return;
        }
        if (this.stateValue === 'open') this.receive(chunk);
      });
    });
  }

  /**
   * Sends one MTProto packet. Returns false when the socket's buffer is full (wait for 'drain' on backpressure-aware
   * paths). Throws ConnectionClosedError if the connection is not open.
   */
  send(payload: Uint8Array, options?: EncodeOptions): boolean {
    if (this.stateValue !== 'open' || this.closeRequested || this.socket === undefined) {
      throw new ConnectionClosedError();
    }
    return this.socket.write(this.codec.encode(payload, options));
  }

  /** Closes at once; 'close' follows (with no error) if the connection was open. */
  close(): void {
    if (this.stateValue === 'closed' || this.stateValue === 'idle') {
      this.stateValue = 'closed';
      return;
    }
    this.closeRequested = true;
    this.socket?.destroy();
  }

  private receive(chunk: Uint8Array): void {
    try {
      this.codec.push(chunk);
      for (;;) {
        if (this.stateValue !== 'open' || this.closeRequested) return; // a listener closed us
        const event = this.codec.next();
        if (event === undefined) return;
        switch (event.type) {
          case 'frame':
            this.emit('frame', event.payload);
            break;
          case 'quickAck':
            this.emit('quickAck', event.token);
            break;
          case 'transportError':
            this.emit('transportError', event.error);
            break;
        }
      }
    } catch (error) {
      this.closeError ??= error instanceof Error ? error : new ConnectionClosedError(String(error));
      this.socket?.destroy();
    }
  }
}
