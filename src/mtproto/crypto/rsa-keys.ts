// Telegram's RSA public keys, their MTProto fingerprints, key parsing (PEM/DER), and key-pair
// generation for the local test DC. ASN.1 is left to node's KeyObject; we only read n/e/d out of JWK.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { bigIntFromBytes, bigIntToBytes, byteLengthOf } from './bytes.ts'
import { sha1 } from './hashes.ts'

export interface RsaPublicKey {
  readonly n: bigint
  readonly e: bigint
  /** SHA1(TL bytes n ‖ TL bytes e)[12:20] read as a signed little-endian int64 (TL `long`). */
  readonly fingerprint: bigint
  /** Byte length of the modulus (256 for Telegram's keys). */
  readonly size: number
}

export interface RsaPrivateKey extends RsaPublicKey {
  readonly d: bigint
  /** Node key object, used for the fast native private operation. */
  readonly keyObject: KeyObject
}

export type DcKind = 'production' | 'test'

/** A key shipped with the client; `legacy` keys are older production keys servers still list. */
export interface TelegramRsaKey extends RsaPublicKey {
  readonly dc: DcKind
  readonly legacy: boolean
}

// PKCS#1 RSAPublicKey DER, base64. Sources: tdesktop mtproto_dc_options.cpp (kPublicRSAKeys,
// kTestPublicRSAKeys) and DrKLO/Telegram tgnet/Handshake.cpp, copied in test/fixtures/vectors/rsa-keys.txt.
const KEY_DER_BASE64: readonly { dc: DcKind; legacy: boolean; der: string }[] = [
  {
    dc: 'test',
    legacy: false,
    der: 'MIIBCgKCAQEAyMEdY1aR+sCR3ZSJrtztKTKqigvO/vBfqACJLZtS7QMgCGXJ6XIRyy7mx66W0/sOFa7/1mAZtEoIokDP3ShoqF4fVNb6XeqgQfaUHd8wJpDWHcR2OFwvplUUI1PLTktZ9uW2WE23b+ixNwJjJGwBDJPQEQFBE+vfmH0JP503wr5INS1poWg/j25sIWeYPHYeOrFp/eXaqhISP6G+q2IeTaWTXpwZj4LzXq5YOpk4bYEQ6mvRq7D1aHWfYmlEGepfaYR8Q0YqvvhYtMte3ITnuSJs171+GDqpdKcSwHnd6FudwGO4pcCOj4WcDuXc2CTHgH8gFTNhp/Y8/SpDOhvn9QIDAQAB',
  },
  {
    dc: 'production',
    legacy: false,
    der: 'MIIBCgKCAQEA6LszBcC1LGzyr992NzE0ieY+BSaOW622Aa9Bd4ZHLl+TuFQ4lo4g5nKaMBwK/BIb9xUfg0Q29/2mgIR6Zr9krM7HjuIcCzFvDtr+L0GQjae9H0pRB2OO62cECs5HKhT5DZ98K33vmWiLowc621dQuwKWSQKjWf50XYFw42h21P2KXUGyp2y/+aEyZ+uVgLLQbRA1dEjSDZ2iGRy12Mk5gpYc397aYp438fsJoHIgJ2lgMv5h7WY9t6N/byY9Nw9p21Og3AoXSL2q/2IJ1WRUhebgAdGVMlV1fkuOQoEzR7EdpqtQD9Cs5+bfo3Nhmcyvk5ftB0WkJ9z6bNZ7yxrP8wIDAQAB',
  },
  ...[
    'MIIBCgKCAQEAruw2yP/BCcsJliRoW5eBVBVle9dtjJw+OYED160Wybum9SXtBBLXriwt4rROd9csv0t0OHCaTmRqBcQ0J8fxhN6/cpR1GWgOZRUAiQxoMnlt0R93LCX/j1dnVa/gVbCjdSxpbrfY2g2L4frzjJvdl84Kd9ORYjDEAyFnEA7dD556OptgLQQ2e2iVNq8NZLYTzLp5YpOdO1doK+ttrltggTCy5SrKeLoCPPbOgGsdxJxyz5KKcZnSLj16yE5HvJQn0CNpRdENvRUXe6tBP78O39oJ8BTHp9oIjd6XWXAsp2CvK45Ol8wFXGF710w9lwCGNbmNxNYhtIkdqfsEcwR5JwIDAQAB',
    'MIIBCgKCAQEAvfLHfYH2r9R70w8prHblWt/nDkh+XkgpflqQVcnAfSuTtO05lNPspQmL8Y2XjVT4t8cT6xAkdgfmmvnvRPOOKPi0OfJXoRVylFzAQG/j83u5K3kRLbae7fLccVhKZhY46lvsueI1hQdLgNV9n1cQ3TDS2pQOCtovG4eDl9wacrXOJTG2990VjgnIKNA0UMoP+KF03qzryqIt3oTvZq03DyWdGK+AZjgBLaDKSnC6qD2cFY81UryRWOab8zKkWAnhw2kFpcqhI0jdV5QaSCExvnsjVaX0Y1N0870931/5Jb9ICe4nweZ9kSDF/gip3kWLG0o8XQpChDfyvsqB9OLV/wIDAQAB',
    'MIIBCgKCAQEAs/ditzm+mPND6xkhzwFIz6J/968CtkcSE/7Z2qAJiXbmZ3UDJPGrzqTDHkO30R8VeRM/Kz2f4nR05GIFiITl4bEjvpy7xqRDspJcCFIOcyXm8abVDhF+th6knSU0yLtNKuQVP6voMrnt9MV1X92LGZQLgdHZbPQz0Z5qIpaKhdyA8DEvWWvSUwwc+yi1/gGaybwlzZwqXYoPOhwMebzKUk0xW14htcJrRrq+PXXQbRzTMynseCoPIoke0dtCodbA3qQxQovE16q9zz4Otv2k4j63cz53J+mhkVWAeWxVGI0lltJmWtEYK6er8VqqWot3nqmWMXogrgRLggv/NbbooQIDAQAB',
    'MIIBCgKCAQEAvmpxVY7ld/8DAjz6F6q05shjg8/4p6047bn6/m8yPy1RBsvIyvuDuGnP/RzPEhzXQ9UJ5Ynmh2XJZgHoE9xbnfxL5BXHplJhMtADXKM9bWB11PU1Eioc3+AXBB8QiNFBn2XI5UkO5hPhbb9mJpjA9Uhw8EdfqJP8QetVsI/xrCEbwEXe0xvifRLJbY08/Gp66KpQvy7g8w7VB8wlgePexW3pT13Ap6vuC+mQuJPyiHvSxjEKHgqePji9NP3tJUFQjcECqcm0yV7/2d0t/pbCm+ZH1sadZspQCEPPrtbkQBlvHb4OLiIWPGHKSMeRFvp3IWcmdJqXahxLCUS1Eh6MAQIDAQAB',
    'MIIBCgKCAQEAwVACPi9w23mF3tBkdZz+zwrzKOaaQdr01vAbU4E1pvkfj4sqDsm6lyDONS789sVoD/xCS9Y0hkkC3gtL1tSfTlgCMOOul9lcixlEKzwKENj1Yz/s7daSan9tqw3bfUV/nqgbhGX81v/+7RFAEd+RwFnK7a+XYl9sluzHRyVVaTTveB2GazTwEfzk2DWgkBluml8OREmvfraX3bkHZJTKX4EQSjBbbdJ2ZXIsRrYOXfaA+xayEGB+8hdlLmAjbCVfaigxX0CDqWeR1yFL9kwd9P0NsZRPsmoqVwMbMu7mStFai6aIhc3nSlv8kg9qv1m6XHVQY3PnEw+QQtqSIXklHwIDAQAB',
    'MIIBCgKCAQEAxq7aeLAqJR20tkQQMfRn+ocfrtMlJsQ2Uksfs7Xcoo77jAid0bRtksiVmT2HEIJUlRxfABoPBV8wY9zRTUMaMA654pUX41mhyVN+XoerGxFvrs9dF1RuvCHbI02dM2ppPvyytvvMoefRoL5BTcpAihFgm5xCaakgsJ/tH5oVl74CdhQw8J5LxI/K++KJBUyZ26Uba1632cOiq05JBUW0Z2vWIOk4BLysk7+U9z+SxynKiZR3/xdiXvFKk01R3BHV+GUKM2RYazpS/P8v7eyKhAbKxOdRcFpHLlVwfjyM1VlDQrEZxsMpNTLYXb6Sce1Uov0YtNx5wEowlREH1WOTlwIDAQAB',
    'MIIBCgKCAQEAsQZnSWVZNfClk29RcDTJQ76n8zZaiTGuUsi8sUhW8AS4PSbPKDm+DyJgdHDWdIF3HBzl7DHeFrILuqTs0vfS7Pa2NW8nUBwiaYQmPtwEa4n7bTmBVGsB1700/tz8wQWOLUlL2nMv+BPlDhxq4kmJCyJfgrIrHlX8sGPcPA4Y6Rwo0MSqYn3sg1Pu5gOKlaT9HKmE6wn5Sut6IiBjWozrRQ6n5h2RXNtO7O2qCDqjgB2vBxhV7B+zhRbLbCmW0tYMDsvPpX5M8fsO05svN+lKtCAuz1leFns8piZpptpSCFn7bWxiA9/fx5x17D7pfah3Sy2pA+NDXyzSlGcKdaUmwQIDAQAB',
    'MIIBCgKCAQEAwqjFW0pi4reKGbkc9pK83Eunwj/k0G8ZTioMMPbZmW99GivMibwaxDM9RDWabEMyUtGoQC2ZcDeLWRK3W8jMP6dnEKAlvLkDLfC4fXYHzFO5KHEqF06iqAqBdmI1iBGdQv/OQCBcbXIWCGDY2AsiqLhlGQfPOI7/vvKc188rTriocgUtoTUc/n/sIUzkgwTqRyvWYynWARWzQg0I9olLBBC2q5RQJJlnYXZwyTL3y9tdb7zOHkksWV9IMQmZmyZh/N7sMbGWQpt4NMchGpPGeJ2e5gHBjDnlIf2p1yZOYeUYrdbwcS0tUiggS4UeE8TzIuXFQxw7fzEIlmhIaq3FnwIDAQAB',
  ].map((der) => ({ dc: 'production' as const, legacy: true, der })),
]

