// One error class for every deadline of the client, so a caller (or the farm) can tell a silent or blackholing
// peer from a refusal by class, and which step it hung in by `phase`.
import { MtprotoError } from './mtproto-error.ts'

/**
 * connect: TCP (and a proxy's handshake); handshake: one step of the auth-key exchange; request: one call, from
 * invoke() to its answer (waiting for the connection included); start: the whole Client.start().
 */
export type TimeoutPhase = 'connect' | 'handshake' | 'request' | 'start'

export class TimeoutError extends MtprotoError {
  override readonly name: string = 'TimeoutError'
  /** A peer that did not answer now may answer later, or another route may: worth another attempt. */
  override get transient(): boolean {
    return true
  }
  constructor(
    readonly phase: TimeoutPhase,
    readonly timeoutMs: number,
    detail = `no progress within ${timeoutMs} ms (${phase})`,
  ) {
    super(detail)
  }
}
