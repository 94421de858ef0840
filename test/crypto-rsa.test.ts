import assert from 'node:assert/strict'
import { createPublicKey, randomBytes } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { bigIntFromBytes, bigIntToBytes } from '../src/mtproto/crypto/bytes.ts'
import type { RandomSource } from '../src/mtproto/crypto/random.ts'
import {
  generateRsaKeyPair,
  parseRsaPrivateKey,
  parseRsaPublicKey,
  pickRsaKey,
  rsaFingerprint,
  rsaKeyTable,
  rsaPublicKeyToPem,
  telegramRsaKeys,
  type RsaPrivateKey,
} from '../src/mtproto/crypto/rsa-keys.ts'
import {
  rsaDecryptOldScheme,
  rsaEncryptOldScheme,
  rsaPadDecrypt,
  rsaPadEncrypt,
  rsaPadKeyAesEncrypted,
  rsaPrivateRaw,
  rsaPublicRaw,
} from '../src/mtproto/crypto/rsa-pad.ts'
import { SecurityCheckError } from '../src/mtproto/crypto/security-check-error.ts'
import { capture, pemBlocks, readVectorText, toHex, VectorFile } from './crypto-vectors.ts'

const keysText = readVectorText('rsa-keys.txt')
const sample = VectorFile.read('auth_key_sample.txt')
const derived = VectorFile.read('rsa_pad_derived.txt')

/**
 * Fingerprints of the keys in rsa-keys.txt, in file order, as published next to the keys by their
 * sources: tdesktop (test key 0xb25898df208d2603, production 0xd09d1d85de64fd85), DrKLO/Telegram
 * Handshake.cpp and Pyrogram's rsa.py (the old keys); 0x0bc35f3509f7b7a5 and 0xc3b42b026ce86b21 also
 * appear in the official sample's resPQ.
 */
const EXPECTED_FINGERPRINTS = [
  0xb25898df208d2603n,
  0xd09d1d85de64fd85n,
  0x0bc35f3509f7b7a5n,
  0x15ae5fa8b5529542n,
  0xaeae98e13cd7f94fn,
  0x5a181b2235057d98n,
  0xc3b42b026ce86b21n,
  0x9a996a1db11c729bn,
  0xb05b2a6f70cdea78n,
  0x71e025b6c76033e3n,
].map((f) => BigInt.asIntN(64, f))

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n
  for (let b = base % modulus, e = exponent; e > 0n; e >>= 1n, b = (b * b) % modulus)
    if (e & 1n) result = (result * b) % modulus
  return result
}

/** A RandomSource that hands out the given arrays in order and fails when a length does not match. */
function scripted(...chunks: Uint8Array[]): RandomSource & { left: () => number } {
  const queue = [...chunks]
  const source = (length: number): Uint8Array => {
    const next = queue.shift()
    assert.ok(next, 'random source exhausted')
    assert.equal(next.length, length, 'unexpected random request size')
    return next
  }
  return Object.assign(source, { left: () => queue.length })
}

describe('RSA keys', () => {
  const pems = pemBlocks(keysText)

  it('computes the fingerprint of every key in rsa-keys.txt', () => {
    assert.equal(pems.length, 10)
    assert.deepEqual(
      pems.map((pem) => parseRsaPublicKey(pem).fingerprint),
      EXPECTED_FINGERPRINTS,
    )
  })

  it('ships the same keys, test key and current production key first', () => {
    const builtIn = telegramRsaKeys()
    assert.deepEqual(
      builtIn.map((k) => k.n),
      pems.map((pem) => parseRsaPublicKey(pem).n),
    )
    assert.deepEqual(
      builtIn.map((k) => [k.dc, k.legacy]),
      [['test', false], ['production', false], ...Array.from({ length: 8 }, () => ['production', true])],
    )
    assert.equal(rsaKeyTable('test').get(BigInt.asIntN(64, 0xb25898df208d2603n))?.dc, 'test')
    const prod = rsaKeyTable('production')
    assert.equal(prod.size, 9)
    assert.equal(prod.get(-3414540481677951611n)?.legacy, false) // docs/protocol.md#key-exchange: the sample's chosen key
  })

  it('picks the current production key from the sample resPQ fingerprints', () => {
    const line = capture(sample.text, /fingerprints \(LE bytes\) = ([0-9A-F, ]+)/)
    const offered = line.split(', ').map((h) => Buffer.from(h, 'hex').readBigInt64LE())
    const key = pickRsaKey(offered, rsaKeyTable('production').values())
    assert.equal(key?.fingerprint, BigInt.asIntN(64, 0xd09d1d85de64fd85n))
    // unsigned forms work as well; nothing offered → undefined
    assert.equal(pickRsaKey([0xd09d1d85de64fd85n], telegramRsaKeys())?.legacy, false)
    assert.equal(pickRsaKey([1n, 2n], telegramRsaKeys()), undefined)
  })

  it('parses PKCS#1 and SPKI, PEM and DER, to the same key', () => {
    const pem = pems[1]
    const ko = createPublicKey(pem)
    const forms: (string | Uint8Array)[] = [
      pem,
      ko.export({ format: 'pem', type: 'spki' }).toString(),
      ko.export({ format: 'der', type: 'pkcs1' }),
      ko.export({ format: 'der', type: 'spki' }),
    ]
    for (const form of forms) {
      const key = parseRsaPublicKey(form)
      assert.equal(key.fingerprint, EXPECTED_FINGERPRINTS[1])
      assert.equal(key.e, 65537n)
      assert.equal(key.size, 256)
    }
    assert.equal(toHex(bigIntToBytes(parseRsaPublicKey(pem).n, 256)), derived.raw('modulus').toLowerCase())
  })

  it('computes a fingerprint from n and e directly', () => {
    const key = parseRsaPublicKey(pems[0])
    assert.equal(rsaFingerprint(key.n, key.e), EXPECTED_FINGERPRINTS[0])
  })
})

