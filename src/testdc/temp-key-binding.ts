// Perfect Forward Secrecy on the test DC (core.telegram.org/api/pfs, /method/auth.bindTempAuthKey): a temporary key
// (made with p_q_inner_data_temp[_dc]) is bound to a permanent key by auth.bindTempAuthKey, whose encrypted_message
// is bind_auth_key_inner encrypted with the permanent key in MTProto v1. A bound temporary key answers as its
// permanent key (same login); an unbound one may only call bindTempAuthKey, help.getConfig and help.getNearestDc.
import type { AuthKey } from '../mtproto/crypto/auth-key.ts'
import { decryptBindMessage } from '../mtproto/crypto/bind-message-cipher.ts'
import { tlCodec, type TlValue } from '../mtproto/tl/index.ts'
import { RpcFailure } from './rpc-failure.ts'

/** Methods an unbound temporary key may call (core.telegram.org/api/pfs). */
export const UNBOUND_TEMP_KEY_METHODS: ReadonlySet<string> = new Set([
  'auth.bindTempAuthKey',
  'help.getConfig',
  'help.getNearestDc',
])

/** What binding needs of a DC's auth key. */
export interface BindableKey {
  readonly authKey: AuthKey
  /** Unix time the key stops working; null for a permanent key. */
  expiresAt: number | null
  /** A temporary key's permanent key, once bound. */
  boundTo: BindableKey | null
  /** A permanent key's temporary key (one at a time: a new binding replaces the old). */
  boundTemp: BindableKey | null
}

export interface BindCall {
  /** The key the request came on (must be temporary). */
  key: BindableKey
  /** session_id and msg_id of the auth.bindTempAuthKey message: the encrypted copy must name the same. */
  sessionId: bigint
  msgId: bigint
  findKey(authKeyId: bigint): BindableKey | undefined
  nowSeconds: number
}

const invalid = (): RpcFailure => new RpcFailure(400, 'ENCRYPTED_MESSAGE_INVALID')

/** Checks and performs auth.bindTempAuthKey; throws RpcFailure with the error Telegram lists for the method. */
export function bindTempAuthKey(req: TlValue, call: BindCall): void {
  const { key } = call
  if (key.expiresAt === null) throw new RpcFailure(400, 'TEMP_AUTH_KEY_EMPTY')
  const permId = req['permAuthKeyId'] as bigint
  const perm = call.findKey(permId)
  // A permanent key the DC does not know cannot decrypt encrypted_message.
  if (!perm || perm.expiresAt !== null) throw invalid()
  let inner: TlValue
  try {
    const message = decryptBindMessage(perm.authKey, req['encryptedMessage'] as Uint8Array)
    if (message.msgId !== call.msgId || message.seqNo !== 0) throw invalid()
    inner = tlCodec.decode(message.body)
  } catch (err) {
    // BindMessageError or a TL decode error: either way the message is not a valid bind message.
    if (err instanceof RpcFailure) throw err
    throw invalid()
  }
  if (
    inner._ !== 'bind_auth_key_inner' ||
    inner['nonce'] !== req['nonce'] ||
    inner['tempAuthKeyId'] !== key.authKey.idLong ||
    inner['permAuthKeyId'] !== permId ||
    inner['tempSessionId'] !== call.sessionId ||
    inner['expiresAt'] !== req['expiresAt']
  ) {
    throw invalid()
  }
  const expiresAt = req['expiresAt'] as number
  if (expiresAt <= call.nowSeconds) throw new RpcFailure(400, 'EXPIRES_AT_INVALID')
  if (key.boundTo && key.boundTo !== perm) throw new RpcFailure(400, 'TEMP_AUTH_KEY_ALREADY_BOUND')
  const previous = perm.boundTemp
  if (previous && previous !== key) previous.boundTo = null
  perm.boundTemp = key
  key.boundTo = perm
  // expires_at is when the temporary key stops working (never later than its p_q_inner_data_temp lifetime).
  key.expiresAt = Math.min(key.expiresAt, expiresAt)
}

/** Forgets a key's bindings when it expires or is destroyed. */
export function unbindKey(key: BindableKey): void {
  if (key.boundTo?.boundTemp === key) key.boundTo.boundTemp = null
  key.boundTo = null
  if (key.boundTemp?.boundTo === key) key.boundTemp.boundTo = null
  key.boundTemp = null
}
