// Auth-key material: the AuthKey (key, id, aux hash and the slices message encryption derives from),
// and the handshake's derived values (docs/protocol.md#key-exchange): tmp AES key/iv, new_nonce_hash1/2/3,
// the first server salt, answer_with_hash.

import { bytesEqual, concatBytes } from './bytes.ts'
import { sha1 } from './hashes.ts'
import { randomBytes, type RandomSource } from './random.ts'
import { SecurityCheckError } from './security-check-error.ts'

const AUTH_KEY_BYTES = 256

/** Which side encrypted a message: x = 0 for client→server, x = 8 for server→client (docs/protocol.md#message-encryption). */
export type Sender = 'client' | 'server'

/** The auth_key slices one direction's message keys derive from. */
export interface DirectionSlices {
  /** auth_key[88+x : 120+x], hashed before the plaintext into msg_key_large */
  readonly msgKeyPrefix: Uint8Array
  /** auth_key[x : x+36], for sha256_a */
  readonly a: Uint8Array
  /** auth_key[40+x : 76+x], for sha256_b */
  readonly b: Uint8Array
}

/**
 * A 2048-bit auth key. A process keeps thousands (one per connection), so only the key and its id (as a bigint) are
 * stored: the id's bytes and the message-key slices are made on demand (a few small arrays, cheap next to the SHA-256
 * and AES they feed), and the aux hash, needed by the key exchange only, is computed when asked for.
 */
export class AuthKey {
  /** The key bytes. Kept as given when they own their whole buffer (the caller must not change them then). */
  readonly key: Uint8Array
  /** auth_key_id read as a signed little-endian int64 (TL `long`). */
  readonly idLong: bigint

  constructor(key: Uint8Array) {
    if (key.length !== AUTH_KEY_BYTES)
      throw new RangeError(`auth key must be ${AUTH_KEY_BYTES} bytes, got ${key.length}`)
    // No copy per connection of a key the caller holds anyway; but a view into a larger buffer (e.g. a slab of
    // Buffer's pool) is copied, or it would keep the whole buffer alive.
    this.key = key.byteOffset === 0 && key.buffer.byteLength === AUTH_KEY_BYTES ? key : Uint8Array.from(key)
    const digest = sha1(this.key)
    this.idLong = new DataView(digest.buffer, digest.byteOffset + 12, 8).getBigInt64(0, true)
  }

  /** auth_key_id as on the wire: SHA1(key)[12:20]. */
  get id(): Uint8Array {
    const id = new Uint8Array(8)
    new DataView(id.buffer).setBigInt64(0, this.idLong, true)
    return id
  }

  /** SHA1(key)[0:8], used by new_nonce_hash and as dh_gen_retry's retry_id. */
  get auxHash(): Uint8Array {
    return sha1(this.key).slice(0, 8)
  }

  /** Slices for messages the client encrypts (x = 0). */
  get client(): DirectionSlices {
    return this.slices(0)
  }

  /** Slices for messages the server encrypts (x = 8). */
  get server(): DirectionSlices {
    return this.slices(8)
  }

  /** Slices for messages encrypted by `sender`. */
  direction(sender: Sender): DirectionSlices {
    return this.slices(sender === 'client' ? 0 : 8)
  }

  private slices(x: number): DirectionSlices {
    const k = this.key
    return { msgKeyPrefix: k.subarray(88 + x, 120 + x), a: k.subarray(x, x + 36), b: k.subarray(40 + x, 76 + x) }
  }
}

/** tmp_aes_key (32 B) and tmp_aes_iv (32 B) for server_DH_inner_data and client_DH_inner_data. */
export function tmpAesKeyIv(serverNonce: Uint8Array, newNonce: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  const newServer = sha1(newNonce, serverNonce)
  const serverNew = sha1(serverNonce, newNonce)
  const newNew = sha1(newNonce, newNonce)
  return {
    key: concatBytes(newServer, serverNew.subarray(0, 12)),
    iv: concatBytes(serverNew.subarray(12, 20), newNew, newNonce.subarray(0, 4)),
  }
}

/** new_nonce_hash{1,2,3} = SHA1(new_nonce ‖ n ‖ aux_hash)[4:20] for dh_gen_ok/retry/fail. */
export function newNonceHash(newNonce: Uint8Array, authKeyAuxHash: Uint8Array, n: 1 | 2 | 3): Uint8Array {
  return sha1(newNonce, Uint8Array.of(n), authKeyAuxHash).slice(4, 20)
}

/** The first server salt: new_nonce[0:8] XOR server_nonce[0:8], as 8 bytes (wire order). */
export function initialServerSalt(newNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  const salt = new Uint8Array(8)
  for (let i = 0; i < 8; i++) salt[i] = newNonce[i] ^ serverNonce[i]
  return salt
}

/** SHA1(answer) ‖ answer ‖ 0–15 random bytes, so the length divides by 16. */
export function buildAnswerWithHash(answer: Uint8Array, random: RandomSource = randomBytes): Uint8Array {
  const padding = (16 - ((20 + answer.length) % 16)) % 16
  return concatBytes(sha1(answer), answer, random(padding))
}

/**
 * Checks a decrypted answer_with_hash (docs/protocol.md#security-checks): length a multiple of 16, padding below 16 bytes,
 * SHA1 matching. The answer's length is not on the wire: pass what the TL parser consumed, or leave
 * it out to try the 16 possible paddings. Returns the answer; throws SecurityCheckError.
 */
export function verifyAnswerWithHash(data: Uint8Array, answerLength?: number): Uint8Array {
  if (data.length % 16 !== 0 || data.length < 32) throw new SecurityCheckError('answer_length')
  const hash = data.subarray(0, 20)
  if (answerLength !== undefined) {
    const padding = data.length - 20 - answerLength
    if (answerLength < 0 || padding < 0 || padding >= 16) throw new SecurityCheckError('answer_padding')
    const answer = data.subarray(20, 20 + answerLength)
    if (!bytesEqual(sha1(answer), hash)) throw new SecurityCheckError('answer_hash')
    return answer
  }
  for (let padding = 0; padding < 16; padding++) {
    const answer = data.subarray(20, data.length - padding)
    if (bytesEqual(sha1(answer), hash)) return answer
  }
  throw new SecurityCheckError('answer_hash')
}
