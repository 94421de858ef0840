// users.getUsers of the test DC: the caller itself (inputUserSelf, or its own id) and other accounts by id + access hash.
import type { tl } from '../../mtproto/tl/index.ts'
import type { RpcHandler } from '../rpc-dispatcher.ts'
import { RpcFailure, unauthorized } from '../rpc-failure.ts'
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
          if (account && (account.id === selfId || account.accessHash === input.accessHash))
            out.push(toTlUser(account, account.id === selfId, now))
        }
      }
      return out
    },
    'users.getFullUser': (req, ctx) => {
      const selfId = ctx.userId
      if (selfId === null) throw unauthorized()
      const input = req.id
      const account =
        input._ === 'inputUserSelf'
          ? r.requireAccount(selfId)
          : input._ === 'inputUser'
            ? r.user(input.userId)
            : undefined
      // Others need their access hash, as in users.getUsers; Telegram's error for a bad one is USER_ID_INVALID.
      if (!account || (account.id !== selfId && input._ === 'inputUser' && account.accessHash !== input.accessHash))
        throw new RpcFailure(400, 'USER_ID_INVALID')
      return {
        _: 'users.userFull',
        fullUser: {
          _: 'userFull',
          id: account.id,
          settings: { _: 'peerSettings' },
          notifySettings: { _: 'peerNotifySettings' },
          commonChatsCount: 0,
        },
        chats: [],
        users: [toTlUser(account, account.id === selfId, r.nowSeconds())],
      }
    },
  }
  return toRpcHandlers(handlers)
}
