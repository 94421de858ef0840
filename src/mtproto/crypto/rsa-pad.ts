// RSA for the key exchange: the raw RSA operations, RSA_PAD (docs/protocol.md#rsa_pad) with its server-side inverse,
// and the old SHA1(data) ‖ data ‖ padding scheme.
// Measured (Node 20, 2048-bit key): public op — node publicEncrypt(RSA_NO_PADDING) 24 µs, bigint
// square-and-multiply 117 µs, a DiffieHellman object as modexp 93 µs; private op — node
// privateDecrypt(RSA_NO_PADDING, CRT) 0.86 ms, bigint modpow 21 ms. Both use node.

import { constants, privateDecrypt, publicEncrypt } from 'node:crypto'
import { aesIgeDecrypt, aesIgeEncrypt } from './aes-ige.ts'
import { bigIntFromBytes, bytesEqual, concatBytes, reversedBytes, xorBytes } from './bytes.ts'
import { sha1, sha256 } from './hashes.ts'
import { randomBytes, type RandomSource } from './random.ts'
import { rsaPublicKeyObject, type RsaPrivateKey, type RsaPublicKey } from './rsa-keys.ts'
import { SecurityCheckError } from './security-check-error.ts'

/** RSA_PAD accepts at most this much data (docs/protocol.md#rsa_pad step 1). */
export const RSA_PAD_MAX_DATA = 144
/** data_with_padding length in RSA_PAD. */
const RSA_PAD_PADDED = 192
const TEMP_KEY = 32
/** The old scheme fills SHA1 ‖ data ‖ padding up to 255 bytes so the number stays below a 2048-bit n. */
const OLD_SCHEME_BYTES = 255
const ZERO_IV = new Uint8Array(32)

/** x^e mod n for a big-endian `x` of key.size bytes with x < n; returns key.size bytes. */
export function rsaPublicRaw(key: RsaPublicKey, x: Uint8Array): Uint8Array {
  if (x.length !== key.size || bigIntFromBytes(x) >= key.n) throw new SecurityCheckError('rsa_input_range')
  return publicEncrypt({ key: rsaPublicKeyObject(key), padding: constants.RSA_NO_PADDING }, x)
}

/** y^d mod n for a big-endian `y` of key.size bytes with y < n; returns key.size bytes. */
export function rsaPrivateRaw(key: RsaPrivateKey, y: Uint8Array): Uint8Array {
  if (y.length !== key.size || bigIntFromBytes(y) >= key.n) throw new SecurityCheckError('rsa_input_range')
  return privateDecrypt({ key: key.keyObject, padding: constants.RSA_NO_PADDING }, y)
}

/** RSA_PAD steps 2–7: key_aes_encrypted = temp_key_xor ‖ aes_encrypted (256 bytes) before the RSA step. */
export function rsaPadKeyAesEncrypted(dataWithPadding: Uint8Array, tempKey: Uint8Array): Uint8Array {
  if (dataWithPadding.length !== RSA_PAD_PADDED || tempKey.length !== TEMP_KEY) throw new RangeError('RSA_PAD sizes')
  const dataWithHash = concatBytes(reversedBytes(dataWithPadding), sha256(tempKey, dataWithPadding))
  const aesEncrypted = aesIgeEncrypt(dataWithHash, tempKey, ZERO_IV)
  return concatBytes(xorBytes(tempKey, sha256(aesEncrypted)), aesEncrypted)
}

/**
 * RSA_PAD(data, key) (docs/protocol.md#rsa_pad), client side: 256 bytes of encrypted_data. `random` supplies the
 * padding first, then one 32-byte temp_key per attempt (injectable for the derived vector).
 */
export function rsaPadEncrypt(data: Uint8Array, key: RsaPublicKey, random: RandomSource = randomBytes): Uint8Array {
  if (data.length > RSA_PAD_MAX_DATA)
    throw new SecurityCheckError('rsa_data_length', `${data.length} > ${RSA_PAD_MAX_DATA}`)
  if (key.size !== 256) throw new RangeError('RSA_PAD needs a 2048-bit key')
  const dataWithPadding = concatBytes(data, random(RSA_PAD_PADDED - data.length))
  for (;;) {
    const keyAesEncrypted = rsaPadKeyAesEncrypted(dataWithPadding, random(TEMP_KEY))
    // step 8: a value ≥ n cannot be encrypted; retry with a new temp_key
    if (bigIntFromBytes(keyAesEncrypted) < key.n) return rsaPublicRaw(key, keyAesEncrypted)
  }
}

/** The server-side inverse of RSA_PAD: returns data_with_padding (192 bytes) or throws SecurityCheckError. */
export function rsaPadDecrypt(encryptedData: Uint8Array, key: RsaPrivateKey): Uint8Array {
  return rsaPadUnwrap(rsaPrivateRaw(key, encryptedData))
}

/**
 * RSA_PAD's server side after the RSA step (x = y^d mod n, 256 bytes): data_with_padding, or SecurityCheckError
 * when its SHA256 does not match.
 */
export function rsaPadUnwrap(x: Uint8Array): Uint8Array {
  const aesEncrypted = x.subarray(TEMP_KEY)
  const tempKey = xorBytes(x.subarray(0, TEMP_KEY), sha256(aesEncrypted))
  const dataWithHash = aesIgeDecrypt(aesEncrypted, tempKey, ZERO_IV)
  const dataWithPadding = reversedBytes(dataWithHash.subarray(0, RSA_PAD_PADDED))
  if (!bytesEqual(dataWithHash.subarray(RSA_PAD_PADDED), sha256(tempKey, dataWithPadding))) {
    throw new SecurityCheckError('rsa_pad_hash')
  }
  return dataWithPadding
}

/** The old scheme, client side: RSA(SHA1(data) ‖ data ‖ random padding to 255 bytes). */
export function rsaEncryptOldScheme(
  data: Uint8Array,
  key: RsaPublicKey,
  random: RandomSource = randomBytes,
): Uint8Array {
  const room = OLD_SCHEME_BYTES - 20 - data.length
  if (room < 0) throw new SecurityCheckError('rsa_data_length', `${data.length} > ${OLD_SCHEME_BYTES - 20}`)
  return rsaPublicRaw(key, concatBytes(new Uint8Array(1), sha1(data), data, random(room)))
}

/**
 * The old scheme, server side. The data length is not on the wire, so `measure` (the TL parser)
 * says how long the object at the start of data ‖ padding is; returns that data after the SHA1 check.
 */
export function rsaDecryptOldScheme(
  encryptedData: Uint8Array,
  key: RsaPrivateKey,
  measure: (dataWithPadding: Uint8Array) => number,
): Uint8Array {
  const x = rsaPrivateRaw(key, encryptedData)
  if (x[0] !== 0) throw new SecurityCheckError('rsa_old_hash')
  const dataWithPadding = x.subarray(21)
  const length = measure(dataWithPadding)
  if (!(length >= 0 && length <= dataWithPadding.length)) throw new SecurityCheckError('rsa_data_length')
  const data = dataWithPadding.subarray(0, length)
  if (!bytesEqual(x.subarray(1, 21), sha1(data))) throw new SecurityCheckError('rsa_old_hash')
  return data
}
