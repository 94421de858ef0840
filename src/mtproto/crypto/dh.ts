// Diffie–Hellman modulo Telegram's 2048-bit safe prime: modular exponentiation and the checks of docs/protocol.md#security-checks.
// Measured (Node 20, 2 vCPU EPYC; 2048-bit base, exponent and modulus): node DiffieHellman object
// (setPrivateKey + generateKeys / computeSecret) 2.4 ms; bigint square-and-multiply 19.4 ms; an RSA
// public KeyObject with n = p, e = exponent (publicEncrypt, RSA_NO_PADDING) 2.3 ms but not constant-time.
// The DiffieHellman object is constant-time, but its constructor runs OpenSSL's DH_check (~300 ms),
// so there is one per (prime, g), built on first use and cached.
// Safe-prime test: node checkPrimeSync (OpenSSL Miller–Rabin, 15 rounds) 172 ms for p + 139 ms for
// (p−1)/2; a bigint Miller–Rabin round is one 19 ms modpow (~580 ms for both). Known primes are cached.

import { checkPrimeSync, createDiffieHellman, type DiffieHellman } from 'node:crypto'
import { bigIntFromBytes, bigIntToBytes, byteLengthOf, leftPadBytes } from './bytes.ts'
import { SecurityCheckError } from './security-check-error.ts'

export { SecurityCheckError }

/** The prime Telegram's servers send (docs/protocol.md#key-exchange, [AK], [SEC]); a safe prime with p mod 24 = 11. */
export const TELEGRAM_DH_PRIME: Uint8Array = Buffer.from(
  'C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B',
  'hex',
)

const PRIME_BYTES = 256
/** Miller–Rabin rounds for a prime we have not seen; docs/protocol.md#security-checks calls 15 acceptable. */
const PRIME_CHECK_ROUNDS = 15
/** Bound on the caches of verified primes and DH objects (a server has one prime in practice). */
const CACHE_LIMIT = 16
/** g_a, g_b must lie in (2^1984, p − 2^1984) ([SEC]). */
const RANGE_MARGIN = 1n << 1984n

const KNOWN_SAFE_PRIME = Buffer.from(TELEGRAM_DH_PRIME).toString('hex')
/** Other primes that passed the test (bounded; the known prime is never evicted). */
const safePrimes = new Set<string>()

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')
}

function remember<T>(cache: Set<T>, value: T): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.values().next().value as T)
  cache.add(value)
}

/** Whether p is a safe prime (p and (p−1)/2 prime); cached, so a known prime costs a Set lookup. */
export function isSafePrime(p: bigint): boolean {
  const key = p.toString(16).padStart(PRIME_BYTES * 2, '0')
  if (key === KNOWN_SAFE_PRIME || safePrimes.has(key)) return true
  const safe =
    checkPrimeSync((p - 1n) >> 1n, { checks: PRIME_CHECK_ROUNDS }) && checkPrimeSync(p, { checks: PRIME_CHECK_ROUNDS })
  if (safe) remember(safePrimes, key)
  return safe
}

/** Whether g generates a subgroup of order (p−1)/2 (the residue rule, docs/protocol.md#security-checks), for g in 2..7. */
function gResidueOk(p: bigint, g: number): boolean {
  switch (g) {
    case 2:
      return p % 8n === 7n
    case 3:
      return p % 3n === 2n
    case 4:
      return true
    case 5: {
      const r = p % 5n
      return r === 1n || r === 4n
    }
    case 6: {
      const r = p % 24n
      return r === 19n || r === 23n
    }
    case 7: {
      const r = p % 7n
      return r === 3n || r === 5n || r === 6n
    }
    default:
      return false
  }
}

/**
 * docs/protocol.md#security-checks: checks of server-sent DH parameters: 2^2047 < p < 2^2048, g in 2..7 with the residue
 * rule, p a safe prime (checked last: it is the slow one). Throws SecurityCheckError.
 */
export function checkDhParams(prime: Uint8Array, g: number): void {
  if (prime.length !== PRIME_BYTES || (prime[0] & 0x80) === 0) throw new SecurityCheckError('dh_prime_size')
  if (!Number.isInteger(g) || g < 2 || g > 7) throw new SecurityCheckError('dh_g_range', `g = ${g}`)
  const p = bigIntFromBytes(prime)
  if (!gResidueOk(p, g)) throw new SecurityCheckError('dh_g_residue', `g = ${g}`)
  if (!isSafePrime(p)) throw new SecurityCheckError('dh_prime_not_safe')
}

