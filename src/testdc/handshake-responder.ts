// Server side of the auth-key exchange for the test DC: answers req_pq(_multi), req_DH_params and
// set_client_DH_params of one connection. Faults make it misbehave in one precise way so the client's
// security checks can be proven.
import { tlCodec, type TlValue } from '../mtproto/tl/index.ts'
import {
  AuthKey,
  tmpAesKeyIv,
  newNonceHash,
  initialServerSalt,
  buildAnswerWithHash,
  verifyAnswerWithHash,
} from '../mtproto/crypto/auth-key.ts'
import { aesIgeDecrypt, aesIgeEncrypt } from '../mtproto/crypto/aes-ige.ts'
import { bytesEqual, bigIntToBytes, byteLengthOf, bigIntFromBytes, leftPadBytes } from '../mtproto/crypto/bytes.ts'
import { checkDhValue, TELEGRAM_DH_PRIME } from '../mtproto/crypto/dh.ts'
import { randomBytes } from '../mtproto/crypto/random.ts'
import type { RsaPrivateKey } from '../mtproto/crypto/rsa-keys.ts'
import { rsaDecryptOldScheme } from '../mtproto/crypto/rsa-pad.ts'
import { DC_DH_G, type HandshakeMath } from './handshake-math.ts'

/** Ways the responder can misbehave, one at a time, for tests of the client's checks. */
export interface HandshakeFaults {
  /** resPQ carries another nonce. */
  wrongNonce?: boolean
  /** server_DH_params_ok carries another server_nonce. */
  wrongServerNonce?: boolean
  /** A prime that is not safe (p−1)/2 composite. */
  badPrime?: boolean
  /** g that fails the residue rule for the prime (g = 2 with p mod 8 ≠ 7). */
  badG?: boolean
  /** g_a outside (2^1984, p − 2^1984). */
  badGA?: boolean
  /** The SHA1 in answer_with_hash does not match. */
  badAnswerHash?: boolean
  /** dh_gen_ok with a wrong new_nonce_hash1. */
  wrongNewNonceHash?: boolean
  /** Answer dh_gen_retry to the first set_client_DH_params. */
  retryOnce?: boolean
  /** Answer dh_gen_fail. */
  fail?: boolean
}

export class HandshakeProtocolError extends Error {
  override readonly name = 'HandshakeProtocolError'
}

export interface NewAuthKey {
  authKey: AuthKey
  serverSalt: bigint
  /** A temporary key (p_q_inner_data_temp[_dc]) lives this many seconds; null for a permanent key. */
  expiresIn: number | null
  /** How p_q_inner_data was encrypted. */
  rsaScheme: RsaScheme
}

/** RSA_PAD (current clients) or RSA(SHA1(data) ‖ data ‖ padding) (Pyrogram, older releases of other clients). */
export type RsaScheme = 'rsa_pad' | 'old'

/** Every p_q_inner_data variant a client may send (core.telegram.org/mtproto/auth_key, /api/pfs). */
const INNER_DATA = new Set(['p_q_inner_data', 'p_q_inner_data_dc', 'p_q_inner_data_temp', 'p_q_inner_data_temp_dc'])

const G = DC_DH_G
/** 2048-bit server exponent a. */
const A_BYTES = 256

/**
 * A 2048-bit odd number that is not a safe prime, for the badPrime fault. It passes the size check and the g = 3
 * residue rule (p mod 3 = 2), so the client must refuse it for not being a safe prime: 2^2048 − 11 is divisible by 5.
 */
function unsafePrime(): Uint8Array {
  const p = (1n << 2048n) - 11n
  return bigIntToBytes(p, 256)
}

export class HandshakeResponder {
  private nonce: Uint8Array | undefined
  private serverNonce: Uint8Array | undefined
  private newNonce: Uint8Array | undefined
  private pq = { p: 0n, q: 0n }
  private a: Uint8Array | undefined
  private retried = false
  private expiresIn: number | null = null
  private rsaScheme: RsaScheme = 'rsa_pad'

