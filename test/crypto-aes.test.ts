import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { AesBlockCipher } from '../src/mtproto/crypto/aes-block.ts'
import { AesCtrStream } from '../src/mtproto/crypto/aes-ctr.ts'
import { AesIgeCipher, aesIgeDecrypt, aesIgeEncrypt } from '../src/mtproto/crypto/aes-ige.ts'
import { capture, hex, readVectorText, toHex } from './crypto-vectors.ts'

const message = readVectorText('message.txt')
const obf = readVectorText('obf.txt')

function toWords(block: Uint8Array): Int32Array {
  const view = new DataView(block.buffer, block.byteOffset, 16)
  return Int32Array.from([0, 4, 8, 12], (o) => view.getInt32(o, false))
}

function fromWords(words: Int32Array): Uint8Array {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  words.forEach((w, i) => view.setInt32(4 * i, w, false))
  return out
}

/** IGE straight from the definition, one node ECB call per block: an independent reference. */
function referenceIge(data: Uint8Array, key: Uint8Array, iv: Uint8Array, encrypt: boolean): Uint8Array {
  const name = `aes-${key.length * 8}-ecb`
  const ecb = (encrypt ? createCipheriv(name, key, null) : createDecipheriv(name, key, null)).setAutoPadding(false)
  const out = new Uint8Array(data.length)
  let prevIn: Uint8Array = encrypt ? iv.subarray(16, 32) : iv.subarray(0, 16) // p_{i-1} for encrypt, c_{i-1} for decrypt
  let prevOut: Uint8Array = encrypt ? iv.subarray(0, 16) : iv.subarray(16, 32)
  for (let o = 0; o < data.length; o += 16) {
    const block = data.subarray(o, o + 16)
    const x = block.map((b, j) => b ^ prevOut[j])
    const y = ecb.update(x)
    const result = y.map((b, j) => b ^ prevIn[j])
    out.set(result, o)
    prevIn = block
    prevOut = out.subarray(o, o + 16)
  }
  return out
}

describe('AES block cipher (FIPS-197 appendix C)', () => {
  const plain = hex('00112233445566778899aabbccddeeff')
  const cases: [number, string][] = [
    [16, '69c4e0d86a7b0430d8cdb78070b4c55a'],
    [24, 'dda97ca4864cdfe06eaf70a0ec0d7191'],
    [32, '8ea2b7ca516745bfeafc49904b496089'],
  ]
  for (const [size, expected] of cases) {
    it(`AES-${size * 8} encrypts and decrypts the standard block`, () => {
      const aes = new AesBlockCipher(Uint8Array.from({ length: size }, (_, i) => i))
      const block = toWords(plain)
      aes.encryptBlock(block)
      assert.equal(toHex(fromWords(block)), expected)
      aes.decryptBlock(block)
      assert.equal(toHex(fromWords(block)), toHex(plain))
    })
  }

  it('matches node for random keys and blocks', () => {
    for (let i = 0; i < 50; i++) {
      const key = randomBytes(32)
      const block = randomBytes(16)
      const words = toWords(block)
      new AesBlockCipher(key).encryptBlock(words)
      const expected = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false).update(block)
      assert.equal(toHex(fromWords(words)), toHex(expected))
    }
  })

  it('rejects a bad key length', () => {
    assert.throws(() => new AesBlockCipher(new Uint8Array(20)), RangeError)
  })
})

