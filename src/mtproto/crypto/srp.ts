// 2FA SRP for passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow (docs/protocol.md#2fa-and-srp):
// the client's { A, M1 } and the server side our test DC needs (verifier, g_b, M1 check).
// PBKDF2-HMAC-SHA512, 100000 iterations, measured (Node 20): node pbkdf2Sync 70 ms, @noble 535 ms.
// The async variant runs on libuv's thread pool, so it does not block the event loop at all.

import { pbkdf2, pbkdf2Sync } from 'node:crypto'
import { bigIntFromBytes, bigIntToBytes, bytesEqual, concatBytes, xorBytes } from './bytes.ts'
import { checkDhParams, checkDhValue, DhGroup } from './dh.ts'
import { sha256 } from './hashes.ts'
import { randomBytes, type RandomSource } from './random.ts'
import { SecurityCheckError } from './security-check-error.ts'

/** The numbers of passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow. */
export interface SrpAlgo {
  readonly salt1: Uint8Array
  readonly salt2: Uint8Array
  readonly g: number
  /** The 2048-bit prime, 256 bytes big-endian. */
  readonly p: Uint8Array
}

export interface SrpCheck {
  /** inputCheckPasswordSRP.srp_id, passed through. */
  readonly srpId: bigint
  /** g^a mod p, 256 bytes. */
  readonly A: Uint8Array
  readonly M1: Uint8Array
}

const PBKDF2_ITERATIONS = 100000
const PBKDF2_BYTES = 64
const NUMBER_BYTES = 256
/** TDLib accepts srp_B between 248 and 256 bytes and left-pads it ([TD] PasswordManager). */
const SRP_B_MIN_BYTES = 248
/** Random bytes appended to salt1 for a new password (docs/protocol.md#2fa-and-srp). */
const NEW_SALT_BYTES = 32

/** SH(data, salt) = SHA256(salt ‖ data ‖ salt). */
function saltedHash(data: Uint8Array, salt: Uint8Array): Uint8Array {
  return sha256(salt, data, salt)
}

function passwordBytes(password: string | Uint8Array): Uint8Array {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password
}

/** PH1 = SH(SH(password, salt1), salt2): the cheap first half of the password hash. */
export function srpPrehash(password: string | Uint8Array, salt1: Uint8Array, salt2: Uint8Array): Uint8Array {
  return saltedHash(saltedHash(passwordBytes(password), salt1), salt2)
}

/** PBKDF2-HMAC-SHA512(ph1, salt1, 100000, 64 B): the slow step, separate so it can run elsewhere. */
export function srpPbkdf2(ph1: Uint8Array, salt1: Uint8Array): Uint8Array {
  return pbkdf2Sync(ph1, salt1, PBKDF2_ITERATIONS, PBKDF2_BYTES, 'sha512')
}