/** TL `bytes` serialization: length prefix (1 byte, or 0xFE + 3 bytes LE), data, zero padding to 4. */
function tlBytes(data: Uint8Array): Uint8Array {
  const header = data.length < 254 ? 1 : 4 // 254 = the TL marker for a 3-byte length
  const total = (header + data.length + 3) & ~3
  const out = new Uint8Array(total)
  if (header === 1) {
    out[0] = data.length
  } else {
    out[0] = 254
    out[1] = data.length & 0xff
    out[2] = (data.length >>> 8) & 0xff
    out[3] = (data.length >>> 16) & 0xff
  }
  out.set(data, header)
  return out
}

/** MTProto key fingerprint: SHA1(TL bytes n ‖ TL bytes e)[12:20] as a signed LE int64. */
export function rsaFingerprint(n: bigint, e: bigint): bigint {
  const digest = sha1(tlBytes(bigIntToBytes(n, byteLengthOf(n))), tlBytes(bigIntToBytes(e, byteLengthOf(e))))
  return new DataView(digest.buffer, digest.byteOffset + 12, 8).getBigInt64(0, true)
}

function publicKeyOf(n: bigint, e: bigint): RsaPublicKey {
  return { n, e, fingerprint: rsaFingerprint(n, e), size: byteLengthOf(n) }
}

