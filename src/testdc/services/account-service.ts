// account.* of the test DC: the 2FA state a login needs (getPassword hands out a fresh SRP challenge per call)
// and the session list (getAuthorizations / resetAuthorization).
import { srpServerChallenge } from '../../mtproto/crypto/srp.ts'
import type { RpcHandler } from '../rpc-dispatcher.ts'
import { RpcFailure, unauthorized } from '../rpc-failure.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'
import { newSrpAlgo, secureAlgoFields, tlAlgo } from '../accounts/stored-password.ts'
import { toTlAuthorization } from '../accounts/tl-authorization.ts'

/** account.authorizations.authorization_ttl_days: Telegram's default for inactive sessions. */
const AUTHORIZATION_TTL_DAYS = 180

export function accountService(registry: AccountRegistry): Record<string, RpcHandler> {
  const r = registry
  const handlers: MethodHandlers = {
    // Online/offline status: the test DC keeps none, but the call must succeed for a logged-in key.
    'account.updateStatus': (_req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      return true
    },
    'account.getPassword': async (_req, ctx) => {
      const userId = r.passwordUserOf(ctx)
      if (userId === null) throw unauthorized()
      const account = r.requireAccount(userId)
      // new_algo: the salts a client would use to set a new password (it appends its own 32 bytes to salt1).
      const base = {
        _: 'account.password' as const,
        newAlgo: tlAlgo(newSrpAlgo(r.random)),
        ...secureAlgoFields(r.random),
      }
      const password = account.password
      if (!password) return base
      const srp = srpServerChallenge(password.algo, await password.verifier(), undefined, r.random)
      const srpId = r.randomLong()
      // Remembered per key; a later getPassword replaces it, so only the newest srp_id is accepted.
      r.setPasswordLogin(ctx.dcId, ctx.authKeyId, { userId, challenge: { srpId, srp, password } })
      return {
        ...base,
        hasPassword: true,
        hasRecovery: password.recoveryEmail !== null,
        currentAlgo: password.toTl(),
        srpB: srp.gB,
        srpId,
        ...(password.hint ? { hint: password.hint } : {}),
      }
    },
    'account.getAuthorizations': (_req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      const now = r.nowSeconds()
      const sessions = r.sessionsOf(ctx.userId)
      const isCurrent = (s: { dcId: number; authKeyId: bigint }): boolean =>
        s.dcId === ctx.dcId && s.authKeyId === ctx.authKeyId
      // The current session first, as Telegram lists it.
      const ordered = [...sessions.filter(isCurrent), ...sessions.filter((s) => !isCurrent(s))]
      return {
        _: 'account.authorizations',
        authorizationTtlDays: AUTHORIZATION_TTL_DAYS,
        authorizations: ordered.map((s) => toTlAuthorization(s, isCurrent(s), now)),
      }
    },
    'account.resetAuthorization': (req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      // hash 0 is the caller's own session, which auth.logOut ends instead.
      const target =
        req.hash === 0n
          ? undefined
          : r
              .sessionsOf(ctx.userId)
              .find((s) => s.hash === req.hash && !(s.dcId === ctx.dcId && s.authKeyId === ctx.authKeyId))
      if (!target) throw new RpcFailure(400, 'HASH_INVALID')
      // The reset key stays known but logged out: its next authorized call gets 401 AUTH_KEY_UNREGISTERED.
      r.logOut(target.dcId, target.authKeyId)
      return true
    },
  }
  return toRpcHandlers(handlers)
}
