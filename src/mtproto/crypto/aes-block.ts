// The AES block cipher (FIPS-197) in pure JS with 32-bit T-tables.
// Node's crypto has no IGE mode and each native call costs ~0.3 µs, so IGE, which must
// run block by block, is faster with the block function in JS (numbers in aes-ige.ts).
// State words are big-endian columns: byte 0 of a column is the most significant byte.

const SBOX = new Uint8Array(256)
const INV_SBOX = new Uint8Array(256)
// Encryption tables: TE0[x] = column (2s, s, s, 3s) for s = S(x); TE1..TE3 are its byte rotations.
const TE0 = new Int32Array(256)
const TE1 = new Int32Array(256)
const TE2 = new Int32Array(256)
const TE3 = new Int32Array(256)
// Decryption tables: TD0[x] = column (14s, 9s, 13s, 11s) for s = S⁻¹(x); TD1..TD3 are its rotations.
const TD0 = new Int32Array(256)
const TD1 = new Int32Array(256)
const TD2 = new Int32Array(256)
const TD3 = new Int32Array(256)

buildTables()

function buildTables(): void {
  // exp/log tables of GF(2^8) with generator 3, reduction polynomial x^8+x^4+x^3+x+1 (0x11b)
  const exp = new Uint8Array(256)
  const log = new Uint8Array(256)
  for (let i = 0, x = 1; i < 255; i++) {
    exp[i] = x
    log[x] = i
    x ^= (x << 1) ^ (x & 0x80 ? 0x11b : 0) // x *= 3
  }
  const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : exp[(log[a] + log[b]) % 255])
  const rotl8 = (b: number, n: number): number => ((b << n) | (b >>> (8 - n))) & 0xff
  for (let x = 0; x < 256; x++) {
    const inv = x === 0 ? 0 : exp[(255 - log[x]) % 255]
    // affine transform of the multiplicative inverse; 0x63 is the FIPS-197 affine constant
    const s = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63
    SBOX[x] = s
    INV_SBOX[s] = x
  }
  for (let x = 0; x < 256; x++) {
    const s = SBOX[x]
    const te = (mul(s, 2) << 24) | (s << 16) | (s << 8) | mul(s, 3)
    TE0[x] = te
    TE1[x] = (te >>> 8) | (te << 24)
    TE2[x] = (te >>> 16) | (te << 16)
    TE3[x] = (te >>> 24) | (te << 8)
    const v = INV_SBOX[x]
    const td = (mul(v, 14) << 24) | (mul(v, 9) << 16) | (mul(v, 13) << 8) | mul(v, 11)
    TD0[x] = td
    TD1[x] = (td >>> 8) | (td << 24)
    TD2[x] = (td >>> 16) | (td << 16)
    TD3[x] = (td >>> 24) | (td << 8)
  }
}

function subWord(w: number): number {
  return (SBOX[w >>> 24] << 24) | (SBOX[(w >>> 16) & 0xff] << 16) | (SBOX[(w >>> 8) & 0xff] << 8) | SBOX[w & 0xff]
}

/** AES with an expanded key (128, 192 or 256 bits); encrypts and decrypts 4-word blocks in place. */
export class AesBlockCipher {
  readonly rounds: number
  private readonly enc: Int32Array
  private dec: Int32Array | undefined

