// What a login that failed for good on passing trouble (its last attempt ended on a transient error) is
// reported as: an operator reading failed(dc_unreachable) or failed(timeout) knows what to look at, where
// failed(RequestTimeoutError) or failed(ECONNREFUSED) names a class.
import { causeChain, type ErrorShape } from './transient-failure.ts'

/**
 * dc_unreachable: no working connection to the DC (refused, unroutable, the TCP connect or a step of the key
 * exchange got no answer in time, reconnecting gave up). timeout: connected, but a call or the whole login got
 * no answer in time (a DC or network that goes silent after the key exchange).
 */
export type TransientFailureReason = 'dc_unreachable' | 'timeout'

/** Socket errors that mean the DC's address could not be reached at all. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
])
/** Error classes of a connection that never came (up). */
const UNREACHABLE_NAMES: ReadonlySet<string> = new Set(['ConnectTimeoutError', 'ReconnectGaveUpError'])

function reasonOfOne(e: ErrorShape & { phase?: unknown }): TransientFailureReason | undefined {
  const name = typeof e.name === 'string' ? e.name : ''
  if (UNREACHABLE_NAMES.has(name)) return 'dc_unreachable'
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return 'dc_unreachable'
  // The client's deadlines (TimeoutError and its subclasses) say which phase hung.
  if (e.phase === 'connect' || e.phase === 'handshake') return 'dc_unreachable'
  if (e.phase === 'request' || e.phase === 'start' || name === 'RequestTimeoutError' || name === 'TimeoutError')
    return 'timeout'
  return undefined
}

/**
 * The reason a transient failure is reported by, when it is a DC that could not be reached or did not answer.
 * Anywhere in the cause chain, an unreachable DC wins: a call that timed out waiting for a key exchange that
 * never got an answer is an unreachable DC.
 */
export function transientFailureReason(err: unknown): TransientFailureReason | undefined {
  let found: TransientFailureReason | undefined
  for (const shape of causeChain(err)) {
    const nested = Array.isArray(shape.errors)
      ? shape.errors.filter((x): x is ErrorShape => x !== null && typeof x === 'object')
      : []
    for (const e of [shape, ...nested]) {
      const reason = reasonOfOne(e)
      if (reason === 'dc_unreachable') return reason
      found ??= reason
    }
  }
  return found
}
