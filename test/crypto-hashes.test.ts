import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { sha1, sha256, sha512 } from '../src/mtproto/crypto/hashes.ts'
import { randomBytes as pooledRandom } from '../src/mtproto/crypto/random.ts'
import { toHex } from './crypto-vectors.ts'

const abc = new TextEncoder().encode('abc')

describe('hashes', () => {
  it('match the FIPS 180 "abc" digests', () => {
    assert.equal(toHex(sha1(abc)), 'a9993e364706816aba3e25717850c26c9cd0d89d')
    assert.equal(toHex(sha256(abc)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    assert.equal(
      toHex(sha512(abc)),
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    )
  })

  it('hash several parts as their concatenation, small and beyond the scratch buffer', () => {
    for (const sizes of [[0], [1, 2, 3], [32, 300, 16], [4000, 200], [10000, 7]]) {
      const parts = sizes.map((n) => new Uint8Array(randomBytes(n)))
      const joined = Buffer.concat(parts)
      assert.equal(toHex(sha1(...parts)), toHex(sha1(joined)))
      assert.equal(toHex(sha256(...parts)), toHex(sha256(joined)))
      assert.equal(toHex(sha512(...parts)), toHex(sha512(joined)))
    }
  })

  it('return independent arrays (the scratch buffer is not leaked)', () => {
    const first = sha256(abc, abc)
    const copy = toHex(first)
    sha256(new Uint8Array(64), new Uint8Array(64))
    assert.equal(toHex(first), copy)
  })
})

describe('pooled random bytes', () => {
  it('returns fresh arrays of the requested size that differ', () => {
    const seen = new Set<string>()
    for (const n of [16, 17, 32, 1024, 1025, 5000]) {
      const a = pooledRandom(n)
      const b = pooledRandom(n)
      assert.equal(a.length, n)
      assert.notEqual(a.buffer, b.buffer)
      seen.add(toHex(a))
      seen.add(toHex(b))
    }
    assert.equal(seen.size, 12)
  })
})