  constructor(key: Uint8Array) {
    const nk = key.length >>> 2
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
      throw new RangeError(`AES key must be 16, 24 or 32 bytes, got ${key.length}`)
    }
    this.rounds = nk + 6
    const total = 4 * (this.rounds + 1)
    const w = new Int32Array(total)
    for (let i = 0; i < nk; i++) {
      w[i] = (key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3]
    }
    let rcon = 1
    for (let i = nk; i < total; i++) {
      let t = w[i - 1]
      if (i % nk === 0) {
        t = subWord((t << 8) | (t >>> 24)) ^ (rcon << 24)
        rcon = (rcon << 1) ^ (rcon & 0x80 ? 0x11b : 0)
      } else if (nk > 6 && i % nk === 4) {
        t = subWord(t)
      }
      w[i] = w[i - nk] ^ t
    }
    this.enc = w
  }

  /** Decryption keys for the equivalent inverse cipher, built on first use (encrypt-only users skip it). */
  private decKeys(): Int32Array {
    if (this.dec !== undefined) return this.dec
    const enc = this.enc
    const r = this.rounds
    const dec = new Int32Array(enc.length)
    for (let round = 0; round <= r; round++) {
      for (let j = 0; j < 4; j++) {
        const w = enc[4 * (r - round) + j]
        // inner rounds get InvMixColumns applied to the round key
        dec[4 * round + j] =
          round === 0 || round === r
            ? w
            : TD0[SBOX[w >>> 24]] ^ TD1[SBOX[(w >>> 16) & 0xff]] ^ TD2[SBOX[(w >>> 8) & 0xff]] ^ TD3[SBOX[w & 0xff]]
      }
    }
    this.dec = dec
    return dec
  }

  /** Encrypts the block held in `s` (4 big-endian words) in place. */
  encryptBlock(s: Int32Array): void {
    const k = this.enc
    let s0 = s[0] ^ k[0]
    let s1 = s[1] ^ k[1]
    let s2 = s[2] ^ k[2]
    let s3 = s[3] ^ k[3]
    let ki = 4
    for (let round = 1; round < this.rounds; round++) {
      const t0 = TE0[s0 >>> 24] ^ TE1[(s1 >>> 16) & 0xff] ^ TE2[(s2 >>> 8) & 0xff] ^ TE3[s3 & 0xff] ^ k[ki]
      const t1 = TE0[s1 >>> 24] ^ TE1[(s2 >>> 16) & 0xff] ^ TE2[(s3 >>> 8) & 0xff] ^ TE3[s0 & 0xff] ^ k[ki + 1]
      const t2 = TE0[s2 >>> 24] ^ TE1[(s3 >>> 16) & 0xff] ^ TE2[(s0 >>> 8) & 0xff] ^ TE3[s1 & 0xff] ^ k[ki + 2]
      const t3 = TE0[s3 >>> 24] ^ TE1[(s0 >>> 16) & 0xff] ^ TE2[(s1 >>> 8) & 0xff] ^ TE3[s2 & 0xff] ^ k[ki + 3]
      s0 = t0
      s1 = t1
      s2 = t2
      s3 = t3
      ki += 4
    }
    s[0] =
      ((SBOX[s0 >>> 24] << 24) | (SBOX[(s1 >>> 16) & 0xff] << 16) | (SBOX[(s2 >>> 8) & 0xff] << 8) | SBOX[s3 & 0xff]) ^
      k[ki]
    s[1] =
      ((SBOX[s1 >>> 24] << 24) | (SBOX[(s2 >>> 16) & 0xff] << 16) | (SBOX[(s3 >>> 8) & 0xff] << 8) | SBOX[s0 & 0xff]) ^
      k[ki + 1]
    s[2] =
      ((SBOX[s2 >>> 24] << 24) | (SBOX[(s3 >>> 16) & 0xff] << 16) | (SBOX[(s0 >>> 8) & 0xff] << 8) | SBOX[s1 & 0xff]) ^
      k[ki + 2]
    s[3] =
      ((SBOX[s3 >>> 24] << 24) | (SBOX[(s0 >>> 16) & 0xff] << 16) | (SBOX[(s1 >>> 8) & 0xff] << 8) | SBOX[s2 & 0xff]) ^
      k[ki + 3]
  }

  /** Decrypts the block held in `s` (4 big-endian words) in place. */
  decryptBlock(s: Int32Array): void {
    const k = this.decKeys()
    let s0 = s[0] ^ k[0]
    let s1 = s[1] ^ k[1]
    let s2 = s[2] ^ k[2]
    let s3 = s[3] ^ k[3]
    let ki = 4
    for (let round = 1; round < this.rounds; round++) {
      const t0 = TD0[s0 >>> 24] ^ TD1[(s3 >>> 16) & 0xff] ^ TD2[(s2 >>> 8) & 0xff] ^ TD3[s1 & 0xff] ^ k[ki]
      const t1 = TD0[s1 >>> 24] ^ TD1[(s0 >>> 16) & 0xff] ^ TD2[(s3 >>> 8) & 0xff] ^ TD3[s2 & 0xff] ^ k[ki + 1]
      const t2 = TD0[s2 >>> 24] ^ TD1[(s1 >>> 16) & 0xff] ^ TD2[(s0 >>> 8) & 0xff] ^ TD3[s3 & 0xff] ^ k[ki + 2]
      const t3 = TD0[s3 >>> 24] ^ TD1[(s2 >>> 16) & 0xff] ^ TD2[(s1 >>> 8) & 0xff] ^ TD3[s0 & 0xff] ^ k[ki + 3]
      s0 = t0
      s1 = t1
      s2 = t2
      s3 = t3
      ki += 4
    }
    const inv = INV_SBOX
    s[0] =
      ((inv[s0 >>> 24] << 24) | (inv[(s3 >>> 16) & 0xff] << 16) | (inv[(s2 >>> 8) & 0xff] << 8) | inv[s1 & 0xff]) ^
      k[ki]
    s[1] =
      ((inv[s1 >>> 24] << 24) | (inv[(s0 >>> 16) & 0xff] << 16) | (inv[(s3 >>> 8) & 0xff] << 8) | inv[s2 & 0xff]) ^
      k[ki + 1]
    s[2] =
      ((inv[s2 >>> 24] << 24) | (inv[(s1 >>> 16) & 0xff] << 16) | (inv[(s0 >>> 8) & 0xff] << 8) | inv[s3 & 0xff]) ^
      k[ki + 2]
    s[3] =
      ((inv[s3 >>> 24] << 24) | (inv[(s2 >>> 16) & 0xff] << 16) | (inv[(s1 >>> 8) & 0xff] << 8) | inv[s0 & 0xff]) ^
      k[ki + 3]
  }
}
