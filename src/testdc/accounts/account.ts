// One account of the test DC — a user or a bot — and how it looks as a TL `user`.
import type { tl } from '../../mtproto/tl/index.ts'
import type { StoredPassword } from './stored-password.ts'
import type { CodeKind } from './login-codes.ts'

/** How an account was taken down: `ban` → USER_DEACTIVATED_BAN (and PHONE_NUMBER_BANNED), `deleted` → USER_DEACTIVATED. */
export type Deactivation = 'ban' | 'deleted'

/** Telegram's account freeze (core.telegram.org/api/auth#frozen-accounts): read-only until `untilDate`, then deletion. */
export interface Freeze {
  /** Unix seconds the freeze began (app config freeze_since_date). */
  sinceDate: number
  /** Unix seconds the account is deleted unless appealed (freeze_until_date). */
  untilDate: number
  /** freeze_appeal_url. */
  appealUrl: string
}

/** One entry of user.restriction_reason. */
export interface RestrictionReason {
  /** 'all', 'android', 'ios', … (Telegram's platform tags). */
  platform: string
  /** 'porn', 'spam', 'terms', … */
  reason: string
  text: string
}

/**
 * What becomes of the account's next login key (a seed switch, once): `duplicated` → 406 AUTH_KEY_DUPLICATED,
 * `revoked` → 401 SESSION_REVOKED, `unregistered` → the session ends (401 AUTH_KEY_UNREGISTERED), each
 * `afterSeconds` (DC clock) after that login.
 */
export interface KeyFate {
  state: 'duplicated' | 'revoked' | 'unregistered'
  afterSeconds: number
}

/**
 * A method limit the account has run into, as Telegram rate-limits a method per account: from the first call of
 * one of `methods` the limit lasts `seconds` (DC clock), each call in that time answers 420 FLOOD_WAIT_<seconds
 * left>; afterwards the methods are served again (once: the limit is then gone).
 */
export interface FloodLimit {
  seconds: number
  methods: string[]
  /** DC-clock milliseconds the limit ends at; null until the first limited call starts it. */
  untilMs: number | null
}

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
  /** Frozen accounts answer 420 FROZEN_METHOD_INVALID to all but a few read-only methods. */
  frozen: Freeze | null
  /** Non-empty: the user is `restricted` with these reasons. */
  restrictionReasons: RestrictionReason[]
  keyFate: KeyFate | null
  /** Calls of some methods answer 420 FLOOD_WAIT_X (flood-wait-rule.ts). */
  floodWait: FloodLimit | null
  /** account.authorizations.authorization_ttl_days (account.setAuthorizationTTL). */
  authorizationTtlDays: number
  password: StoredPassword | null
  /** A recovery email set with updatePasswordSettings, waiting for account.confirmPasswordEmail. */
  pendingEmail: { email: string; code: string } | null
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
    ...(account.restrictionReasons.length
      ? {
          restricted: true,
          restrictionReason: account.restrictionReasons.map((r) => ({ _: 'restrictionReason' as const, ...r })),
        }
      : {}),
  }
  if (account.bot) return { ...user, bot: true, botInfoVersion: 1 }
  return {
    ...user,
    status: self ? { _: 'userStatusOnline', expires: nowSeconds + ONLINE_SECONDS } : { _: 'userStatusRecently' },
  }
}
