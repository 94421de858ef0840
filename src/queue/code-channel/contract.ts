// The code-provider channel's wire contract: the messages on its channels and stream (docs/provider-contract.md;
// keep the two in step).
import type { KnownCodeType } from '../../auth/credential-provider.ts'

/** Bumped on an incompatible change of a payload. */
export const CONTRACT_VERSION = 1

/** The code types a request may carry: auth.SentCodeType by its TL name without the prefix, first letter lowered. */
export const CODE_TYPES: ReadonlySet<string> = new Set<KnownCodeType>([
  'app',
  'sms',
  'smsWord',
  'smsPhrase',
  'call',
  'flashCall',
  'missedCall',
  'fragmentSms',
  'firebaseSms',
  'emailCode',
  'setUpEmailRequired',
])

/** auth.CodeType (what auth.resendCode would send next). */
export type NextCodeType = 'sms' | 'call' | 'flashCall' | 'missedCall' | 'fragmentSms'

/** Published on `code:requests` and appended to `code:requests:stream` (field `payload`). */
export interface CodeRequestMessage {
  readonly v: number
  readonly phone: string
  readonly attempt: string
  readonly codeType: KnownCodeType
  readonly codeLength?: number
  readonly nextType?: NextCodeType
  readonly jobId: string
  /** How long the worker waits for this code (what is left of the login's code timeout). */
  readonly timeoutSec: number
  /** Telegram's `sentCode.timeout`: seconds before auth.resendCode may be asked for (another SMS, a call). */
  readonly resendAfterSec?: number
  /**
   * Telegram refused the code delivered for this earlier attempt (PHONE_CODE_INVALID). No new code was sent: the
   * SMS (or call) of that attempt stands; deliver the right code, read again, for this attempt.
   */
  readonly refusedAttempt?: string
  /**
   * The same attempt asked for again: the farm's Redis failed over (or restarted empty) since the first request,
   * so the request or the code delivered for it may be lost. Deliver this attempt's code again.
   */
  readonly reissued?: true
  /** Unix milliseconds. */
  readonly requestedAt: number
}

/** Published on `code:delivered`. Never carries the code. `attempt` is null for a code parked as pending. */
export interface CodeDeliveredMessage {
  readonly v: number
  readonly phone: string
  readonly attempt: string | null
}

/** Published on `password:requests`. */
export interface PasswordRequestMessage {
  readonly v: number
  readonly phone: string
  readonly jobId: string
  readonly timeoutSec: number
  readonly requestedAt: number
}

/** Published on `password:delivered`. Only the phone: the password travels in a key, never over pub/sub. */
export interface PasswordDeliveredMessage {
  readonly v: number
  readonly phone: string
}