  constructor(
    private readonly rsaKey: RsaPrivateKey,
    /** Where the primes, the RSA private operation and the modexps are computed. */
    private readonly math: HandshakeMath,
    /** Refuses a new key whose id is already taken (tdlib retries with dh_gen_retry). */
    private readonly keyIdTaken: (authKeyId: bigint) => boolean,
    private readonly faults: HandshakeFaults = {},
  ) {}

  /** Handles one plain message body; returns the answer body, or a created key with its final answer. */
  async handle(body: Uint8Array): Promise<{ answer: Uint8Array; created?: NewAuthKey }> {
    const req = tlCodec.decode(body)
    switch (req._) {
      case 'req_pq_multi':
      case 'req_pq':
        return { answer: tlCodec.encode(await this.resPq(req)) }
      case 'req_DH_params':
        return { answer: tlCodec.encode(await this.dhParams(req)) }
      case 'set_client_DH_params':
        return this.setClientParams(req)
      default:
        throw new HandshakeProtocolError(`${req._} is not a handshake message`)
    }
  }

  private async resPq(req: TlValue): Promise<TlValue> {
    this.nonce = req['nonce'] as Uint8Array
    this.serverNonce = randomBytes(16)
    // Two distinct primes below 2^32, as Telegram uses (pq < 2^63).
    this.pq = await this.math.pqPrimes()
    const pq = this.pq.p * this.pq.q
    return {
      _: 'resPQ',
      nonce: this.faults.wrongNonce ? randomBytes(16) : this.nonce,
      serverNonce: this.serverNonce,
      pq: bigIntToBytes(pq, byteLengthOf(pq)),
      serverPublicKeyFingerprints: [this.rsaKey.fingerprint],
    }
  }

  private checkNonces(req: TlValue): void {
    if (!this.nonce || !this.serverNonce) throw new HandshakeProtocolError('handshake out of order')
    if (
      !bytesEqual(req['nonce'] as Uint8Array, this.nonce) ||
      !bytesEqual(req['serverNonce'] as Uint8Array, this.serverNonce)
    ) {
      throw new HandshakeProtocolError('nonce mismatch')
    }
  }

  private async dhParams(req: TlValue): Promise<TlValue> {
    this.checkNonces(req)
    if (
      bigIntFromBytes(req['p'] as Uint8Array) !== this.pq.p ||
      bigIntFromBytes(req['q'] as Uint8Array) !== this.pq.q
    ) {
      throw new HandshakeProtocolError('wrong factorization of pq')
    }
    if (req['publicKeyFingerprint'] !== this.rsaKey.fingerprint)
      throw new HandshakeProtocolError('unknown key fingerprint')
    const inner = await this.innerData(req['encryptedData'] as Uint8Array)
    if (!INNER_DATA.has(inner._)) throw new HandshakeProtocolError(`unexpected ${inner._}`)
    if (
      !bytesEqual(inner['nonce'] as Uint8Array, this.nonce!) ||
      !bytesEqual(inner['serverNonce'] as Uint8Array, this.serverNonce!)
    ) {
      throw new HandshakeProtocolError('inner data nonce mismatch')
    }
    if (
      bigIntFromBytes(inner['p'] as Uint8Array) !== this.pq.p ||
      bigIntFromBytes(inner['q'] as Uint8Array) !== this.pq.q ||
      bigIntFromBytes(inner['pq'] as Uint8Array) !== this.pq.p * this.pq.q
    ) {
      throw new HandshakeProtocolError('inner data pq mismatch')
    }
    if (inner._ === 'p_q_inner_data_temp' || inner._ === 'p_q_inner_data_temp_dc') {
      const expiresIn = inner['expiresIn'] as number
      if (!(expiresIn > 0)) throw new HandshakeProtocolError('temporary key without a lifetime')
      this.expiresIn = expiresIn
    }
    this.newNonce = inner['newNonce'] as Uint8Array
    this.a = randomBytes(A_BYTES)
    const prime = this.faults.badPrime ? unsafePrime() : TELEGRAM_DH_PRIME
    const g = this.faults.badG ? 2 : G
    const gA = this.faults.badGA ? bigIntToBytes(2n, 256) : await this.math.powG(this.a)
    const answer = tlCodec.encode({
      _: 'server_DH_inner_data',
      nonce: this.nonce,
      serverNonce: this.serverNonce,
      g,
      dhPrime: prime,
      gA,
      serverTime: Math.floor(Date.now() / 1000),
    })
    const withHash = buildAnswerWithHash(answer)
    if (this.faults.badAnswerHash) withHash[0] = withHash[0]! ^ 0xff
    const tmp = tmpAesKeyIv(this.serverNonce!, this.newNonce)
    return {
      _: 'server_DH_params_ok',
      nonce: this.nonce,
      serverNonce: this.faults.wrongServerNonce ? randomBytes(16) : this.serverNonce,
      encryptedAnswer: aesIgeEncrypt(withHash, tmp.key, tmp.iv),
    }
  }

