/**
 * Typed errors of the transport layer. Nothing here throws strings: callers switch on the class and on
 * `code` / `reason`.
 */
import { TimeoutError } from '../timeout-error.ts'
import { MtprotoError } from '../mtproto-error.ts'

/** Transport error codes Telegram sends as a bare negative int32 instead of an MTProto message. */
export const TRANSPORT_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  [-404]: 'auth key not found (or the query was malformed)',
  [-429]: 'too many connections or too many requests (transport flood)',
  [-444]: 'invalid DC (a test DC id sent to production, or the reverse)',
}

/** A transport error frame received from the peer (e.g. -404). The connection is usually closed after it. */
export class TransportError extends MtprotoError {
  override readonly name = 'TransportError'
  constructor(readonly code: number) {
    super(`transport error ${code}: ${TRANSPORT_ERROR_MESSAGES[code] ?? 'unknown transport error'}`)
  }

  /** -404 (key unknown: a new one is made) and -429 (transport flood: later); not -444 (wrong DC, for good). */
  override get transient(): boolean {
    return this.code === -404 || this.code === -429
  }

  /** True for the codes Telegram documents (-404, -429, -444). */
  get isKnown(): boolean {
    return TRANSPORT_ERROR_MESSAGES[this.code] !== undefined
  }
}

export type TransportProtocolErrorReason =
  | 'frame-too-large'
  | 'empty-frame'
  | 'bad-length'
  | 'bad-crc'
  | 'bad-seq'
  | 'unknown-tag'
  | 'unsupported-transport'
  | 'plain-not-allowed'
  | 'obfuscation-not-allowed'

/** The byte stream does not follow the framing (hostile or broken peer). The stream cannot be resynchronised. */
export class TransportProtocolError extends MtprotoError {
  override readonly name = 'TransportProtocolError'
  constructor(
    readonly reason: TransportProtocolErrorReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`)
  }
}

export type ProxyErrorReason =
  /** The SOCKS5 server accepts none of the offered authentication methods. */
  | 'socks-no-acceptable-method'
  /** The SOCKS5 server rejected the username/password. */
  | 'socks-auth-rejected'
  /** The SOCKS5 server answered CONNECT with a failure code (see `socksReply`). */
  | 'socks-connect-failed'
  /** The SOCKS5 server sent bytes that are not SOCKS5. */
  | 'socks-protocol'
  /** A SOCKS5 field does not fit (username, password or domain longer than 255 bytes). */
  | 'socks-bad-config'
  /** The MTProxy secret cannot be parsed. */
  | 'mtproxy-invalid-secret'
  /** An `ee` (fake-TLS) MTProxy secret: we do not implement the TLS emulation. */
  | 'mtproxy-fake-tls-unsupported'
  /** An MTProxy connection was asked for without a DC id, or with a framing MTProxy cannot carry. */
  | 'mtproxy-bad-config'
  /** The proxy closed the connection during its handshake. */
  | 'proxy-closed'

/** SOCKS5 reply codes (RFC 1928 §6), for readable messages. */
const SOCKS_REPLY_MESSAGES: Readonly<Record<number, string>> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
}

/** SOCKS5 replies that say "not now" (RFC 1928 §6: 1 general failure, 3 network and 4 host unreachable, 5 refused, 6 TTL). */
const TRANSIENT_SOCKS_REPLIES: ReadonlySet<number> = new Set([1, 3, 4, 5, 6])

/** A SOCKS5 or MTProxy failure, with a machine-readable reason. */
export class ProxyError extends MtprotoError {
  override readonly name = 'ProxyError'
  constructor(
    readonly reason: ProxyErrorReason,
    detail: string,
    /** The SOCKS5 REP field when `reason` is 'socks-connect-failed'. */
    readonly socksReply?: number,
  ) {
    super(`${reason}: ${detail}`)
  }

  /** The proxy went away, or its SOCKS5 reply says "not now" (general failure, unreachable, refused, TTL), not
   * "never" (rules, config, authentication). */
  override get transient(): boolean {
    if (this.reason === 'proxy-closed') return true
    return (
      this.reason === 'socks-connect-failed' &&
      this.socksReply !== undefined &&
      TRANSIENT_SOCKS_REPLIES.has(this.socksReply)
    )
  }

  static socksReplyMessage(code: number): string {
    return SOCKS_REPLY_MESSAGES[code] ?? `unknown SOCKS5 reply ${code}`
  }
}

/** The TCP connection (and the proxy handshake, if any) did not complete in time: TimeoutError's 'connect' phase. */
export class ConnectTimeoutError extends TimeoutError {
  override readonly name = 'ConnectTimeoutError'
  constructor(timeoutMs: number) {
    super('connect', timeoutMs, `connection not established within ${timeoutMs} ms`)
  }
}

/** Server side: the client sent nothing for `timeoutMs` (after its transport was detected), so it was dropped. */
export class IdleTimeoutError extends MtprotoError {
  override readonly name = 'IdleTimeoutError'
  constructor(readonly timeoutMs: number) {
    super(`nothing received for ${timeoutMs} ms`)
  }
}

/** `send()` was called on a connection that is not open. */
export class ConnectionClosedError extends MtprotoError {
  override readonly name = 'ConnectionClosedError'
  override get transient(): boolean {
    return true
  }
  constructor(detail = 'connection is closed') {
    super(detail)
  }
}
