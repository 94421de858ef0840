// 2FA SRP (docs/protocol.md#2fa-and-srp, test/fixtures/vectors/srp.txt).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bigIntFromBytes, bigIntToBytes } from '../src/mtproto/crypto/bytes.ts'
import { SecurityCheckError } from '../src/mtproto/crypto/security-check-error.ts'
import {
  computeSrpCheck,
  srpNewSalt1,
  srpPasswordHash,
  srpPasswordHashAsync,
  srpPbkdf2,
  srpPbkdf2Async,
  srpPrehash,
  srpServerChallenge,
  srpVerifier,
  srpVerifyClient,
  type SrpAlgo,
} from '../src/mtproto/crypto/srp.ts'
import { capture, toHex, VectorFile } from './crypto-vectors.ts'

const v = VectorFile.read('srp.txt')
const algo: SrpAlgo = { salt1: v.bytes('salt1'), salt2: v.bytes('salt2'), g: Number(v.raw('g')), p: v.bytes('p') }
const password = capture(v.text, /^password = (\S+)$/m)
const srpB = v.bytes('srp_B')
const a = v.bytes('a')
const srpId = -2046015018n // passed through untouched

function securityError(check: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof SecurityCheckError && e.check === check
}

describe('SRP client (vector: password "qwe123", clean salt1)', () => {
  const x = srpPasswordHash(password, algo)

  it('computes x = PH2', () => {
    assert.equal(toHex(x), v.raw('x'))
  })

  it('computes A and M1', () => {
    const check = computeSrpCheck({ algo, srpB, srpId, passwordHash: x }, a)
    assert.equal(check.A.length, 256)
    assert.ok(toHex(check.A).startsWith(capture(v.text, /A \(g_a\) starts with ([0-9a-f]+)/)))
    assert.equal(toHex(check.M1), v.raw('M1'))
    assert.equal(check.srpId, srpId)
  })

  it('computes the new-password hash v = g^x′ with salt1′ = salt1 ‖ a[0:32]', () => {
    const newPassword = capture(v.text, /new password hash for "([^"]+)"/)
    const salt1 = srpNewSalt1(algo.salt1, (n) => a.subarray(0, n))
    assert.equal(salt1.length, algo.salt1.length + 32)
    const verifier = srpVerifier(algo, srpPasswordHash(newPassword, { salt1, salt2: algo.salt2 }))
    assert.equal(verifier.length, 256)
    assert.ok(toHex(verifier).startsWith(capture(v.text, /mod p starts with ([0-9a-f]+)/)))
  })

  it('left-pads a short srp_B (TDLib accepts 248..256 bytes)', () => {
    const short = bigIntToBytes((1n << 1990n) + 12345n, 249)
    const withPadding = bigIntToBytes(bigIntFromBytes(short), 256)
    const one = computeSrpCheck({ algo, srpB: short, srpId, passwordHash: x }, a)
    const two = computeSrpCheck({ algo, srpB: withPadding, srpId, passwordHash: x }, a)
    assert.equal(toHex(one.M1), toHex(two.M1))
  })

  it('rejects a bad srp_B or algo', () => {
    const input = { algo, srpId, passwordHash: x }
    const p = bigIntFromBytes(algo.p)
    assert.throws(() => computeSrpCheck({ ...input, srpB: srpB.subarray(9) }, a), securityError('srp_b_length'))
    assert.throws(() => computeSrpCheck({ ...input, srpB: new Uint8Array(257) }, a), securityError('srp_b_length'))
    for (const bad of [0n, 5n, 1n << 1984n, p, p - 1n, p - (1n << 1984n)]) {
      assert.throws(() => computeSrpCheck({ ...input, srpB: bigIntToBytes(bad, 256) }, a), securityError('srp_b_range'))
    }
    assert.throws(() => computeSrpCheck({ ...input, srpB, algo: { ...algo, g: 2 } }, a), securityError('dh_g_residue'))
    assert.throws(
      () => computeSrpCheck({ ...input, srpB, algo: { ...algo, p: algo.p.subarray(1) } }, a),
      securityError('dh_prime_size'),
    )
  })

  it('splits the KDF so it can run elsewhere; the async variants agree', async () => {
    const ph1 = srpPrehash(password, algo.salt1, algo.salt2)
    assert.equal(toHex(await srpPbkdf2Async(ph1, algo.salt1)), toHex(srpPbkdf2(ph1, algo.salt1)))
    assert.equal(toHex(await srpPasswordHashAsync(password, algo)), toHex(x))
  })
})

describe('SRP server (test DC)', () => {
  const salt1 = srpNewSalt1(algo.salt1)
  const account = { ...algo, salt1 }
  const verifier = srpVerifier(account, srpPasswordHash('correct horse', account))

  it('accepts the right password and rejects a wrong one', () => {
    const challenge = srpServerChallenge(account, verifier)
    assert.equal(challenge.gB.length, 256)
    const right = computeSrpCheck({
      algo: account,
      srpB: challenge.gB,
      srpId,
      passwordHash: srpPasswordHash('correct horse', account),
    })
    assert.equal(srpVerifyClient(account, verifier, challenge, right.A, right.M1), true)
    const wrong = computeSrpCheck({
      algo: account,
      srpB: challenge.gB,
      srpId,
      passwordHash: srpPasswordHash('battery staple', account),
    })
    assert.equal(srpVerifyClient(account, verifier, challenge, wrong.A, wrong.M1), false)
  })

  it('rejects a proof for another challenge, a tampered M1 and a malformed A', () => {
    const x = srpPasswordHash('correct horse', account)
    const first = srpServerChallenge(account, verifier)
    const second = srpServerChallenge(account, verifier)
    const check = computeSrpCheck({ algo: account, srpB: first.gB, srpId, passwordHash: x })
    assert.equal(srpVerifyClient(account, verifier, second, check.A, check.M1), false)
    const tampered = Uint8Array.from(check.M1)
    tampered[0] ^= 1
    assert.equal(srpVerifyClient(account, verifier, first, check.A, tampered), false)
    assert.equal(srpVerifyClient(account, verifier, first, new Uint8Array(256), check.M1), false)
    assert.equal(srpVerifyClient(account, verifier, first, new Uint8Array(257).fill(1), check.M1), false)
    assert.equal(srpVerifyClient(account, verifier, first, check.A, check.M1), true)
  })

  it('reproduces the vector from the server side: v, b and the client A give the same M1', () => {
    // with the vector's x the client's M1 must be what a server holding v = g^x computes, for any b
    const x = srpPasswordHash(password, algo)
    const v2 = srpVerifier(algo, x)
    const challenge = srpServerChallenge(
      algo,
      v2,
      a.map((byte) => byte ^ 0x5a),
    )
    const check = computeSrpCheck({ algo, srpB: challenge.gB, srpId, passwordHash: x }, a)
    assert.equal(srpVerifyClient(algo, v2, challenge, check.A, check.M1), true)
  })
})

it('DhGroup results are always 256 bytes, also when the number has leading zero bytes', async () => {
  const { DhGroup, TELEGRAM_DH_PRIME } = await import('../src/mtproto/crypto/dh.ts')
  const group = DhGroup.of(TELEGRAM_DH_PRIME, 3)
  for (const e of [1n, 2n, 100n, 1000n]) {
    const r = group.powG(e)
    assert.equal(r.length, 256, `3^${e} is padded`)
    assert.equal(BigInt(`0x${Buffer.from(r).toString('hex')}`), 3n ** e)
  }
  const small = group.pow(2n, 3n)
  assert.equal(small.length, 256)
  assert.equal(small[255], 8)
})
