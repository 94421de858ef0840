// The TL faces of a login: auth.authorization for the client that logged in, `authorization` for session lists.
import type { tl } from '../../mtproto/tl/index.ts'
import type { RpcContext } from '../rpc-dispatcher.ts'
import { toTlUser, type Account } from './account.ts'

/** Where the test DC says sessions come from (it only listens on loopback). */
const SESSION_IP = '127.0.0.1'

export function authorizationResult(account: Account, nowSeconds: number): tl.auth.RawAuthorization {
  return { _: 'auth.authorization', user: toTlUser(account, true, nowSeconds) }
}

export interface SessionView {
  hash: bigint
  client: RpcContext['client']
  createdAt: number
}

/** One entry of account.authorizations; the caller's own session has hash 0, as Telegram sends it. */
export function toTlAuthorization(session: SessionView, current: boolean, nowSeconds: number): tl.RawAuthorization {
  const c = session.client
  return {
    _: 'authorization',
    ...(current ? { current: true } : {}),
    hash: current ? 0n : session.hash,
    deviceModel: c?.deviceModel ?? 'Unknown device',
    platform: '',
    systemVersion: c?.systemVersion ?? '',
    apiId: c?.apiId ?? 0,
    appName: c ? `app ${c.apiId}` : 'Unknown app',
    appVersion: c?.appVersion ?? '',
    dateCreated: session.createdAt,
    dateActive: current ? nowSeconds : session.createdAt,
    ip: SESSION_IP,
    country: '',
    region: '',
  }
}