describe('AES-IGE', () => {
  // message.txt: "AES-128 (OpenSSL igetest.c): key K, iv IV, plaintext P -> C" and the AES-256 line
  const lines = message.split('\n').filter((l) => l.startsWith('AES-'))
  const vectors = lines.map((line) => {
    return { line, key: capture(line, /key ([0-9a-f]+)/), expected: capture(line, /-> ([0-9a-f]+)$/) }
  })

  it('has the three vectors', () => assert.equal(vectors.length, 3))

  it('OpenSSL AES-128 vector 1 (zero plaintext)', () => {
    const v = vectors[0]
    const iv = Uint8Array.from({ length: 32 }, (_, i) => i) // "000102..1f"
    const plain = new Uint8Array(32)
    assert.equal(toHex(aesIgeEncrypt(plain, hex(v.key), iv)), v.expected)
    assert.equal(toHex(aesIgeDecrypt(hex(v.expected), hex(v.key), iv)), toHex(plain))
  })

  it('OpenSSL AES-128 vector 2 and the AES-256 vector', () => {
    const iv = hex(capture(vectors[1].line, /iv ([0-9a-f]{64})/))
    const plain = hex(capture(vectors[1].line, /plaintext ([0-9a-f]+)/))
    assert.equal(toHex(aesIgeEncrypt(plain, hex(vectors[1].key), iv)), vectors[1].expected)
    assert.equal(toHex(aesIgeDecrypt(hex(vectors[1].expected), hex(vectors[1].key), iv)), toHex(plain))
    const key256 = hex(vectors[2].key)
    assert.equal(key256.length, 32)
    assert.equal(toHex(aesIgeEncrypt(plain, key256, iv)), vectors[2].expected)
    assert.equal(toHex(aesIgeDecrypt(hex(vectors[2].expected), key256, iv)), toHex(plain))
  })

  it('agrees with a per-block reference on both sides of the native threshold', () => {
    for (let size = 16; size <= 2048; size += 16 * 7) {
      const key = randomBytes(32)
      const iv = randomBytes(32)
      const plain = new Uint8Array(randomBytes(size))
      const cipher = aesIgeEncrypt(plain, key, iv)
      assert.equal(toHex(cipher), toHex(referenceIge(plain, key, iv, true)), `size ${size}`)
      assert.equal(toHex(referenceIge(cipher, key, iv, false)), toHex(plain), `size ${size}`)
      assert.equal(toHex(aesIgeDecrypt(cipher, key, iv)), toHex(plain), `size ${size}`)
    }
  })

  it('handles inputs that are not 4-byte aligned', () => {
    const key = randomBytes(32)
    const iv = randomBytes(32)
    for (const size of [64, 1024]) {
      const backing = new Uint8Array(size + 3)
      backing.set(randomBytes(size), 1)
      const plain = backing.subarray(1, 1 + size)
      const ivBacking = new Uint8Array(35)
      ivBacking.set(iv, 3)
      const cipher = aesIgeEncrypt(plain, key, ivBacking.subarray(3))
      assert.equal(toHex(cipher), toHex(aesIgeEncrypt(Uint8Array.from(plain), key, iv)))
      assert.equal(toHex(aesIgeDecrypt(cipher, key, iv)), toHex(plain))
    }
  })

  it('AesIgeCipher reuses one key for several calls', () => {
    const key = randomBytes(32)
    const cipher = new AesIgeCipher(key)
    for (const size of [32, 48, 4096]) {
      const iv = randomBytes(32)
      const plain = new Uint8Array(randomBytes(size))
      const encrypted = cipher.encrypt(plain, iv)
      assert.equal(toHex(encrypted), toHex(aesIgeEncrypt(plain, key, iv)))
      assert.equal(toHex(cipher.decrypt(encrypted, iv)), toHex(plain))
    }
  })

  it('rejects lengths that are not a multiple of 16 and short ivs', () => {
    assert.throws(() => aesIgeEncrypt(new Uint8Array(15), new Uint8Array(32), new Uint8Array(32)), RangeError)
    assert.throws(() => aesIgeDecrypt(new Uint8Array(16), new Uint8Array(32), new Uint8Array(16)), RangeError)
  })
})

describe('AES-256-CTR stream', () => {
  it('obfuscated-transport vector: init 0xff×64 with the intermediate tag', () => {
    const init = new Uint8Array(64).fill(0xff)
    init.set([0xee, 0xee, 0xee, 0xee], 56) // the protocol tag at offset 56
    const stream = new AesCtrStream(init.subarray(8, 40), init.subarray(40, 56))
    const encrypted = stream.process(init)
    assert.equal(
      toHex(encrypted.subarray(56, 64)),
      capture(obf, /-> the last 8 bytes sent \(encrypted tail\) = ([0-9a-f]+)/),
    )
  })

  it('continues across calls at any byte offset', () => {
    const key = randomBytes(32)
    const iv = randomBytes(16)
    const data = randomBytes(300)
    const whole = new AesCtrStream(key, iv).process(data)
    const stream = new AesCtrStream(key, iv)
    const parts: Uint8Array[] = []
    let offset = 0
    for (const size of [1, 15, 17, 31, 100, 136]) {
      parts.push(stream.process(data.subarray(offset, offset + size)))
      offset += size
    }
    assert.equal(offset, 300)
    assert.equal(toHex(Buffer.concat(parts)), toHex(whole))
    // CTR is its own inverse
    assert.equal(toHex(new AesCtrStream(key, iv).process(whole)), toHex(data))
  })
})
