// The session list of the test DC: account.getAuthorizations shows every logged-in key of the user with the app it
// announced; account.resetAuthorization / auth.resetAuthorizations end others and account.setAuthorizationTTL sets
// the inactivity limit — none of them from a session younger than 24 hours (406 FRESH_RESET_AUTHORISATION_FORBIDDEN,
// core.telegram.org/method/account.resetAuthorization).
import type { RpcContext, RpcHandler } from '../rpc-dispatcher.ts'
import { RpcFailure, unauthorized } from '../rpc-failure.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'
import { toTlAuthorization } from '../accounts/tl-authorization.ts'

/** account.setAuthorizationTTL bounds (Telegram's apps offer 1 week … 1 year; invented: 1–366 accepted). */
const MIN_TTL_DAYS = 1
const MAX_TTL_DAYS = 366

export function sessionsService(registry: AccountRegistry): Record<string, RpcHandler> {
  const r = registry
  const isCaller = (ctx: RpcContext, s: { dcId: number; authKeyId: bigint }): boolean =>
    s.dcId === ctx.dcId && s.authKeyId === ctx.authKeyId
  const handlers: MethodHandlers = {
    'account.getAuthorizations': (_req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      if (r.requireAccount(ctx.userId).bot) throw new RpcFailure(400, 'BOT_METHOD_INVALID')
      const now = r.nowSeconds()
      const sessions = r.sessionsOf(ctx.userId)
      // The current session first, as Telegram lists it.
      const ordered = [...sessions.filter((s) => isCaller(ctx, s)), ...sessions.filter((s) => !isCaller(ctx, s))]
      // Logins stopped at the 2FA step are listed too, flagged password_pending (they can be reset like the others).
      const pending = r.pendingLoginsOf(ctx.userId).map((p) => ({
        ...toTlAuthorization(
          { hash: p.hash, client: p.client, createdAt: p.since, activeAt: p.since, ip: p.ip, ...r.locate(p.ip) },
          false,
          now,
          r.apps,
        ),
        passwordPending: true,
      }))
      return {
        _: 'account.authorizations',
        authorizationTtlDays: r.requireAccount(ctx.userId).authorizationTtlDays,
        authorizations: [
          ...ordered.map((s) => toTlAuthorization({ ...s, ...r.locate(s.ip) }, isCaller(ctx, s), now, r.apps)),
          ...pending,
        ],
      }
    },
    'account.resetAuthorization': (req, ctx) => {
      const userId = settledSession(r, ctx)
      // hash 0 is the caller's own session, which auth.logOut ends instead.
      const target =
        req.hash === 0n
          ? undefined
          : [...r.sessionsOf(userId), ...r.pendingLoginsOf(userId)].find(
              (s) => s.hash === req.hash && !isCaller(ctx, s),
            )
      if (!target) throw new RpcFailure(400, 'HASH_INVALID')
      // The reset key stays known but logged out: its next authorized call gets 401 AUTH_KEY_UNREGISTERED.
      r.logOut(target.dcId, target.authKeyId)
      return true
    },
    'auth.resetAuthorizations': (_req, ctx) => {
      const userId = settledSession(r, ctx)
      r.endSessions(userId, { dcId: ctx.dcId, authKeyId: ctx.authKeyId })
      return true
    },
    'account.setAuthorizationTTL': (req, ctx) => {
      const userId = settledSession(r, ctx)
      const days = req.authorizationTtlDays
      if (!Number.isInteger(days) || days < MIN_TTL_DAYS || days > MAX_TTL_DAYS)
        throw new RpcFailure(400, 'TTL_DAYS_INVALID')
      r.requireAccount(userId).authorizationTtlDays = days
      return true
    },
  }
  return toRpcHandlers(handlers)
}

/** The caller's user, if its own session is old enough to end others. */
function settledSession(r: AccountRegistry, ctx: RpcContext): bigint {
  if (ctx.userId === null) throw unauthorized()
  // User-only methods (Telegram's method pages list BOT_METHOD_INVALID for them).
  if (r.requireAccount(ctx.userId).bot) throw new RpcFailure(400, 'BOT_METHOD_INVALID')
  const own = r.sessionOf(ctx.dcId, ctx.authKeyId)
  if (own && r.nowSeconds() - own.createdAt < r.freshSessionSeconds)
    throw new RpcFailure(406, 'FRESH_RESET_AUTHORISATION_FORBIDDEN')
  return ctx.userId
}
