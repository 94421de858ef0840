// Phone numbers as the test DC keeps them (digits only, no '+'), and Telegram's test-number rule.

/** Shortest number accepted (invented bound: shorter strings cannot be a subscriber number). */
const MIN_PHONE_DIGITS = 7
/** E.164 caps a number at 15 digits. */
const MAX_PHONE_DIGITS = 15
/** Test numbers: 99966 X YYYY, X = the home DC (core.telegram.org/api/auth, docs/protocol.md#data-centres-and-test-numbers). */
const TEST_NUMBER = /^99966([1-9])\d{4}$/
/** The code of a test number is X repeated this many times (9996621234 → 22222). */
const TEST_CODE_LENGTH = 5

/** Digits of `raw` with '+', spaces, dashes and parentheses dropped; null when that is not a phone number. */
export function normalizePhone(raw: string): string | null {
  const digits = raw.replace(/[\s()+-]/g, '')
  if (!/^\d+$/.test(digits) || digits.length < MIN_PHONE_DIGITS || digits.length > MAX_PHONE_DIGITS) return null
  return digits
}

export interface TestNumber {
  dcId: number
  code: string
}

/** The home DC and fixed code of a test number whose X is one of `dcIds`; null for any other number. */
export function testNumberOf(phone: string, dcIds: readonly number[]): TestNumber | null {
  const m = TEST_NUMBER.exec(phone)
  if (!m) return null
  const dcId = Number(m[1])
  return dcIds.includes(dcId) ? { dcId, code: m[1].repeat(TEST_CODE_LENGTH) } : null
}
