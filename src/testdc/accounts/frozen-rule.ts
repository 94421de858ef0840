// Telegram's frozen accounts are read-only (core.telegram.org/api/auth#frozen-accounts): most methods answer
// 420 FROZEN_METHOD_INVALID. Telegram does not list the methods it still serves; the test DC lets through what a
// client needs to learn its state and leave (login, config and app config, self info, updates state, the session
// list, the password state, logOut) and refuses the rest — changing 2FA and ending sessions included.
import type { RpcContext, RpcGuard } from '../rpc-dispatcher.ts'
import { RpcFailure } from '../rpc-failure.ts'
import type { AccountRegistry } from './account-registry.ts'

const FROZEN_ALLOWED = new Set([
  'auth.logOut',
  'account.getPassword',
  'account.getAuthorizations',
  'account.updateStatus',
  'users.getUsers',
  'users.getFullUser',
  'updates.getState',
  'updates.getDifference',
])

/** Namespaces served whole (configuration, language packs, login). */
const FROZEN_ALLOWED_PREFIXES = ['help.', 'langpack.', 'auth.']

function allowedWhenFrozen(method: string): boolean {
  if (method === 'auth.resetAuthorizations') return false
  return FROZEN_ALLOWED.has(method) || FROZEN_ALLOWED_PREFIXES.some((p) => method.startsWith(p))
}

/** The dispatcher guard that enforces it for keys logged in as a frozen account. */
export function frozenAccountRule(registry: AccountRegistry): RpcGuard {
  return (method: string, ctx: RpcContext) => {
    if (ctx.userId === null || allowedWhenFrozen(method)) return
    if (registry.user(ctx.userId)?.frozen) throw new RpcFailure(420, 'FROZEN_METHOD_INVALID')
  }
}
