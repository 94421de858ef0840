// Telegram Desktop's local encryption (Storage::details in tdesktop): a 256-byte key encrypts each file with
// MTProto 1.0's message scheme — msg_key = SHA1(plaintext)[0:16], AES-256-IGE with the key/iv of the v1 KDF
// (server direction, x = 8). The plaintext is int32 LE length (itself included) + data + random padding to 16.
// The local key is kept encrypted under a key derived from the passcode (PBKDF2-HMAC-SHA512).
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto'
import { aesIgeDecrypt, aesIgeEncrypt } from '../../../mtproto/crypto/aes-ige.ts'
import { TdataError } from './tdata-error.ts'

export const LOCAL_KEY_BYTES = 256
/** PBKDF2 rounds with a passcode; without one Telegram Desktop uses a single round (LocalEncryptIterCount). */
const PASSCODE_ITERATIONS = 100_000
const NO_PASSCODE_ITERATIONS = 1
const MSG_KEY_BYTES = 16
/** MTProto 1.0 KDF offset for messages from the server (tdesktop's local files use that direction). */
const KDF_X = 8

function sha1(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** The key that unlocks key_data's local key: PBKDF2-SHA512(SHA512(salt | passcode | salt), salt). */
export function passcodeKey(salt: Uint8Array, passcode: string): Buffer {
  const hash = createHash('sha512').update(salt).update(passcode, 'utf8').update(salt).digest()
  const iterations = passcode === '' ? NO_PASSCODE_ITERATIONS : PASSCODE_ITERATIONS
  return pbkdf2Sync(hash, salt, iterations, LOCAL_KEY_BYTES, 'sha512')
}

/** MTProto 1.0's aes key and iv from an auth key and msg_key. */
function kdfV1(key: Uint8Array, msgKey: Uint8Array): { key: Buffer; iv: Buffer } {
  const x = KDF_X
  const a = sha1(msgKey, key.subarray(x, x + 32))
  const b = sha1(key.subarray(32 + x, 48 + x), msgKey, key.subarray(48 + x, 64 + x))
  const c = sha1(key.subarray(64 + x, 96 + x), msgKey)
  const d = sha1(msgKey, key.subarray(96 + x, 128 + x))
  return {
    key: Buffer.concat([a.subarray(0, 8), b.subarray(8, 20), c.subarray(4, 16)]),
    iv: Buffer.concat([a.subarray(8, 20), b.subarray(0, 8), c.subarray(16, 20), d.subarray(0, 8)]),
  }
}

export function encryptLocal(data: Uint8Array, key: Uint8Array): Buffer {
  const size = data.length + 4
  const padded = Buffer.alloc(Math.ceil(size / 16) * 16)
  padded.writeInt32LE(size, 0)
  padded.set(data, 4)
  if (padded.length > size) randomBytes(padded.length - size).copy(padded, size)
  const msgKey = sha1(padded).subarray(0, MSG_KEY_BYTES)
  const { key: aesKey, iv } = kdfV1(key, msgKey)
  return Buffer.concat([msgKey, aesIgeEncrypt(padded, aesKey, iv)])
}

/** `what` names the file in errors; a wrong key (passcode) fails the msg_key check. */
export function decryptLocal(encrypted: Uint8Array, key: Uint8Array, what: string): Buffer {
  if (encrypted.length < MSG_KEY_BYTES + 16 || (encrypted.length - MSG_KEY_BYTES) % 16 !== 0)
    throw new TdataError('format', `${what}: encrypted block has a bad length`)
  const msgKey = encrypted.subarray(0, MSG_KEY_BYTES)
  const { key: aesKey, iv } = kdfV1(key, msgKey)
  const plain = Buffer.from(aesIgeDecrypt(encrypted.subarray(MSG_KEY_BYTES), aesKey, iv))
  if (!sha1(plain).subarray(0, MSG_KEY_BYTES).equals(msgKey))
    throw new TdataError('passcode', `${what}: does not decrypt (wrong passcode, or not this folder's key)`)
  const size = plain.readInt32LE(0)
  if (size < 4 || size > plain.length || size <= plain.length - 16)
    throw new TdataError('format', `${what}: decrypted length field is out of range`)
  return plain.subarray(4, size)
}
