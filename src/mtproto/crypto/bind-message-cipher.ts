// The encrypted_message of auth.bindTempAuthKey (core.telegram.org/method/auth.bindTempAuthKey): the
// bind_auth_key_inner object encrypted with the permanent key in the MTProto v1 scheme
// (core.telegram.org/mtproto/description_v1): msg_key = SHA1(plaintext)[4:20] without the padding, AES key/iv from
// four SHA1s, 0–15 bytes of padding. The plaintext starts with random:int128 in place of salt and session_id.

import { aesIgeDecrypt, aesIgeEncrypt } from './aes-ige.ts'
import type { AuthKey } from './auth-key.ts'
import { bytesEqual, concatBytes } from './bytes.ts'
import { sha1 } from './hashes.ts'
import { randomBytes, type RandomSource } from './random.ts'
import { MtprotoError } from '../mtproto-error.ts'

/** random(16) ‖ msg_id(8) ‖ seq_no(4) ‖ length(4) before the body. */
const HEADER_BYTES = 32
/** auth_key_id ‖ msg_key before the ciphertext. */
const PREFIX_BYTES = 24

/** MTProto v1 aes_key/aes_iv for client→server messages (x = 0). */
function v1KeyIv(authKey: AuthKey, msgKey: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  const k = authKey.key
  const a = sha1(msgKey, k.subarray(0, 32))
  const b = sha1(k.subarray(32, 48), msgKey, k.subarray(48, 64))
  const c = sha1(k.subarray(64, 96), msgKey)
  const d = sha1(msgKey, k.subarray(96, 128))
  return {
    key: concatBytes(a.subarray(0, 8), b.subarray(8, 20), c.subarray(4, 16)),
    iv: concatBytes(a.subarray(8, 20), b.subarray(0, 8), c.subarray(16, 20), d.subarray(0, 8)),
  }
}

export interface BindMessage {
  /** The msg_id of the auth.bindTempAuthKey request that carries this message. */
  msgId: bigint
  seqNo: number
  /** The serialized bind_auth_key_inner. */
  body: Uint8Array
}

/** Client side: encrypted_message for auth.bindTempAuthKey, encrypted with the permanent key. */
export function encryptBindMessage(
  permKey: AuthKey,
  message: BindMessage,
  random: RandomSource = randomBytes,
): Uint8Array {
  const plain = new Uint8Array(HEADER_BYTES + message.body.length)
  plain.set(random(16), 0)
  const view = new DataView(plain.buffer)
  view.setBigInt64(16, BigInt.asIntN(64, message.msgId), true)
  view.setInt32(24, message.seqNo, true)
  view.setInt32(28, message.body.length, true)
  plain.set(message.body, HEADER_BYTES)
  const msgKey = sha1(plain).slice(4, 20)
  const padded = concatBytes(plain, random((16 - (plain.length % 16)) % 16))
  const { key, iv } = v1KeyIv(permKey, msgKey)
  return concatBytes(permKey.id, msgKey, aesIgeEncrypt(padded, key, iv))
}

export class BindMessageError extends MtprotoError {
  override readonly name = 'BindMessageError'
}

/**
 * Server side: decrypts and checks encrypted_message with the permanent key (key id, length, msg_key over the
 * unpadded plaintext, padding below 16 bytes). Throws BindMessageError.
 */
export function decryptBindMessage(permKey: AuthKey, encrypted: Uint8Array): BindMessage {
  const cipherLength = encrypted.length - PREFIX_BYTES
  if (cipherLength < HEADER_BYTES || cipherLength % 16 !== 0) throw new BindMessageError('bad length')
  if (!bytesEqual(encrypted.subarray(0, 8), permKey.id)) throw new BindMessageError('another auth_key_id')
  const msgKey = encrypted.subarray(8, PREFIX_BYTES)
  const { key, iv } = v1KeyIv(permKey, msgKey)
  const plain = aesIgeDecrypt(encrypted.subarray(PREFIX_BYTES), key, iv)
  const view = new DataView(plain.buffer, plain.byteOffset, plain.length)
  const length = view.getInt32(28, true)
  const padding = plain.length - HEADER_BYTES - length
  if (length < 0 || length % 4 !== 0 || padding < 0 || padding > 15) throw new BindMessageError('bad body length')
  if (!bytesEqual(sha1(plain.subarray(0, HEADER_BYTES + length)).subarray(4, 20), msgKey))
    throw new BindMessageError('msg_key mismatch')
  return {
    msgId: view.getBigInt64(16, true),
    seqNo: view.getInt32(24, true),
    body: plain.subarray(HEADER_BYTES, HEADER_BYTES + length),
  }
}
