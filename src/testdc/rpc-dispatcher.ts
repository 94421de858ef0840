// Routes the test DC's decoded requests to handlers. Wrappers (invokeWithLayer, initConnection,
// invokeWithoutUpdates, invokeAfterMsg…) are peeled here, remembering the layer and the client's app info on
// the connection state; methods that need a login answer 401 AUTH_KEY_UNREGISTERED on an unauthorized key.
import type { TlValue } from '../mtproto/tl/index.ts'
import { RpcFailure, unauthorized } from './rpc-failure.ts'
import { UNBOUND_TEMP_KEY_METHODS } from './temp-key-binding.ts'

/** What a handler knows about the caller. */
export interface RpcContext {
  dcId: number
  /** The auth key's id, stable across the key's connections and sessions (a bound temporary key's permanent key). */
  authKeyId: bigint
  /** The request came on a temporary key not bound to a permanent one (core.telegram.org/api/pfs). */
  unboundTempKey?: boolean
  /** The user logged in with this auth key, if any. */
  userId: bigint | null
  /** Layer the client announced with invokeWithLayer (null until it did). */
  layer: number | null
  /** initConnection's fields, once sent. */
  client: ClientInfo | null
  /** Logs the key in (auth.signIn and friends). */
  authorize(userId: bigint): void
  /** Logs the key out. */
  deauthorize(): void
  /** Pushes an update to this key's sessions (e.g. updateLoginToken). */
  pushUpdate(update: TlValue): void
}

/** What a client announced in initConnection. */
export interface ClientInfo {
  apiId: number
  deviceModel: string
  systemVersion: string
  appVersion: string
  langCode: string
  systemLangCode?: string
  langPack?: string
}

export type RpcHandler = (request: TlValue, ctx: RpcContext) => Promise<unknown> | unknown

/** Runs before a method's handler (after the login check); throws RpcFailure to refuse the call. */
export type RpcGuard = (method: string, ctx: RpcContext) => void

/** Methods an unauthorized key may call (core.telegram.org/api/auth, plus service and help methods). */
const ALLOWED_UNAUTHORIZED = new Set([
  'auth.sendCode',
  'auth.resendCode',
  'auth.cancelCode',
  'auth.signIn',
  'auth.signUp',
  'auth.checkPassword',
  'auth.requestPasswordRecovery',
  'auth.recoverPassword',
  'auth.checkRecoveryPassword',
  'auth.exportLoginToken',
  'auth.importLoginToken',
  'auth.importAuthorization',
  'auth.importBotAuthorization',
  'auth.logOut',
  'auth.bindTempAuthKey',
  'auth.dropTempAuthKeys',
  'account.getPassword',
  'help.getConfig',
  'help.getNearestDc',
  'help.getAppUpdate',
  'help.getCdnConfig',
  'help.getCountriesList',
  'help.getTermsOfServiceUpdate',
  'langpack.getLangPack',
  'langpack.getStrings',
  'langpack.getLanguages',
  'ping',
  'ping_delay_disconnect',
  'get_future_salts',
  'destroy_session',
  'rpc_drop_answer',
  'updates.getState',
  'help.getAppConfig',
])

const WRAPPERS = new Set([
  'invokeWithLayer',
  'initConnection',
  'invokeWithoutUpdates',
  'invokeAfterMsg',
  'invokeAfterMsgs',
  'invokeWithMessagesRange',
  'invokeWithTakeout',
])

export class RpcDispatcher {
  private readonly handlers = new Map<string, RpcHandler>()
  private readonly guards: RpcGuard[] = []

  /** A check every call of a logged-in key passes through (e.g. the accounts API's frozen-account rule). */
  guard(check: RpcGuard): this {
    this.guards.push(check)
    return this
  }

  register(method: string, handler: RpcHandler): this {
    this.handlers.set(method, handler)
    return this
  }

  registerAll(handlers: Record<string, RpcHandler>): this {
    for (const [m, h] of Object.entries(handlers)) this.register(m, h)
    return this
  }

  /** Peels wrappers (recording layer and client info on ctx) and returns the innermost request. */
  unwrap(request: TlValue, ctx: RpcContext): TlValue {
    let req = request
    while (WRAPPERS.has(req._)) {
      if (req._ === 'invokeWithLayer') ctx.layer = req['layer'] as number
      if (req._ === 'initConnection') {
        ctx.client = {
          apiId: req['apiId'] as number,
          deviceModel: req['deviceModel'] as string,
          systemVersion: req['systemVersion'] as string,
          appVersion: req['appVersion'] as string,
          langCode: req['langCode'] as string,
          systemLangCode: req['systemLangCode'] as string,
          langPack: req['langPack'] as string,
        }
      }
      req = req['query'] as TlValue
    }
    return req
  }

  /** `unknown` makes the error for a method this DC has no handler for (the session knows its constructor id). */
  async dispatch(
    request: TlValue,
    ctx: RpcContext,
    unknown: (inner: TlValue) => RpcFailure = () => new RpcFailure(400, 'METHOD_INVALID'),
  ): Promise<unknown> {
    const inner = this.unwrap(request, ctx)
    // 401 AUTH_KEY_PERM_EMPTY: "the method is unavailable for temporary authorization key, not bound to permanent".
    if (ctx.unboundTempKey && !UNBOUND_TEMP_KEY_METHODS.has(inner._)) throw new RpcFailure(401, 'AUTH_KEY_PERM_EMPTY')
    if (ctx.userId === null && !ALLOWED_UNAUTHORIZED.has(inner._)) throw unauthorized()
    const handler = this.handlers.get(inner._)
    if (!handler) throw unknown(inner)
    for (const check of this.guards) check(inner._, ctx)
    return handler(inner, ctx)
  }
}