  /**
   * p_q_inner_data from req_DH_params' encrypted_data: RSA_PAD first; when its hash does not match, the old scheme,
   * whose SHA1 must match the TL object at the start of data ‖ padding. Telegram accepts both.
   */
  private async innerData(encrypted: Uint8Array): Promise<TlValue> {
    // A client may strip leading zero bytes of the RSA number; the raw RSA step wants the key's size.
    const y = leftPadBytes(encrypted, this.rsaKey.size)
    const padded = await this.math.rsaPadDecrypt(y)
    if (padded !== null) {
      this.rsaScheme = 'rsa_pad'
      return tlCodec.reader(padded).object()
    }
    const data = rsaDecryptOldScheme(y, this.rsaKey, (dataWithPadding) => {
      const r = tlCodec.reader(dataWithPadding)
      r.object()
      return r.pos
    })
    this.rsaScheme = 'old'
    return tlCodec.decode(data)
  }

  private async setClientParams(req: TlValue): Promise<{ answer: Uint8Array; created?: NewAuthKey }> {
    this.checkNonces(req)
    if (!this.newNonce || !this.a) throw new HandshakeProtocolError('set_client_DH_params before req_DH_params')
    const tmp = tmpAesKeyIv(this.serverNonce!, this.newNonce)
    const decrypted = aesIgeDecrypt(req['encryptedData'] as Uint8Array, tmp.key, tmp.iv)
    const r = tlCodec.reader(decrypted, 20)
    const inner = r.object()
    verifyAnswerWithHash(decrypted, r.pos - 20)
    if (inner._ !== 'client_DH_inner_data') throw new HandshakeProtocolError(`unexpected ${inner._}`)
    const gB = inner['gB'] as Uint8Array
    checkDhValue(gB, TELEGRAM_DH_PRIME)
    const authKey = new AuthKey(await this.math.pow(gB, this.a))
    const base = { nonce: this.nonce, serverNonce: this.serverNonce }
    if (this.faults.fail) {
      return {
        answer: tlCodec.encode({
          _: 'dh_gen_fail',
          ...base,
          newNonceHash3: newNonceHash(this.newNonce, authKey.auxHash, 3),
        }),
      }
    }
    if ((this.faults.retryOnce && !this.retried) || this.keyIdTaken(authKey.idLong)) {
      this.retried = true
      return {
        answer: tlCodec.encode({
          _: 'dh_gen_retry',
          ...base,
          newNonceHash2: newNonceHash(this.newNonce, authKey.auxHash, 2),
        }),
      }
    }
    const hash1 = newNonceHash(this.newNonce, authKey.auxHash, 1)
    if (this.faults.wrongNewNonceHash) hash1[0] = hash1[0]! ^ 0xff
    const salt = initialServerSalt(this.newNonce, this.serverNonce!)
    return {
      answer: tlCodec.encode({ _: 'dh_gen_ok', ...base, newNonceHash1: hash1 }),
      created: {
        authKey,
        serverSalt: new DataView(salt.buffer, salt.byteOffset, 8).getBigInt64(0, true),
        expiresIn: this.expiresIn,
        rsaScheme: this.rsaScheme,
      },
    }
  }
}
