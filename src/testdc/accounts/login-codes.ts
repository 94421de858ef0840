// Login codes the test DC "sends": one pending code per phone, bound to its phone_code_hash, with the delivery
// chain auth.resendCode walks (e.g. app → sms → call) and an expiry. Delivery itself is the registry's onCode hook.
import type { tl } from '../../mtproto/tl/index.ts'

/** How a code reaches the user; 'app' = a message in another logged-in Telegram session. */
export type CodeKind = 'app' | 'sms' | 'call' | 'fragmentSms'
export const CODE_KINDS: readonly CodeKind[] = ['app', 'sms', 'call', 'fragmentSms']
/** Delivery chain of accounts that set none, and of unknown phones: an SMS, then a call. */
export const DEFAULT_CODE_KINDS: readonly CodeKind[] = ['sms', 'call']

/** What the onCode hook receives. `email` is a 2FA recovery code (auth.requestPasswordRecovery). */
export interface CodeDelivery {
  phone: string
  code: string
  type: CodeKind | 'email'
  /** The sendCode hash the code belongs to; null for recovery codes. */
  phoneCodeHash: string | null
  dcId: number
}

export interface PendingCode {
  readonly phone: string
  readonly hash: string
  readonly code: string
  readonly kinds: readonly CodeKind[]
  /** Index into `kinds` of the current delivery. */
  kindIndex: number
  expiresAt: number
  /** The DC that sent it: signIn elsewhere is sent back there. */
  readonly dcId: number
  /** signIn accepted the code for a phone with no account: auth.signUp may follow with this hash. */
  verified: boolean
}

/** Where Fragment numbers get their codes (sentCodeTypeFragmentSms.url; invented for the test DC). */
const FRAGMENT_URL = 'https://fragment.com/numbers'

export function sentCodeType(kind: CodeKind, length: number): tl.auth.TypeSentCodeType {
  switch (kind) {
    case 'app':
      return { _: 'auth.sentCodeTypeApp', length }
    case 'sms':
      return { _: 'auth.sentCodeTypeSms', length }
    case 'call':
      return { _: 'auth.sentCodeTypeCall', length }
    case 'fragmentSms':
      return { _: 'auth.sentCodeTypeFragmentSms', url: FRAGMENT_URL, length }
  }
}

/** next_type of sentCode: there is no codeTypeApp, since the app is never a fallback. */
export function nextCodeType(kind: CodeKind): tl.auth.TypeCodeType | null {
  switch (kind) {
    case 'app':
      return null
    case 'sms':
      return { _: 'auth.codeTypeSms' }
    case 'call':
      return { _: 'auth.codeTypeCall' }
    case 'fragmentSms':
      return { _: 'auth.codeTypeFragmentSms' }
  }
}

/** auth.sentCode for the pending code's current delivery; `timeout` only when there is a next type. */
export function toSentCode(pending: PendingCode, resendTimeoutSeconds: number): tl.auth.RawSentCode {
  const next = pending.kinds[pending.kindIndex + 1]
  const nextType = next ? nextCodeType(next) : null
  return {
    _: 'auth.sentCode',
    type: sentCodeType(pending.kinds[pending.kindIndex], pending.code.length),
    phoneCodeHash: pending.hash,
    ...(nextType ? { nextType, timeout: resendTimeoutSeconds } : {}),
  }
}

/** A random code of `length` digits (byte % 10 is slightly biased: fine for a test server). */
export function randomCode(length: number, random: (n: number) => Uint8Array): string {
  let code = ''
  for (const b of random(length)) code += String(b % 10)
  return code
}