function jwkInt(field: string | undefined): bigint {
  if (field === undefined) throw new TypeError('RSA JWK field missing')
  return bigIntFromBytes(Buffer.from(field, 'base64url'))
}

function fromPublicKeyObject(key: KeyObject): RsaPublicKey {
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError(`not an RSA key: ${String(key.asymmetricKeyType)}`)
  const jwk = key.export({ format: 'jwk' })
  return publicKeyOf(jwkInt(jwk.n), jwkInt(jwk.e))
}

function fromPrivateKeyObject(key: KeyObject): RsaPrivateKey {
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError(`not an RSA key: ${String(key.asymmetricKeyType)}`)
  const jwk = key.export({ format: 'jwk' })
  return { ...publicKeyOf(jwkInt(jwk.n), jwkInt(jwk.e)), d: jwkInt(jwk.d), keyObject: key }
}

/**
 * Parses an RSA public key: PEM ("RSA PUBLIC KEY" PKCS#1 or "PUBLIC KEY" SPKI; a private key PEM
 * also works) or DER (PKCS#1, then SPKI).
 */
export function parseRsaPublicKey(key: string | Uint8Array): RsaPublicKey {
  if (typeof key === 'string') return fromPublicKeyObject(createPublicKey(key))
  const der = Buffer.from(key.buffer, key.byteOffset, key.length)
  try {
    return fromPublicKeyObject(createPublicKey({ key: der, format: 'der', type: 'pkcs1' }))
  } catch {
    return fromPublicKeyObject(createPublicKey({ key: der, format: 'der', type: 'spki' }))
  }
}

