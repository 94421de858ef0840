// updates.getState of the test DC. It sends no message updates, so pts/qts/seq stay where the account started.
import type { RpcHandler } from '../rpc-dispatcher.ts'
import { unauthorized } from '../rpc-failure.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'

export function updatesService(registry: AccountRegistry): Record<string, RpcHandler> {
  const handlers: MethodHandlers = {
    // Unauthorized keys get 401 (clients such as Telethon call getState to ask "am I logged in?").
    'updates.getState': (_req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      const s = registry.requireAccount(ctx.userId).updateState
      return { _: 'updates.state', pts: s.pts, qts: s.qts, seq: s.seq, date: registry.nowSeconds(), unreadCount: 0 }
    },
    // Clients call it right after a login (and after new_session_created); nothing ever happens here, so it is empty.
    'updates.getDifference': (_req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      return {
        _: 'updates.differenceEmpty',
        date: registry.nowSeconds(),
        seq: registry.requireAccount(ctx.userId).updateState.seq,
      }
    },
  }
  return toRpcHandlers(handlers)
}