/** srpPbkdf2 on libuv's thread pool. */
export function srpPbkdf2Async(ph1: Uint8Array, salt1: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pbkdf2(ph1, salt1, PBKDF2_ITERATIONS, PBKDF2_BYTES, 'sha512', (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** x = PH2 = SH(PBKDF2(PH1), salt2), 32 bytes. */
export function srpPasswordHash(password: string | Uint8Array, algo: Pick<SrpAlgo, 'salt1' | 'salt2'>): Uint8Array {
  return saltedHash(srpPbkdf2(srpPrehash(password, algo.salt1, algo.salt2), algo.salt1), algo.salt2)
}

/** srpPasswordHash with the PBKDF2 step off the event loop. */
export async function srpPasswordHashAsync(
  password: string | Uint8Array,
  algo: Pick<SrpAlgo, 'salt1' | 'salt2'>,
): Promise<Uint8Array> {
  return saltedHash(await srpPbkdf2Async(srpPrehash(password, algo.salt1, algo.salt2), algo.salt1), algo.salt2)
}

function pad256(value: bigint): Uint8Array {
  return bigIntToBytes(value, NUMBER_BYTES)
}

/** k = H(p ‖ g_256). */
function multiplier(algo: SrpAlgo): bigint {
  return bigIntFromBytes(sha256(algo.p, pad256(BigInt(algo.g))))
}

/** M1 = H(H(p) XOR H(g_256) ‖ H(salt1) ‖ H(salt2) ‖ g_a ‖ g_b ‖ k_a). */
function proof(algo: SrpAlgo, gA: Uint8Array, gB: Uint8Array, kA: Uint8Array): Uint8Array {
  const pg = xorBytes(sha256(algo.p), sha256(pad256(BigInt(algo.g))))
  return sha256(pg, sha256(algo.salt1), sha256(algo.salt2), gA, gB, kA)
}

export interface SrpClientInput {
  readonly algo: SrpAlgo
  /** srp_B from account.password (248..256 bytes). */
  readonly srpB: Uint8Array
  readonly srpId: bigint
  /** x from srpPasswordHash(Async). */
  readonly passwordHash: Uint8Array
}

/**
 * The client's inputCheckPasswordSRP values, after every check of docs/protocol.md#2fa-and-srp (SecurityCheckError).
 * `a` (256 bytes) is injectable for vectors; it is random otherwise.
 */
export function computeSrpCheck(input: SrpClientInput, a?: Uint8Array, random: RandomSource = randomBytes): SrpCheck {
  const { algo, srpB } = input
  checkDhParams(algo.p, algo.g)
  const group = DhGroup.of(algo.p, algo.g)
  const p = group.p
  if (srpB.length < SRP_B_MIN_BYTES || srpB.length > NUMBER_BYTES)
    throw new SecurityCheckError('srp_b_length', `${srpB.length} bytes`)
  const gBValue = bigIntFromBytes(srpB)
  if (gBValue <= 0n || gBValue >= p) throw new SecurityCheckError('srp_b_range')
  try {
    checkDhValue(gBValue, p)
  } catch {
    throw new SecurityCheckError('srp_b_range', 'outside (2^1984, p − 2^1984)')
  }
  const gB = pad256(gBValue)
  const x = bigIntFromBytes(input.passwordHash)
  const kv = (multiplier(algo) * bigIntFromBytes(group.powG(x))) % p
  const t = (((gBValue - kv) % p) + p) % p
  for (;;) {
    const secret = a ?? random(NUMBER_BYTES)
    const gA = group.powG(secret)
    try {
      checkDhValue(gA, p)
    } catch (err) {
      if (a !== undefined) throw err
      continue // a random a this unlucky has probability ~2^-64: draw again
    }
    const u = bigIntFromBytes(sha256(gA, gB))
    const sA = group.pow(t, bigIntFromBytes(secret) + u * x)
    return { srpId: input.srpId, A: gA, M1: proof(algo, gA, gB, sha256(sA)) }
  }
}

/** salt1 for a new password: salt1 ‖ 32 random bytes (docs/protocol.md#2fa-and-srp). */
export function srpNewSalt1(salt1: Uint8Array, random: RandomSource = randomBytes): Uint8Array {
  return concatBytes(salt1, random(NEW_SALT_BYTES))
}

/** The verifier v = g^x mod p (256 bytes): the "new password hash" a client sends, and what a server stores. */
export function srpVerifier(algo: SrpAlgo, passwordHash: Uint8Array): Uint8Array {
  return DhGroup.of(algo.p, algo.g).powG(passwordHash)
}

export interface SrpServerChallenge {
  /** The server's secret b (256 bytes); keep it with the srp_id until the client answers. */
  readonly b: Uint8Array
  /** srp_B = (k·v + g^b) mod p, 256 bytes. */
  readonly gB: Uint8Array
}

/** Server side: a fresh srp_B for account.getPassword. `b` is injectable for tests. */
export function srpServerChallenge(
  algo: SrpAlgo,
  verifier: Uint8Array,
  b?: Uint8Array,
  random: RandomSource = randomBytes,
): SrpServerChallenge {
  const group = DhGroup.of(algo.p, algo.g)
  const kv = (multiplier(algo) * bigIntFromBytes(verifier)) % group.p
  for (;;) {
    const secret = b ?? random(NUMBER_BYTES)
    const gBValue = (kv + bigIntFromBytes(group.powG(secret))) % group.p
    try {
      checkDhValue(gBValue, group.p) // clients reject srp_B outside this range
    } catch (err) {
      if (b !== undefined) throw err
      continue
    }
    return { b: secret, gB: pad256(gBValue) }
  }
}

/** Server side: whether the client's M1 proves the password behind `verifier` (false for a malformed A). */
export function srpVerifyClient(
  algo: SrpAlgo,
  verifier: Uint8Array,
  challenge: SrpServerChallenge,
  A: Uint8Array,
  M1: Uint8Array,
): boolean {
  const group = DhGroup.of(algo.p, algo.g)
  const gAValue = bigIntFromBytes(A)
  if (A.length > NUMBER_BYTES || gAValue <= 1n || gAValue >= group.p - 1n) return false
  const gA = pad256(gAValue)
  const u = bigIntFromBytes(sha256(gA, challenge.gB))
  // s_b = (g_a · v^u)^b mod p
  const base = (gAValue * bigIntFromBytes(group.pow(verifier, u))) % group.p
  const sB = group.pow(base, challenge.b)
  return bytesEqual(proof(algo, gA, challenge.gB, sha256(sB)), M1)
}
