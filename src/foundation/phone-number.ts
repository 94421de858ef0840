// Phone numbers, one meaning everywhere: E.164 digits without the `+` (7-15 digits), as the farm keys accounts,
// the test DC keeps its users and Telegram's auth.sendCode takes them.

/** Shortest number accepted (invented bound: shorter strings cannot be a subscriber number). */
export const MIN_PHONE_DIGITS = 7
/** E.164 caps a number at 15 digits. */
export const MAX_PHONE_DIGITS = 15

/** `+99966 (123) 45-67` → `999661234567`: a leading `+`, spaces, dashes and parentheses dropped; null when what
 * is left is not 7-15 digits. */
export function normalizePhone(raw: string): string | null {
  const digits = raw
    .trim()
    .replace(/^\+/, '')
    .replace(/[\s()-]/g, '')
  if (!/^\d+$/.test(digits) || digits.length < MIN_PHONE_DIGITS || digits.length > MAX_PHONE_DIGITS) return null
  return digits
}

/** Every character but the digits dropped, whatever the input: the lookup key of a phone kept with a peer
 * (which Telegram sends as digits, but a caller may spell with `+` and blanks). Not a validation. */
export function phoneDigits(phone: string): string {
  return phone.replace(/\D/g, '')
}
