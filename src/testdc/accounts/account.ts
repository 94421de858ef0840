// One account of the test DC — a user or a bot — and how it looks as a TL `user`.
import type { tl } from '../../mtproto/tl/index.ts'
import type { StoredPassword } from './stored-password.ts'
import type { CodeKind } from './login-codes.ts'

/** How an account was taken down: `ban` → USER_DEACTIVATED_BAN (and PHONE_NUMBER_BANNED), `deleted` → USER_DEACTIVATED. */
export type Deactivation = 'ban' | 'deleted'

export interface Account {
  readonly id: bigint
  readonly accessHash: bigint
  readonly bot: boolean
  /** Digits only; null for bots. */
  phone: string | null
  homeDc: number
  firstName: string
  lastName: string
  username: string | null
  /** False: the phone is known (home DC, code settings) but signIn answers authorizationSignUpRequired. */
  registered: boolean
  deactivated: Deactivation | null
  password: StoredPassword | null
  /** Delivery chain for login codes: the first kind, then what auth.resendCode moves to. */
  codeKinds: CodeKind[]
  /** A fixed login code (test numbers, seeded accounts); random when null. */
  fixedCode: string | null
  /** `<botId>:<secret>` for bots. */
  botToken: string | null
  /** Pending auth.requestPasswordRecovery code. */
  recovery: { code: string; expiresAt: number } | null
  /** updates.getState numbers; the test DC sends no updates that would move them. */
  readonly updateState: { pts: number; qts: number; seq: number }
}

/** Seconds a self user counts as online after a request (Telegram's online_update_period is 210 s). */
const ONLINE_SECONDS = 300

/** The account as `user`; `self` marks the caller's own account, which alone carries the phone. */
export function toTlUser(account: Account, self: boolean, nowSeconds: number): tl.RawUser {
  const user: tl.RawUser = {
    _: 'user',
    id: account.id,
    accessHash: account.accessHash,
    firstName: account.firstName,
    ...(account.lastName ? { lastName: account.lastName } : {}),
    ...(account.username ? { username: account.username } : {}),
    ...(self && account.phone ? { phone: account.phone } : {}),
    ...(self ? { self: true } : {}),
    ...(account.deactivated ? { deleted: true } : {}),
  }
  if (account.bot) return { ...user, bot: true, botInfoVersion: 1 }
  return {
    ...user,
    status: self ? { _: 'userStatusOnline', expires: nowSeconds + ONLINE_SECONDS } : { _: 'userStatusRecently' },
  }
}
