// The official auth-key sample (docs/protocol.md#key-exchange, test/fixtures/vectors/auth_key_sample.txt), the DH checks and pq factorisation.
import assert from 'node:assert/strict'
import { checkPrimeSync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { AesIgeCipher } from '../src/mtproto/crypto/aes-ige.ts'
import {
  AuthKey,
  buildAnswerWithHash,
  initialServerSalt,
  newNonceHash,
  tmpAesKeyIv,
  verifyAnswerWithHash,
} from '../src/mtproto/crypto/auth-key.ts'
import { bigIntFromBytes, bigIntToBytes } from '../src/mtproto/crypto/bytes.ts'
import {
  checkDhParams,
  checkDhValue,
  DhGroup,
  isSafePrime,
  SecurityCheckError,
  TELEGRAM_DH_PRIME,
} from '../src/mtproto/crypto/dh.ts'
import { factorizePq } from '../src/mtproto/crypto/factorize.ts'
import { sha1 } from '../src/mtproto/crypto/hashes.ts'
import { toHex, VectorFile } from './crypto-vectors.ts'

const v = VectorFile.read('auth_key_sample.txt')
const lower = (name: string, index = 0): string => v.raw(name, index).toLowerCase()

const nonce = v.bytes('nonce')
const serverNonce = v.bytes('server_nonce')
const newNonce = v.bytes('new_nonce')
const dhPrime = v.bytes('dh_prime')

function securityError(check: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof SecurityCheckError && e.check === check
}

describe('official auth-key sample', () => {
  it('factorises pq into the published p and q', () => {
    const pqTl = v.bytes('pq') // TL bytes: length 8, then the number
    assert.equal(pqTl[0], 8)
    const f = factorizePq(pqTl.subarray(1, 9))
    assert.equal(f.p, 1008949199n)
    assert.equal(f.q, 1455403679n)
    assert.equal(toHex(f.pBytes), '3c2357cf')
    assert.equal(toHex(f.qBytes), '56bfb29f')
  })

  it('derives tmp_aes_key and tmp_aes_iv', () => {
    const { key, iv } = tmpAesKeyIv(serverNonce, newNonce)
    assert.equal(toHex(key), lower('tmp_aes_key'))
    assert.equal(toHex(iv), lower('tmp_aes_iv'))
  })

  it('decrypts encrypted_answer into answer_with_hash and verifies its SHA1', () => {
    const { key, iv } = tmpAesKeyIv(serverNonce, newNonce)
    const encrypted = v.bytes('encrypted_answer', 1)
    assert.equal(encrypted.length, 592)
    const decrypted = new AesIgeCipher(key).decrypt(encrypted, iv)
    assert.equal(toHex(decrypted), lower('answer_with_hash'))
    const answer = verifyAnswerWithHash(decrypted, 564)
    assert.equal(answer.length, 564)
    assert.equal(toHex(answer.subarray(0, 4)), 'ba0d89b5') // server_DH_inner_data constructor
    assert.equal(toHex(verifyAnswerWithHash(decrypted)), toHex(answer)) // length found by trying paddings
  })

  it('rejects a bad answer_with_hash', () => {
    const { key, iv } = tmpAesKeyIv(serverNonce, newNonce)
    const decrypted = new AesIgeCipher(key).decrypt(v.bytes('encrypted_answer', 1), iv)
    assert.throws(() => verifyAnswerWithHash(decrypted, 564 - 16), securityError('answer_padding')) // 24 bytes of "padding"
    assert.throws(() => verifyAnswerWithHash(decrypted, 560), securityError('answer_hash'))
    assert.throws(() => verifyAnswerWithHash(decrypted.subarray(0, 584), 564), securityError('answer_length'))
    const corrupted = Uint8Array.from(decrypted)
    corrupted[100] ^= 0x40
    assert.throws(() => verifyAnswerWithHash(corrupted), securityError('answer_hash'))
  })

  it('computes g_b = 3^b mod dh_prime', () => {
    const group = DhGroup.of(dhPrime, 3)
    assert.equal(toHex(group.powG(v.bytes('b'))), lower('g_b'))
  })

  it('builds the client encrypted_data (336 B) from the given padding', () => {
    const clientData = v.bytes('client_DH_inner_data#6643b654')
    assert.equal(toHex(clientData.subarray(0, 4)), '54b64366')
    const padding = v.bytes('padding')
    const dataWithHash = buildAnswerWithHash(clientData, (n) => {
      assert.equal(n, padding.length)
      return padding
    })
    assert.equal(toHex(dataWithHash.subarray(0, 20)), toHex(sha1(clientData)))
    const { key, iv } = tmpAesKeyIv(serverNonce, newNonce)
    const encrypted = new AesIgeCipher(key).encrypt(dataWithHash, iv)
    assert.equal(encrypted.length, 336)
    assert.equal(toHex(encrypted), lower('encrypted_data', 1))
  })

  it('computes auth_key = g_a^b mod dh_prime, its id, aux hash, new_nonce_hash1 and the first salt', () => {
    const group = DhGroup.of(dhPrime, 3)
    const authKeyBytes = group.pow(v.bytes('g_a'), v.bytes('b'))
    assert.equal(toHex(authKeyBytes), lower('auth_key'))
    const authKey = new AuthKey(authKeyBytes)
    assert.equal(toHex(authKey.id), lower('auth_key_id_bytes'))
    assert.equal(toHex(authKey.auxHash), lower('auth_key_aux_hash'))
    assert.equal(toHex(newNonceHash(newNonce, authKey.auxHash, 1)), lower('new_nonce_hash1'))
    assert.equal(toHex(initialServerSalt(newNonce, serverNonce)), lower('initial_server_salt_bytes'))
    // the dh_gen_ok packet: … nonce ‖ server_nonce ‖ new_nonce_hash1
    const packet = v.bytes('packet')
    assert.equal(toHex(packet.subarray(packet.length - 48, packet.length - 32)), toHex(nonce))
    assert.equal(toHex(packet.subarray(packet.length - 16)), toHex(newNonceHash(newNonce, authKey.auxHash, 1)))
  })

  it('new_nonce_hash2/3 use the other markers', () => {
    const aux = v.bytes('auth_key_aux_hash')
    assert.equal(toHex(newNonceHash(newNonce, aux, 2)), toHex(sha1(newNonce, Uint8Array.of(2), aux).subarray(4)))
    assert.notEqual(toHex(newNonceHash(newNonce, aux, 3)), toHex(newNonceHash(newNonce, aux, 1)))
  })
})

describe('DH checks (docs/protocol.md#security-checks)', () => {
  const p = bigIntFromBytes(TELEGRAM_DH_PRIME)

  it('accepts the sample prime with g = 3 and its g_a, g_b', () => {
    assert.equal(toHex(TELEGRAM_DH_PRIME), toHex(dhPrime))
    checkDhParams(dhPrime, 3)
    checkDhValue(v.bytes('g_a'), dhPrime)
    checkDhValue(v.bytes('g_b'), dhPrime)
  })

  it('applies the g residue rule for g = 2..7 (p mod 24 = 11)', () => {
    assert.equal(p % 24n, 11n)
    const expected: Record<number, boolean> = {
      2: p % 8n === 7n,
      3: p % 3n === 2n,
      4: true,
      5: [1n, 4n].includes(p % 5n),
      6: [19n, 23n].includes(p % 24n),
      7: [3n, 5n, 6n].includes(p % 7n),
    }
    assert.deepEqual([expected[2], expected[3], expected[4], expected[6]], [false, true, true, false])
    for (let g = 2; g <= 7; g++) {
      if (expected[g]) checkDhParams(dhPrime, g)
      else assert.throws(() => checkDhParams(dhPrime, g), securityError('dh_g_residue'), `g = ${g}`)
    }
  })

  it('applies the residue rule to every class mod 840 (= lcm of 8, 3, 5, 7, 24)', () => {
    // 2048-bit odd numbers in each class: the rule runs before the (failing) safe-prime test,
    // so a pass shows up as dh_prime_not_safe and a violation as dh_g_residue
    const base = (1n << 2047n) + 840n * 123456789n
    const rule: Record<number, (q: bigint) => boolean> = {
      2: (q) => q % 8n === 7n,
      3: (q) => q % 3n === 2n,
      4: () => true,
      5: (q) => q % 5n === 1n || q % 5n === 4n,
      6: (q) => q % 24n === 19n || q % 24n === 23n,
      7: (q) => q % 7n === 3n || q % 7n === 5n || q % 7n === 6n,
    }
    for (let r = 1n; r < 840n; r += 2n) {
      const q = base - (base % 840n) + r
      const bytes = bigIntToBytes(q, 256)
      for (let g = 2; g <= 7; g++) {
        const check = rule[g](q) ? 'dh_prime_not_safe' : 'dh_g_residue'
        assert.throws(() => checkDhParams(bytes, g), securityError(check), `g = ${g}, q mod 840 = ${r}`)
      }
    }
  })

  it('rejects g outside 2..7', () => {
    for (const g of [0, 1, 8, 2.5]) assert.throws(() => checkDhParams(dhPrime, g), securityError('dh_g_range'))
  })

  it('rejects a prime of the wrong size', () => {
    assert.throws(() => checkDhParams(dhPrime.subarray(1), 3), securityError('dh_prime_size'))
    const small = Uint8Array.from(dhPrime)
    small[0] &= 0x7f // 2047 bits
    assert.throws(() => checkDhParams(small, 3), securityError('dh_prime_size'))
  })

  it('rejects a modulus that is not a safe prime', () => {
    const composite = bigIntToBytes(p + 2n, 256) // (p + 1)/2 is even, so p + 2 is never a safe prime
    assert.throws(() => checkDhParams(composite, 4), securityError('dh_prime_not_safe'))
    // a prime that is not safe: the first prime above p whose (q − 1)/2 is composite
    let q = p + 2n
    while (!(checkPrimeSync(q) && !checkPrimeSync((q - 1n) / 2n))) q += 2n
    assert.equal(isSafePrime(q), false)
    assert.throws(() => checkDhParams(bigIntToBytes(q, 256), 4), securityError('dh_prime_not_safe'))
  })

  it('rejects g_a / g_b outside (2^1984, p − 2^1984)', () => {
    const margin = 1n << 1984n
    for (const bad of [0n, 1n, 2n, margin, p - margin, p - 1n, p, p + 5n]) {
      assert.throws(
        () => checkDhValue(bad, p),
        securityError('dh_value_range'),
        `value ${bad.toString(16).slice(0, 8)}`,
      )
    }
    checkDhValue(margin + 1n, p)
    checkDhValue(p - margin - 1n, p)
  })

  it('modular powers agree with bigint, including the edge bases the native path refuses', () => {
    const group = DhGroup.of(TELEGRAM_DH_PRIME, 3)
    const e = bigIntFromBytes(randomBytes(300)) // longer than p: reduced mod p − 1
    const modPow = (b: bigint, x: bigint): bigint => {
      let r = 1n
      for (let bb = b % p, ee = x; ee > 0n; ee >>= 1n, bb = (bb * bb) % p) if (ee & 1n) r = (r * bb) % p
      return r
    }
    assert.equal(bigIntFromBytes(group.powG(e)), modPow(3n, e))
    const base = bigIntFromBytes(randomBytes(255))
    assert.equal(bigIntFromBytes(group.pow(base, e)), modPow(base, e))
    assert.equal(bigIntFromBytes(group.pow(p - 1n, 3n)), p - 1n)
    assert.equal(bigIntFromBytes(group.pow(1n, e)), 1n)
    assert.equal(bigIntFromBytes(group.powG(0n)), 1n)
    assert.equal(bigIntFromBytes(group.powG(p - 1n)), 1n) // Fermat, via the reduction
    assert.equal(group.pow(base, 5n).length, 256)
  })
})

describe('pq factorisation', () => {
  it('splits random products of two 31/32-bit primes', () => {
    const prime = (bits: number): bigint => {
      for (;;) {
        const x = (bigIntFromBytes(randomBytes(4)) >> BigInt(32 - bits)) | (1n << BigInt(bits - 1)) | 1n
        if (checkPrimeSync(x)) return x
      }
    }
    for (let i = 0; i < 40; i++) {
      const a = prime(31)
      const b = prime(31 + (i & 1))
      const f = factorizePq(a * b)
      assert.equal(f.p * f.q, a * b)
      assert.equal(f.p, a < b ? a : b)
      assert.ok(f.p <= f.q)
      assert.equal(bigIntFromBytes(f.pBytes), f.p)
    }
  })

  it('splits small and special composites', () => {
    for (const [n, p] of [
      [15n, 3n],
      [4n, 2n],
      [49n, 7n],
      [1000003n * 1000033n, 1000003n],
      [(2n ** 31n - 1n) * (2n ** 31n - 1n), 2n ** 31n - 1n],
    ] as const) {
      assert.equal(factorizePq(n).p, p)
    }
  })

  it('refuses a prime or an out-of-range pq', () => {
    assert.throws(() => factorizePq(1000000007n), securityError('pq_factorization'))
    assert.throws(() => factorizePq(1n << 64n), securityError('pq_factorization'))
    assert.throws(() => factorizePq(3n), securityError('pq_factorization'))
  })
})
