// The farm's session jobs (`sessions check`, `sessions harden`): one BullMQ job per stored session on a queue of
// their own beside the login queue, run by the same workers. Job data is stored in clear, so it carries no secret:
// a given 2FA password goes to the SecretVault under the job id, a session's proxy and api_hash are in its
// SessionSecretStore entry.
import type { LoginKind } from './login-job.ts'

export const SESSION_QUEUE = 'gramfarm-sessions'

export type SessionJobOp = 'check' | 'harden'

/**
 * Where a stored session stands on Telegram, one state per session:
 *   active        the key is logged in and the account answers normally
 *   unauthorized  the key logs nobody in any more: AUTH_KEY_UNREGISTERED, revoked (SESSION_REVOKED), expired
 *                 (SESSION_EXPIRED), or the DC does not know the key (-404)
 *   deactivated   USER_DEACTIVATED (deleted)
 *   banned        USER_DEACTIVATED_BAN
 *   frozen        Telegram's freeze: freeze_since_date in the app config, or FROZEN_METHOD_INVALID
 *   restricted    user.restricted, with its restriction reasons
 *   flood_wait(X) Telegram asked to wait X seconds before asking again
 *   duplicated    AUTH_KEY_DUPLICATED: the key was used from two places at once, it is dead
 *   failed(R)     the check could not tell (a DC or proxy not reachable, a session that does not open)
 */
export type HealthState =
  | 'active'
  | 'unauthorized'
  | 'deactivated'
  | 'banned'
  | 'frozen'
  | 'restricted'
  | `flood_wait(${number})`
  | 'duplicated'
  | `failed(${string})`

/** The states a session is bad in: `--relogin` logs these in again (flood_wait and failed(…) are not the key's fault). */
export const RELOGIN_STATES: ReadonlySet<string> = new Set(['unauthorized', 'duplicated'])

export interface RestrictionReason {
  readonly platform: string
  readonly reason: string
  readonly text: string
}

/** Telegram's freeze (help.getAppConfig: freeze_since_date, freeze_until_date, freeze_appeal_url). */
export interface FreezeInfo {
  /** Unix seconds. */
  readonly since: number
  /** Unix seconds: the account is deleted then unless appealed. */
  readonly until?: number
  readonly appealUrl?: string
}

/** What `sessions check` found, as kept in Redis per session (FarmRedisKeys.sessionHealth) and in its report. */
export interface SessionHealth {
  readonly state: HealthState
  /** Unix ms of the check. */
  readonly checkedAt: number
  readonly runId: string
  readonly userId?: string
  readonly dcId?: number
  /** The Telegram error that decided the state (`401 SESSION_REVOKED`), or the failure's cause chain. */
  readonly error?: string
  readonly restrictionReasons?: readonly RestrictionReason[]
  readonly frozen?: FreezeInfo
  /** The account would connect with the library's default identity (no device stored with the session). */
  readonly defaultIdentity?: boolean
}

/** `sessions harden`: what to do with the other authorizations and the 2FA password. */
export interface HardenOptions {
  /** Terminate every other authorization of the account. */
  readonly resetOthers: boolean
  /**
   * A session younger than 24 hours cannot terminate others (FRESH_RESET_AUTHORISATION_FORBIDDEN): wait until it
   * can (the job sleeps in the delayed set), or end as `deferred` saying when.
   */
  readonly whenFresh: 'wait' | 'defer'
  /** 2FA: set one where there is none (`missing`), also change an existing one (`rotate`), or leave it (`keep`). */
  readonly password: 'missing' | 'rotate' | 'keep'
  readonly passwordHint?: string
}

/**
 * How `sessions harden` ended for a session: `hardened` (all asked done), `deferred` (the others cannot be
 * terminated before the session is 24 hours old: resetNotBefore says when), `incomplete` (the account has a 2FA
 * password the farm does not know), or the health state that stopped it (unauthorized, banned, flood_wait(X)…).
 */
export type HardenState = 'hardened' | 'deferred' | 'incomplete' | Exclude<HealthState, 'active'>

/** What harden did, as kept in Redis per session (FarmRedisKeys.sessionHardening) and in its report. */
export interface HardenRecord {
  readonly state: HardenState
  readonly at: number
  readonly runId: string
  /** Other authorizations found, and those terminated. */
  readonly othersFound?: number
  readonly othersTerminated?: number
  /** Unix ms from which the others can be terminated (the session's 24 hours), when that was not yet. */
  readonly resetNotBefore?: number
  /** What happened to the 2FA password (never the password). */
  readonly password?: 'set' | 'changed' | 'kept' | 'current_unknown'
  readonly error?: string
}

export interface SessionJobData {
  readonly op: SessionJobOp
  /** The session's storage name (`<prefix>session:<name>`). */
  readonly session: string
  /** What the operator knows the account by (phone digits, bot<id>, a QR label). */
  readonly account: string
  readonly kind: LoginKind
  readonly runId: string
  readonly harden?: HardenOptions
  /** Unix ms before which the job has nothing to do (a FLOOD_WAIT, the 24-hour rule): it sleeps until then. */
  readonly notBefore?: number
  /** harden: the password part is done (a job that waits out the 24 hours does not change it again). */
  readonly passwordDone?: NonNullable<HardenRecord['password']>
}

export interface SessionJobResult {
  readonly account: string
  readonly kind: LoginKind
  readonly session: string
  readonly op: SessionJobOp
  readonly state: HealthState | HardenState
  readonly startedAt: number
  readonly finishedAt: number
  readonly health?: SessionHealth
  readonly hardening?: HardenRecord
}

/** `failed(x)` / `flood_wait(30)` → `failed` / `flood_wait`, for grouping. */
export function healthGroup(state: string): string {
  const paren = state.indexOf('(')
  return paren < 0 ? state : state.slice(0, paren)
}
