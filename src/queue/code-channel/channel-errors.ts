// The code channel's failures: bad input (never echoing a secret) and a code or password that did not come.
import { maskPhone } from '../../foundation/logger.ts'
import { QueueError } from '../queue-error.ts'

export type CodeChannelErrorReason =
  'invalid-phone' | 'invalid-attempt' | 'invalid-code' | 'invalid-password' | 'closed'

/** Bad input to the channel. The message names the field, never its value when that value is a secret. */
export class CodeChannelError extends QueueError {
  override readonly name = 'CodeChannelError'
  constructor(
    readonly reason: CodeChannelErrorReason,
    message: string,
  ) {
    super(message)
  }
}

/** No code (or password) arrived in time. */
export class CodeTimeoutError extends QueueError {
  override readonly name = 'CodeTimeoutError'
  constructor(
    readonly what: 'code' | 'password',
    readonly phone: string,
    readonly attempt: string | null,
    readonly timeoutMs: number,
  ) {
    super(`no login ${what} for ${maskPhone(phone)} within ${timeoutMs} ms`)
  }
}

/** A function, not an inline check, so TypeScript does not narrow `aborted` across awaits. */
export function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

export function abortError(signal: AbortSignal): DOMException {
  const err = new DOMException('waiting for a login code was aborted', 'AbortError')
  Object.defineProperty(err, 'cause', { value: signal.reason })
  return err
}
