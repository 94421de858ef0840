// Phone numbers as the test DC keeps them (normalizePhone: E.164 digits, no '+'), and Telegram's test-number rule.
export { normalizePhone } from '../../foundation/phone-number.ts'

/** Test numbers: 99966 X YYYY, X = the home DC (core.telegram.org/api/auth, docs/protocol.md#data-centres-and-test-numbers). */
const TEST_NUMBER = /^99966([1-9])\d{4}$/
/** The code of a test number is X repeated this many times (9996621234 → 22222). */
const TEST_CODE_LENGTH = 5

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
