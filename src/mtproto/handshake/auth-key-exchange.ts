// Client side of the auth-key exchange (core.telegram.org/mtproto/auth_key): req_pq_multi → req_DH_params
// (p_q_inner_data_dc under RSA_PAD) → set_client_DH_params, with every check of docs/protocol.md#security-checks. It talks through a
// PlainChannel (unencrypted messages), so it runs over any transport and is testable without sockets.
import { tlCodec, type TlValue, type TlCodec } from '../tl/index.ts'
import {
  AuthKey,
  tmpAesKeyIv,
  newNonceHash,
  initialServerSalt,
  buildAnswerWithHash,
  verifyAnswerWithHash,
} from '../crypto/auth-key.ts'
import { aesIgeDecrypt, aesIgeEncrypt } from '../crypto/aes-ige.ts'
import { bytesEqual } from '../crypto/bytes.ts'
import { checkDhParams, checkDhValue, DhGroup } from '../crypto/dh.ts'
import { factorizePq } from '../crypto/factorize.ts'
import { randomBytes, type RandomSource } from '../crypto/random.ts'
import { pickRsaKey, type RsaPublicKey } from '../crypto/rsa-keys.ts'
import { rsaEncryptOldScheme, rsaPadEncrypt } from '../crypto/rsa-pad.ts'
import { SecurityCheckError } from '../crypto/security-check-error.ts'
import { MtprotoError } from '../mtproto-error.ts'

/**
 * Sends one unencrypted message body and resolves with the body of the answer. `step` names the request
 * (req_pq_multi, req_DH_params, set_client_DH_params) for the channel's per-step deadline and its error.
 */
export interface PlainChannel {
  request(body: Uint8Array, step: string): Promise<Uint8Array>
}

export type HandshakeFailure =
  | 'nonce-mismatch'
  | 'server-nonce-mismatch'
  | 'new-nonce-hash-mismatch'
  | 'no-known-rsa-key'
  | 'unexpected-answer'
  | 'dh-params-fail'
  | 'dh-gen-fail'
  | 'too-many-retries'

export class AuthKeyExchangeError extends MtprotoError {
  override readonly name = 'AuthKeyExchangeError'
  constructor(
    readonly failure: HandshakeFailure,
    detail: string,
  ) {
    super(`auth key exchange failed (${failure}): ${detail}`)
  }
}

export interface AuthKeyExchangeOptions {
  /** The DC the key is for; p_q_inner_data_dc carries it (+10000 for test DCs). */
  dcId: number
  testMode: boolean
  /** Keys we trust, e.g. rsaKeyTable('production').values(), or the local test DC's key. */
  rsaKeys: Iterable<RsaPublicKey>
  /** dh_gen_retry rounds before giving up. */
  maxRetries?: number
  /**
   * How p_q_inner_data is encrypted: RSA_PAD (default, what Telegram asks of current clients) or the old
   * RSA(SHA1(data) ‖ data ‖ padding) that Pyrogram and older releases of other clients still send; Telegram takes both.
   */
  rsaScheme?: 'rsa_pad' | 'old'
  /** A temporary key for PFS (core.telegram.org/api/pfs): p_q_inner_data_temp_dc with this lifetime in seconds. */
  tempKeyExpiresIn?: number
  /** p_q_inner_data without the DC (as older clients send) instead of p_q_inner_data_dc / _temp_dc. */
  withoutDc?: boolean
  random?: RandomSource
  codec?: TlCodec
}

export interface CreatedAuthKey {
  authKey: AuthKey
  /** The first server salt (new_nonce[0:8] XOR server_nonce[0:8]) as a TL long. */
  serverSalt: bigint
  /** Server time minus local time, from server_DH_inner_data.server_time, in seconds. */
  timeOffset: number
}

/** Test DCs get dc + 10000 in p_q_inner_data_dc (docs/protocol.md#key-exchange). */
const TEST_DC_OFFSET = 10000
const DEFAULT_MAX_RETRIES = 5
/** The client's secret exponent b: 2048 random bits. */
const B_BYTES = 256

function expect(obj: TlValue, names: string[]): void {
  if (!names.includes(obj._))
    throw new AuthKeyExchangeError('unexpected-answer', `got ${obj._}, expected ${names.join(' or ')}`)
}

function checkNonces(obj: TlValue, nonce: Uint8Array, serverNonce?: Uint8Array): void {
  if (!bytesEqual(obj['nonce'] as Uint8Array, nonce))
    throw new AuthKeyExchangeError('nonce-mismatch', `${obj._} carries another nonce`)
  if (serverNonce && !bytesEqual(obj['serverNonce'] as Uint8Array, serverNonce)) {
    throw new AuthKeyExchangeError('server-nonce-mismatch', `${obj._} carries another server_nonce`)
  }
}