/** Parses an RSA private key: PEM (PKCS#1 or PKCS#8) or DER (PKCS#1, then PKCS#8). */
export function parseRsaPrivateKey(key: string | Uint8Array): RsaPrivateKey {
  if (typeof key === 'string') return fromPrivateKeyObject(createPrivateKey(key))
  const der = Buffer.from(key.buffer, key.byteOffset, key.length)
  try {
    return fromPrivateKeyObject(createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }))
  } catch {
    return fromPrivateKeyObject(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
  }
}

/** A fresh RSA key pair for the test DC (2048 bits and e = 65537, like Telegram's; ~0.3 s). */
export function generateRsaKeyPair(bits = 2048): RsaPrivateKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 })
  return fromPrivateKeyObject(privateKey)
}

const publicKeyObjects = new WeakMap<RsaPublicKey, KeyObject>()

/** Node's KeyObject for a public key, built once per key object (for the native public operation). */
export function rsaPublicKeyObject(key: RsaPublicKey): KeyObject {
  let ko = publicKeyObjects.get(key)
  if (ko === undefined) {
    const b64 = (v: bigint): string => Buffer.from(bigIntToBytes(v, byteLengthOf(v))).toString('base64url')
    ko = createPublicKey({ key: { kty: 'RSA', n: b64(key.n), e: b64(key.e) }, format: 'jwk' })
    publicKeyObjects.set(key, ko)
  }
  return ko
}

/** PEM (PKCS#1 "RSA PUBLIC KEY") of a key, e.g. to hand the test DC's key to a client. */
export function rsaPublicKeyToPem(key: RsaPublicKey): string {
  return rsaPublicKeyObject(key).export({ format: 'pem', type: 'pkcs1' }).toString()
}

let builtIn: readonly TelegramRsaKey[] | undefined

/** Every built-in key, current ones first (parsed on first use: ~0.2 ms). */
export function telegramRsaKeys(): readonly TelegramRsaKey[] {
  builtIn ??= KEY_DER_BASE64.map(({ dc, legacy, der }) => ({
    ...parseRsaPublicKey(Buffer.from(der, 'base64')),
    dc,
    legacy,
  }))
  return builtIn
}

const tables = new Map<DcKind, ReadonlyMap<bigint, TelegramRsaKey>>()

/** Fingerprint → key table for one DC kind (fingerprints as signed int64), current key first. */
export function rsaKeyTable(dc: DcKind): ReadonlyMap<bigint, TelegramRsaKey> {
  let table = tables.get(dc)
  if (table === undefined) {
    table = new Map(
      telegramRsaKeys()
        .filter((k) => k.dc === dc)
        .map((k) => [k.fingerprint, k]),
    )
    tables.set(dc, table)
  }
  return table
}

/**
 * The key to use for a resPQ: the first key of `keys` (in their order, so current before legacy)
 * whose fingerprint the server offered; undefined when none matches. Fingerprints may be given
 * signed or unsigned.
 */
export function pickRsaKey<K extends RsaPublicKey>(offered: readonly bigint[], keys: Iterable<K>): K | undefined {
  const wanted = new Set(offered.map((f) => BigInt.asIntN(64, f)))
  for (const key of keys) if (wanted.has(key.fingerprint)) return key
  return undefined
}