describe('RSA operations', () => {
  let pair: RsaPrivateKey
  before(() => {
    pair = generateRsaKeyPair()
  })

  it('generates a 2048-bit pair with consistent n, e, d', () => {
    assert.equal(pair.size, 256)
    assert.equal(pair.e, 65537n)
    const m = 0x1234567890abcdefn
    assert.equal(modPow(modPow(m, pair.e, pair.n), pair.d, pair.n), m)
    const again = parseRsaPublicKey(rsaPublicKeyToPem(pair))
    assert.equal(again.fingerprint, pair.fingerprint)
    const exported = pair.keyObject.export({ format: 'pem', type: 'pkcs1' }).toString()
    assert.equal(parseRsaPrivateKey(exported).d, pair.d)
  })

  it('raw public and private operations agree with bigint modpow', () => {
    const prod = rsaKeyTable('production').get(EXPECTED_FINGERPRINTS[1])
    assert.ok(prod)
    const x = new Uint8Array(randomBytes(256))
    x[0] = 0x12
    assert.equal(toHex(rsaPublicRaw(prod, x)), toHex(bigIntToBytes(modPow(bigIntFromBytes(x), prod.e, prod.n), 256)))
    const y = rsaPublicRaw(pair, x)
    assert.equal(toHex(rsaPrivateRaw(pair, y)), toHex(x))
    const tooBig = bigIntToBytes(prod.n, 256)
    assert.throws(
      () => rsaPublicRaw(prod, tooBig),
      (e: unknown) => e instanceof SecurityCheckError && e.check === 'rsa_input_range',
    )
  })

  it('RSA_PAD derived vector: temp_key_xor, aes_encrypted and encrypted_data', () => {
    const key = rsaKeyTable('production').get(EXPECTED_FINGERPRINTS[1])
    assert.ok(key)
    const data = sample.bytes('data')
    const padding = sample.bytes('random_padding_bytes')
    assert.equal(data.length, 100)
    assert.equal(padding.length, 92)
    const tempKey = Uint8Array.from({ length: 32 }, (_, i) => i)
    const keyAes = rsaPadKeyAesEncrypted(Buffer.concat([data, padding]), tempKey)
    assert.equal(toHex(keyAes.subarray(0, 32)), derived.raw('temp_key_xor').toLowerCase())
    assert.equal(toHex(keyAes.subarray(32)), derived.raw('aes_encrypted').toLowerCase())
    const random = scripted(padding, tempKey)
    assert.equal(toHex(rsaPadEncrypt(data, key, random)), derived.raw('encrypted_data').toLowerCase())
    assert.equal(random.left(), 0)
  })

  it('server-side inverse round-trips and rejects a tampered message', () => {
    const data = new Uint8Array(randomBytes(100))
    const encrypted = rsaPadEncrypt(data, pair)
    const opened = rsaPadDecrypt(encrypted, pair)
    assert.equal(opened.length, 192)
    assert.equal(toHex(opened.subarray(0, 100)), toHex(data))
    const tampered = Uint8Array.from(encrypted)
    tampered[200] ^= 1
    assert.throws(
      () => rsaPadDecrypt(tampered, pair),
      (e: unknown) => e instanceof SecurityCheckError && e.check === 'rsa_pad_hash',
    )
  })

  it('draws a new temp_key when key_aes_encrypted ≥ n', () => {
    const data = new Uint8Array(randomBytes(144))
    const padding = new Uint8Array(randomBytes(48))
    let bad: Uint8Array | undefined
    let good: Uint8Array | undefined
    for (let i = 0; (bad === undefined || good === undefined) && i < 10000; i++) {
      const candidate = new Uint8Array(randomBytes(32))
      if (bigIntFromBytes(rsaPadKeyAesEncrypted(Buffer.concat([data, padding]), candidate)) >= pair.n) bad ??= candidate
      else good ??= candidate
    }
    assert.ok(bad && good, 'no temp_keys on both sides of n found')
    const random = scripted(padding, bad, good)
    const encrypted = rsaPadEncrypt(data, pair, random)
    assert.equal(random.left(), 0)
    assert.equal(toHex(rsaPadDecrypt(encrypted, pair)), toHex(Buffer.concat([data, padding])))
  })

  it('refuses more than 144 bytes of data', () => {
    assert.throws(
      () => rsaPadEncrypt(new Uint8Array(145), pair),
      (e: unknown) => e instanceof SecurityCheckError && e.check === 'rsa_data_length',
    )
  })

  it('old scheme round-trips and checks the SHA1', () => {
    const data = new Uint8Array(randomBytes(96))
    const encrypted = rsaEncryptOldScheme(data, pair)
    assert.equal(toHex(rsaDecryptOldScheme(encrypted, pair, () => 96)), toHex(data))
    assert.throws(
      () => rsaDecryptOldScheme(encrypted, pair, () => 95),
      (e: unknown) => e instanceof SecurityCheckError && e.check === 'rsa_old_hash',
    )
  })
})
