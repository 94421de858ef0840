// Which failures of a login step are passing trouble — a connection that went, a proxy or DC not answering now,
// Telegram's own 5xx, Redis away — so the step is retried (BullMQ attempts with backoff) instead of the login
// ending as failed(<name>).
import { AuthError } from '../auth/auth-error.ts'
import { MtprotoError } from '../mtproto/mtproto-error.ts'
import { QueueError } from '../queue/queue-error.ts'

/** Node's socket errors of a peer not reachable now. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
])
/** ioredis: the connection went, or the server is loading, busy, failing over. */
const TRANSIENT_REDIS =
  /^(Connection is closed|Stream isn't writeable|LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN)/

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
  // Our own layers' errors say it themselves (a connection that went, a deadline, -404/-429, a proxy's "not now",
  // Telegram's 5xx, a storage whose Redis failed).
  if (e instanceof MtprotoError || e instanceof AuthError || e instanceof QueueError) return e.transient
  if (e.transient === true) return true // another library's error that says so
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true
  // ioredis gave up on a command while Redis was away; the package does not export this class, hence its name.
  if (e.name === 'MaxRetriesPerRequestError') return true
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
    if (
      Array.isArray(shape.errors) &&
      shape.errors.some((x) => x !== null && typeof x === 'object' && isTransientOne(x as ErrorShape))
    )
      return true // AggregateError (net's happy eyeballs)
  }
  return false
}

/** Whether `err` or one of its causes is an instance of `type`. */
export function causedBy(err: unknown, type: abstract new (...args: never[]) => Error): boolean {
  for (const shape of causeChain(err)) if (shape instanceof type) return true
  return false
}
