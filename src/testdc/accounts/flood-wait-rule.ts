// Telegram rate-limits methods per account: a call over the limit answers 420 FLOOD_WAIT_X, X the seconds until the
// method is served again (core.telegram.org/api/errors#420-flood). The test DC has no real counters outside logins;
// an account seeded (or set at run time) with a FloodLimit meets one: from its first call of a limited method, every
// call of those methods answers FLOOD_WAIT_<seconds left> until the limit has run out, then they are served.
import type { RpcContext, RpcGuard } from '../rpc-dispatcher.ts'
import { RpcFailure } from '../rpc-failure.ts'
import type { AccountRegistry } from './account-registry.ts'

/** The dispatcher guard that enforces it for keys logged in as a limited account. */
export function floodWaitRule(registry: AccountRegistry): RpcGuard {
  return (method: string, ctx: RpcContext) => {
    if (ctx.userId === null) return
    const account = registry.user(ctx.userId)
    const limit = account?.floodWait
    if (!account || !limit || !limit.methods.includes(method)) return
    const now = registry.now()
    limit.untilMs ??= now + limit.seconds * 1000
    const leftMs = limit.untilMs - now
    if (leftMs <= 0) {
      account.floodWait = null // served out: the method works again
      return
    }
    throw new RpcFailure(420, `FLOOD_WAIT_${Math.ceil(leftMs / 1000)}`)
  }
}
