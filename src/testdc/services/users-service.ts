// users.getUsers of the test DC: the caller itself (inputUserSelf, or its own id) and other accounts by id + access hash.
import type { tl } from '../../mtproto/tl/index.ts'
import type { RpcHandler } from '../rpc-dispatcher.ts'
import { unauthorized } from '../rpc-failure.ts'
import { toTlUser } from '../accounts/account.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'

export function usersService(registry: AccountRegistry): Record<string, RpcHandler> {
  const r = registry
  const handlers: MethodHandlers = {
    'users.getUsers': (req, ctx) => {
      const selfId = ctx.userId
      if (selfId === null) throw unauthorized()
      const now = r.nowSeconds()
      const out: tl.TypeUser[] = []
      for (const input of req.id) {
        if (input._ === 'inputUserSelf') {
          out.push(toTlUser(r.requireAccount(selfId), true, now))
        } else if (input._ === 'inputUser') {
          const account = r.user(input.userId)
          // Unknown ids and wrong access hashes are left out of the answer (invented: simplest for clients).
          if (account && (account.id === selfId || account.accessHash === input.accessHash)) out.push(toTlUser(account, account.id === selfId, now))
        }
      }
      return out
    },
  }
  return toRpcHandlers(handlers)
}
