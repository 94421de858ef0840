// QR-login tokens (core.telegram.org/api/qr-login): exported by an unauthorized key, accepted by a logged-in
// session, then turned into a login by the exporting key (same DC) or by a key on the user's home DC.
import type { TlValue } from '../../mtproto/tl/index.ts'
import type { RpcContext } from '../rpc-dispatcher.ts'

export interface LoginToken {
  readonly token: Uint8Array
  /** The exporting key. */
  readonly dcId: number
  readonly authKeyId: bigint
  /** exportLoginToken.except_ids. */
  readonly exceptIds: readonly bigint[]
  /** The exporting key's app, for the `authorization` acceptLoginToken returns. */
  readonly client: RpcContext['client']
  /** Reaches the exporting key's sessions (its ctx.pushUpdate), wherever that key lives. */
  readonly notify: (update: TlValue) => void
  /** Unix seconds. */
  expiresAt: number
  acceptedBy: bigint | null
  /** Turned into a login already: later imports answer AUTH_TOKEN_ALREADY_ACCEPTED. */
  consumed: boolean
  /** The hash the new session will have in account.getAuthorizations. */
  readonly sessionHash: bigint
}

const hex = (token: Uint8Array): string => Buffer.from(token.buffer, token.byteOffset, token.length).toString('hex')

export class LoginTokens {
  private readonly byToken = new Map<string, LoginToken>()

  add(record: LoginToken): void {
    this.byToken.set(hex(record.token), record)
  }

  get(token: Uint8Array): LoginToken | undefined {
    return this.byToken.get(hex(token))
  }

  delete(record: LoginToken): void {
    this.byToken.delete(hex(record.token))
  }

  /** An accepted token this key exported, if any (what its next exportLoginToken turns into a login). */
  acceptedFor(dcId: number, authKeyId: bigint): LoginToken | undefined {
    for (const t of this.byToken.values())
      if (t.dcId === dcId && t.authKeyId === authKeyId && t.acceptedBy !== null && !t.consumed) return t
    return undefined
  }

  /** Forgets tokens that expired before `cutoffSeconds` (recently expired ones still answer AUTH_TOKEN_EXPIRED). */
  sweep(cutoffSeconds: number): void {
    for (const [k, t] of this.byToken) if (t.expiresAt < cutoffSeconds) this.byToken.delete(k)
  }
}
