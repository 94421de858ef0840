// Which failures of a login step are passing trouble — a connection that went, a proxy or DC not answering now,
// Telegram's own 5xx, Redis away — so the step is retried (BullMQ attempts with backoff) instead of the login
// ending as failed(<name>).
import { SessionStorageError } from '../auth/storage/index.ts'
import { RpcError } from '../mtproto/rpc-error.ts'

/** Errors of a connection that went (or never came), by class name: another attempt may well work. */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  'ConnectionLostError', 'RequestTimeoutError', 'SessionClosedError', 'ConnectTimeoutError', 'ConnectionClosedError',
  // A silent DC: a deadline of the client passed (connect, a key-exchange step, a call), or reconnecting gave up.
  'TimeoutError', 'ReconnectGaveUpError',
  // -404: the DC forgot the key; the retry makes a new one (run() drops a key that logs nobody in).
  'AuthKeyUnknownError',
  'MaxRetriesPerRequestError', // ioredis gave up on a command while Redis was away
])
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
])
/** -404 (key unknown: a new one is made) and -429 (transport flood: later): not -444 (wrong DC, for good). */
const TRANSIENT_TRANSPORT_CODES: ReadonlySet<number> = new Set([-404, -429])
/** SOCKS5 replies that say "not now" (general failure, unreachable, refused, TTL), not "never" (rules, config). */
const TRANSIENT_SOCKS_REPLIES: ReadonlySet<number> = new Set([1, 3, 4, 5, 6])
/** ioredis: the connection went, or the server is loading, busy, failing over. */
const TRANSIENT_REDIS = /^(Connection is closed|Stream isn't writeable|LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN)/

export interface ErrorShape {
  name?: unknown
  code?: unknown
  message?: unknown
  reason?: unknown
  socksReply?: unknown
  /** Errors that say themselves whether another attempt may work (TimeoutError: true). */
  transient?: unknown
  cause?: unknown
  errors?: unknown
}

function isTransientOne(e: ErrorShape): boolean {
  const name = typeof e.name === 'string' ? e.name : ''
  if (e.transient === true || TRANSIENT_ERRORS.has(name)) return true
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true
  if (name === 'TransportError') return typeof e.code === 'number' && TRANSIENT_TRANSPORT_CODES.has(e.code)
  if (name === 'ProxyError') return e.reason === 'proxy-closed' || (e.reason === 'socks-connect-failed' && typeof e.socksReply === 'number' && TRANSIENT_SOCKS_REPLIES.has(e.socksReply))
  if (e instanceof SessionStorageError) return e.code === 'IO' // the backing Redis failed
  // Telegram's own trouble (500 INTERNAL, -503 Timeout, RPC_CALL_FAIL…) that outlived the client's retries.
  if (e instanceof RpcError) return e.code >= 500 || e.code === -500 || e.code === -503 || e.is('RPC_CALL_FAIL') || e.is('RPC_MCGET_FAIL')
  return typeof e.message === 'string' && TRANSIENT_REDIS.test(e.message)
}

/** How deep a chain of `cause`s is followed (a wrapped error wraps one or two others, not a loop). */
const MAX_CAUSE_DEPTH = 5

/** `err` and the errors it was caused by, outermost first. */
export function* causeChain(err: unknown): Generator<ErrorShape> {
  let e: unknown = err
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && e !== null && typeof e === 'object'; depth++) {
    yield e as ErrorShape
    e = (e as ErrorShape).cause
  }
}

/**
 * A network, proxy, Telegram-side or Redis failure, not a login outcome: the step is retried (BullMQ attempts,
 * with backoff) rather than the login ended as failed(…). Wrapped errors count by their cause.
 */
export function isTransient(err: unknown): boolean {
  for (const shape of causeChain(err)) {
    if (isTransientOne(shape)) return true
    if (Array.isArray(shape.errors) && shape.errors.some((x) => x !== null && typeof x === 'object' && isTransientOne(x as ErrorShape))) return true // AggregateError (net's happy eyeballs)
  }
  return false
}

/** Whether `err` or one of its causes is named `name`. */
export function causedBy(err: unknown, name: string): boolean {
  for (const shape of causeChain(err)) if (shape.name === name) return true
  return false
}
