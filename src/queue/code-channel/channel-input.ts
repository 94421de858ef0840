// What the channel accepts: phones, attempt ids, codes and passwords, checked before anything reaches Redis.
import { CodeChannelError } from './channel-errors.ts'

/** Channel phones are E.164 digits; a leading `+`, spaces, dashes and parentheses are tolerated and dropped. */
export function channelPhone(phone: string): string {
  const digits = phone
    .trim()
    .replace(/^\+/, '')
    .replace(/[\s().-]/g, '')
  if (!/^\d{7,15}$/.test(digits)) throw new CodeChannelError('invalid-phone', 'phone must be 7-15 digits (E.164)')
  return digits
}

const ATTEMPT_SHAPE = /^[A-Za-z0-9_.-]{1,64}$/

export function checkAttempt(attempt: string): string {
  if (!ATTEMPT_SHAPE.test(attempt)) {
    throw new CodeChannelError('invalid-attempt', 'attempt must be 1-64 chars of [A-Za-z0-9_.-]')
  }
  return attempt
}

const MAX_SECRET_LENGTH = 256

export function checkSecret(value: string, what: 'code' | 'password'): string {
  const v = what === 'code' ? value.trim() : value
  if (v.length === 0 || v.length > MAX_SECRET_LENGTH) {
    throw new CodeChannelError(`invalid-${what}`, `${what} must be 1-${MAX_SECRET_LENGTH} characters`)
  }
  return v
}

export function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`)
  return value
}

/** What a code looks like: Telegram's codes are ASCII digits, except the smsWord and smsPhrase types' word or
 * phrase (core.telegram.org/constructor/auth.sentCodeTypeSmsWord, …SmsPhrase). */
export type CodeShape = 'digits' | 'words'

/** The code types whose code is a word or a phrase. */
export const WORD_CODE_TYPES: ReadonlySet<string> = new Set(['smsWord', 'smsPhrase'])

/** The shape of a (trimmed) code; CodeChannelError for anything else (other scripts' digits, symbols, controls). */
export function codeShapeOf(code: string): CodeShape {
  if (/^[0-9]+$/.test(code)) return 'digits'
  if (/^[\p{L}\p{M}]+(?:[ '-][\p{L}\p{M}]+)*$/u.test(code)) return 'words'
  throw new CodeChannelError(
    'invalid-code',
    'code must be ASCII digits 0-9 (or, for an smsWord/smsPhrase code, a word or phrase of letters)',
  )
}