export async function exchangeAuthKey(channel: PlainChannel, opts: AuthKeyExchangeOptions): Promise<CreatedAuthKey> {
  const codec = opts.codec ?? tlCodec
  const random = opts.random ?? randomBytes
  const call = async (obj: TlValue): Promise<TlValue> => {
    const answer = await channel.request(codec.encode(obj), obj._)
    return codec.decode(answer)
  }

  // 1. req_pq_multi → resPQ
  const nonce = random(16)
  const resPq = await call({ _: 'req_pq_multi', nonce })
  expect(resPq, ['resPQ'])
  checkNonces(resPq, nonce)
  const serverNonce = resPq['serverNonce'] as Uint8Array
  const key = pickRsaKey(resPq['serverPublicKeyFingerprints'] as bigint[], opts.rsaKeys)
  if (!key) throw new AuthKeyExchangeError('no-known-rsa-key', 'the server offered no key we trust')

  // 2. p_q_inner_data_dc under RSA_PAD → req_DH_params → server_DH_params_ok
  const pq = resPq['pq'] as Uint8Array
  const { pBytes, qBytes } = factorizePq(pq)
  const newNonce = random(32)
  const temp = opts.tempKeyExpiresIn !== undefined
  const dc = opts.withoutDc ? {} : { dc: opts.testMode ? opts.dcId + TEST_DC_OFFSET : opts.dcId }
  const innerName = `p_q_inner_data${temp ? '_temp' : ''}${opts.withoutDc ? '' : '_dc'}`
  const inner = codec.encode({
    _: innerName,
    pq,
    p: pBytes,
    q: qBytes,
    nonce,
    serverNonce,
    newNonce,
    ...dc,
    ...(temp ? { expiresIn: opts.tempKeyExpiresIn } : {}),
  })
  const dhParams = await call({
    _: 'req_DH_params',
    nonce,
    serverNonce,
    p: pBytes,
    q: qBytes,
    publicKeyFingerprint: key.fingerprint,
    encryptedData:
      opts.rsaScheme === 'old' ? rsaEncryptOldScheme(inner, key, random) : rsaPadEncrypt(inner, key, random),
  })
  expect(dhParams, ['server_DH_params_ok', 'server_DH_params_fail'])
  checkNonces(dhParams, nonce, serverNonce)
  if (dhParams._ === 'server_DH_params_fail')
    throw new AuthKeyExchangeError('dh-params-fail', 'the server refused req_DH_params')

  const tmp = tmpAesKeyIv(serverNonce, newNonce)
  const encryptedAnswer = dhParams['encryptedAnswer'] as Uint8Array
  if (encryptedAnswer.length % 16 !== 0) throw new SecurityCheckError('answer_length')
  const answerWithHash = aesIgeDecrypt(encryptedAnswer, tmp.key, tmp.iv)
  // The answer's length is what the TL parser consumes; the rest (below 16 bytes) is padding.
  const r = codec.reader(answerWithHash, 20)
  const serverDh = r.object()
  verifyAnswerWithHash(answerWithHash, r.pos - 20)
  expect(serverDh, ['server_DH_inner_data'])
  checkNonces(serverDh, nonce, serverNonce)
  const dhPrime = serverDh['dhPrime'] as Uint8Array
  const g = serverDh['g'] as number
  const gA = serverDh['gA'] as Uint8Array
  checkDhParams(dhPrime, g)
  checkDhValue(gA, dhPrime)
  const timeOffset = (serverDh['serverTime'] as number) - Date.now() / 1000
  const group = DhGroup.of(dhPrime, g)

  // 3. client_DH_inner_data → set_client_DH_params → dh_gen_ok (or retry with the aux hash as retry_id)
  let retryId = 0n
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    const b = random(B_BYTES)
    const gB = group.powG(b)
    checkDhValue(gB, dhPrime)
    const authKey = new AuthKey(group.pow(gA, b))
    const clientInner = codec.encode({ _: 'client_DH_inner_data', nonce, serverNonce, retryId, gB })
    const encryptedData = aesIgeEncrypt(buildAnswerWithHash(clientInner, random), tmp.key, tmp.iv)
    const answer = await call({ _: 'set_client_DH_params', nonce, serverNonce, encryptedData })
    expect(answer, ['dh_gen_ok', 'dh_gen_retry', 'dh_gen_fail'])
    checkNonces(answer, nonce, serverNonce)
    const n = answer._ === 'dh_gen_ok' ? 1 : answer._ === 'dh_gen_retry' ? 2 : 3
    const field = `newNonceHash${n}`
    if (!bytesEqual(answer[field] as Uint8Array, newNonceHash(newNonce, authKey.auxHash, n))) {
      throw new AuthKeyExchangeError('new-nonce-hash-mismatch', `${answer._} carries a wrong new_nonce_hash${n}`)
    }
    if (answer._ === 'dh_gen_ok') {
      const salt = initialServerSalt(newNonce, serverNonce)
      return { authKey, serverSalt: new DataView(salt.buffer, salt.byteOffset, 8).getBigInt64(0, true), timeOffset }
    }
    if (answer._ === 'dh_gen_fail') throw new AuthKeyExchangeError('dh-gen-fail', 'the server refused the key')
    retryId = new DataView(authKey.auxHash.buffer, authKey.auxHash.byteOffset, 8).getBigInt64(0, true)
  }
  throw new AuthKeyExchangeError('too-many-retries', `dh_gen_retry ${maxRetries + 1} times`)
}
