// The test DC's accounts API. Wiring into a cluster:
//   const accounts = new AccountRegistry({ onCode: (d) => codeProvider.push(d) })
//   const dc = await startTestDc({ services: () => accountsServices(accounts), cluster: accounts.cluster })
// `cluster` must be the registry's: resetAuthorization, revocation, bans and AUTH_KEY_DUPLICATED act through it.
import { floodWaitRule } from './flood-wait-rule.ts'
import type { RpcHandler } from '../rpc-dispatcher.ts'
import type { RpcGuard } from '../rpc-dispatcher.ts'
import { accountService } from '../services/account-service.ts'
import { appConfigService } from '../services/app-config-service.ts'
import { sessionsService } from '../services/sessions-service.ts'
import { frozenAccountRule } from './frozen-rule.ts'
import { authService } from '../services/auth-service.ts'
import { updatesService } from '../services/updates-service.ts'
import { usersService } from '../services/users-service.ts'
import type { AccountRegistry } from './account-registry.ts'

export {
  AccountRegistry,
  type AccountRegistryOptions,
  type KeyState,
  type KeyStatus,
  type LoginTokenAccepted,
  type Session,
  type SessionActivity,
  type UpdateRouter,
} from './account-registry.ts'
export {
  TestDcAccountsError,
  parseAccountsFile,
  type AccountsFile,
  type BotSpec,
  type FreezeSpec,
  type KeyFateSpec,
  type UserSpec,
} from './accounts-file.ts'
export type { Account, Deactivation, Freeze, KeyFate, RestrictionReason } from './account.ts'
export type { CodeDelivery, CodeKind } from './login-codes.ts'
export type { PasswordSpec } from './stored-password.ts'
export type { RateLimit } from './rate-window.ts'
export { normalizePhone, testNumberOf } from './phone-number.ts'

/**
 * Every accounts handler (auth.*, account.*, users.*, updates.*, and help.getAppConfig, which shows a freeze) for
 * one DC; they all share `registry`. Register them after helpService, and `accountsGuard` with them.
 */
export function accountsServices(registry: AccountRegistry): Record<string, RpcHandler> {
  return {
    ...authService(registry),
    ...accountService(registry),
    ...sessionsService(registry),
    ...appConfigService(registry),
    ...usersService(registry),
    ...updatesService(registry),
  }
}

/**
 * The dispatcher guard of the accounts API: frozen accounts get 420 FROZEN_METHOD_INVALID for most methods, a
 * rate-limited account 420 FLOOD_WAIT_X for its limited ones.
 */
export function accountsGuard(registry: AccountRegistry): RpcGuard {
  const frozen = frozenAccountRule(registry)
  const flood = floodWaitRule(registry)
  return (method, ctx) => {
    frozen(method, ctx)
    flood(method, ctx)
  }
}
