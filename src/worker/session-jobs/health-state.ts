// From what Telegram answered a stored session to its one health state (session-job.ts' HealthState): the error of
// users.getUsers(inputUserSelf), the user it returned (restricted), and the app config (Telegram's freeze fields).
// Facts: core.telegram.org/api/errors (401 and 406 errors), /api/config#frozen-accounts (freeze_since_date,
// freeze_until_date, freeze_appeal_url; FROZEN_METHOD_INVALID), /constructor/user (restricted, restriction_reason).
import { AuthKeyUnknownError } from '../../mtproto/dc/dc-connection.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { tl } from '../../mtproto/tl/index.ts'
import { AccountStateError } from '../../auth/auth-errors.ts'
import type { FreezeInfo, HealthState, RestrictionReason } from '../../queue/session-job.ts'
import { causeChain } from '../transient-failure.ts'

/** 401/406 messages that say the key no longer logs the account in, and the state each means. */
const STATE_OF_MESSAGE: Readonly<Record<string, HealthState>> = {
  AUTH_KEY_UNREGISTERED: 'unauthorized',
  AUTH_KEY_INVALID: 'unauthorized',
  AUTH_KEY_PERM_EMPTY: 'unauthorized',
  SESSION_REVOKED: 'unauthorized',
  SESSION_EXPIRED: 'unauthorized',
  USER_DEACTIVATED: 'deactivated',
  USER_DEACTIVATED_BAN: 'banned',
  AUTH_KEY_DUPLICATED: 'duplicated',
}

export interface ErrorHealth {
  readonly state: HealthState
  /** What decided it, e.g. `401 SESSION_REVOKED` or `-404 auth key unknown`. */
  readonly error: string
}

/** The health state an error of a call tells, or null when it tells none (network trouble, an unrelated error). */
export function healthOfError(err: unknown): ErrorHealth | null {
  for (const e of causeChain(err)) {
    if (e instanceof AuthKeyUnknownError) return { state: 'unauthorized', error: '-404 auth key unknown to the DC' }
    if (e instanceof AccountStateError) {
      const state = STATE_OF_MESSAGE[e.errorMessage]
      if (state) return { state, error: `${e.code} ${e.errorMessage}` }
    }
    if (e instanceof RpcError) {
      const error = `${e.code} ${e.errorMessage}`
      if (e.isFloodWait) return { state: `flood_wait(${e.seconds!})`, error }
      // 420 FROZEN_METHOD_INVALID: the account is frozen and the method is not one a frozen account may call.
      if (e.is('FROZEN_METHOD_INVALID')) return { state: 'frozen', error }
      if (e.code === 401 || e.code === 406) {
        const state = STATE_OF_MESSAGE[e.errorMessage]
        if (state) return { state, error }
      }
    }
  }
  return null
}

function appConfigEntries(config: tl.TypeJSONValue): Map<string, tl.TypeJSONValue> {
  const out = new Map<string, tl.TypeJSONValue>()
  if (config._ !== 'jsonObject') return out
  for (const entry of config.value) out.set(entry.key, entry.value)
  return out
}

function numberOf(v: tl.TypeJSONValue | undefined): number | undefined {
  if (v?._ === 'jsonNumber' && Number.isFinite(v.value)) return v.value
  if (v?._ === 'jsonString' && /^\d+$/.test(v.value)) return Number(v.value)
  return undefined
}

/** Telegram's freeze as help.getAppConfig shows it: a non-zero freeze_since_date means frozen; null when not. */
export function freezeOf(appConfig: tl.help.TypeAppConfig): FreezeInfo | null {
  if (appConfig._ !== 'help.appConfig') return null
  const entries = appConfigEntries(appConfig.config)
  const since = numberOf(entries.get('freeze_since_date'))
  if (since === undefined || since === 0) return null
  const until = numberOf(entries.get('freeze_until_date'))
  const appeal = entries.get('freeze_appeal_url')
  return {
    since,
    ...(until !== undefined && until > 0 ? { until } : {}),
    ...(appeal?._ === 'jsonString' && appeal.value !== '' ? { appealUrl: appeal.value } : {}),
  }
}

/** The restriction reasons of a restricted user; null when the user is not restricted. */
export function restrictionOf(user: tl.TypeUser | undefined): RestrictionReason[] | null {
  if (user?._ !== 'user' || user.restricted !== true) return null
  return (user.restrictionReason ?? []).map((r) => ({ platform: r.platform, reason: r.reason, text: r.text }))
}