/** 1 < x < p − 1 and 2^1984 < x < p − 2^1984, for g_a and g_b. Throws SecurityCheckError. */
export function checkDhValue(value: Uint8Array | bigint, prime: Uint8Array | bigint): void {
  const x = typeof value === 'bigint' ? value : bigIntFromBytes(value)
  const p = typeof prime === 'bigint' ? prime : bigIntFromBytes(prime)
  if (!(x > 1n && x < p - 1n && x > RANGE_MARGIN && x < p - RANGE_MARGIN))
    throw new SecurityCheckError('dh_value_range')
}

function modPowBigInt(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n
  base %= modulus
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % modulus
    base = (base * base) % modulus
  }
  return result
}

/**
 * Exponentiation modulo one DH prime. Use `DhGroup.of` to share the cached native object.
 * Parameters are not checked here: run checkDhParams on anything a peer sent.
 */
export class DhGroup {
  private static readonly groups = new Map<string, DhGroup>()

  readonly prime: Uint8Array
  readonly p: bigint
  readonly g: number
  private native: DiffieHellman | undefined

  private constructor(prime: Uint8Array, g: number) {
    this.prime = Uint8Array.from(prime)
    this.p = bigIntFromBytes(prime)
    this.g = g
  }

  /** The cached group for (prime, g). */
  static of(prime: Uint8Array, g: number): DhGroup {
    const key = `${g}:${hexOf(prime)}`
    let group = DhGroup.groups.get(key)
    if (group === undefined) {
      if (DhGroup.groups.size >= CACHE_LIMIT) DhGroup.groups.delete(DhGroup.groups.keys().next().value as string)
      group = new DhGroup(prime, g)
      DhGroup.groups.set(key, group)
    }
    return group
  }

  private dh(): DiffieHellman {
    this.native ??= createDiffieHellman(Buffer.from(this.prime), this.g)
    return this.native
  }

  /** g^exponent mod p as 256 big-endian bytes. */
  powG(exponent: Uint8Array | bigint): Uint8Array {
    const e = this.reduce(exponent)
    if (e === undefined) return bigIntToBytes(1n, PRIME_BYTES)
    const dh = this.dh()
    dh.setPrivateKey(e)
    // With a private key set, generateKeys only computes the public value — without leading zero bytes (1 time in
    // 256 it is shorter than 256 B). SRP hashes the padded form, so pad it, or a correct password fails.
    return leftPadBytes(dh.generateKeys(), PRIME_BYTES)
  }

  /** base^exponent mod p as 256 big-endian bytes. */
  pow(base: Uint8Array | bigint, exponent: Uint8Array | bigint): Uint8Array {
    const b = typeof base === 'bigint' ? base : bigIntFromBytes(base)
    // OpenSSL refuses bases outside (1, p−1) as "public keys": those few cases go to bigint
    if (b <= 1n || b >= this.p - 1n) {
      const e = typeof exponent === 'bigint' ? exponent : bigIntFromBytes(exponent)
      return bigIntToBytes(modPowBigInt(b, e, this.p), PRIME_BYTES)
    }
    const e = this.reduce(exponent)
    if (e === undefined) return bigIntToBytes(1n, PRIME_BYTES)
    const dh = this.dh()
    dh.setPrivateKey(e)
    return leftPadBytes(dh.computeSecret(bigIntToBytes(b, PRIME_BYTES)), PRIME_BYTES)
  }

  /**
   * The exponent as bytes for OpenSSL, reduced mod p − 1 when longer than p (the group order
   * divides p − 1, so the result is the same); undefined for an exponent ≡ 0 (the power is 1).
   */
  private reduce(exponent: Uint8Array | bigint): Uint8Array | undefined {
    if (typeof exponent !== 'bigint' && exponent.length <= PRIME_BYTES) {
      return exponent.some((v) => v !== 0) ? exponent : undefined
    }
    let e = typeof exponent === 'bigint' ? exponent : bigIntFromBytes(exponent)
    if (e >= this.p - 1n) e %= this.p - 1n
    return e === 0n ? undefined : bigIntToBytes(e, byteLengthOf(e))
  }
}
