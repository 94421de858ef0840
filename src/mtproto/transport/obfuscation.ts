/**
 * Obfuscated transport (docs/protocol.md#transports): a 64-byte random init whose bytes 8..56 seed two AES-256-CTR streams, the protocol
 * tag hidden at 56 (and, for MTProxy, the DC id at 60), then every byte in both directions goes through CTR.
 * Sans-io: this module only builds/parses inits and transforms bytes.
 */
import { createCipheriv, createHash, randomBytes, type Cipher } from 'node:crypto'
import { TransportProtocolError } from './errors.ts'
import type { RandomSource } from './framing.ts'

export const OBFUSCATED_INIT_LENGTH = 64
/** Offset of the protocol tag in the init. */
export const INIT_TAG_OFFSET = 56
/** Offset of the MTProxy DC id (int16 LE) in the init. */
export const INIT_DC_OFFSET = 60
const KEY_OFFSET = 8
const KEY_LENGTH = 32
const IV_OFFSET = 40
const IV_LENGTH = 16
/** MTProxy secrets are 16 bytes once their prefix is stripped. */
export const MTPROXY_SECRET_LENGTH = 16
/** Random inits are redrawn while they look like something else; with real randomness about 1 in 256 is redrawn. */
const MAX_INIT_ATTEMPTS = 1000

/** First-int values an init must not start with, so the stream is not mistaken for another protocol. */
const REJECTED_FIRST_INTS: ReadonlySet<number> = new Set([
  0x44414548, // "HEAD"
  0x54534f50, // "POST"
  0x20544547, // "GET "
  0x4954504f, // "OPTI" (OPTIONS)
  0x02010316, // TLS handshake record start
  0xdddddddd, // padded intermediate tag
  0xeeeeeeee, // intermediate tag
])
/** A first byte of 0xef would read as the abridged tag. */
const ABRIDGED_FIRST_BYTE = 0xef

function uint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0
}

/** Whether 64 random bytes may be used as an init (every rejection rule of docs/protocol.md#transports). */
export function isAcceptableInit(init: Uint8Array): boolean {
  if (init.length < 8) return false
  if (init[0] === ABRIDGED_FIRST_BYTE) return false
  if (REJECTED_FIRST_INTS.has(uint32LE(init, 0))) return false
  // Bytes 4..8 all zero would read as a plain full transport packet with seq 0.
  return uint32LE(init, 4) !== 0
}

export interface InitOptions {
  /** The framing's obfuscation tag (uint32), written 4 bytes at offset 56. */
  tag: number
  /** MTProxy target DC (int16 LE at offset 60; +10000 for test DCs, negative for media DCs). */
  dcId?: number
  random?: RandomSource
}

/** A fresh plaintext init: acceptable random bytes with the tag (and DC) in place. */
export function generateObfuscatedInit(options: InitOptions): Uint8Array {
  const random = options.random ?? ((n: number) => randomBytes(n))
  for (let attempt = 0; attempt < MAX_INIT_ATTEMPTS; attempt++) {
    const candidate = random(OBFUSCATED_INIT_LENGTH)
    if (candidate.length !== OBFUSCATED_INIT_LENGTH) throw new RangeError('random source returned the wrong length')
    if (!isAcceptableInit(candidate)) continue
    const init = Uint8Array.from(candidate)
    const view = new DataView(init.buffer)
    view.setUint32(INIT_TAG_OFFSET, options.tag, true)
    if (options.dcId !== undefined) {
      if (!Number.isInteger(options.dcId) || options.dcId < -0x8000 || options.dcId > 0x7fff) {
        throw new RangeError(`dc id ${options.dcId} does not fit in an int16`)
      }
      view.setInt16(INIT_DC_OFFSET, options.dcId, true)
    }
    return init
  }
  throw new RangeError('random source keeps producing rejected obfuscation inits')
}

/** Keys and IVs from the point of view of the side that generated the init (the client). */
export interface ObfuscationKeys {
  encryptKey: Uint8Array
  encryptIv: Uint8Array
  decryptKey: Uint8Array
  decryptIv: Uint8Array
}

function proxyKey(key: Uint8Array, secret: Uint8Array | undefined): Uint8Array {
  if (secret === undefined) return key
  if (secret.length !== MTPROXY_SECRET_LENGTH) throw new RangeError('an MTProxy secret is 16 bytes')
  return createHash('sha256').update(key).update(secret).digest()
}

/**
 * Encrypt key/iv = init[8:40] / init[40:56]; decrypt key/iv = the same offsets of reverse(init). With an MTProxy
 * secret each key becomes SHA256(key ‖ secret). Only bytes 8..56 matter, so the encrypted tail does not.
 */
export function deriveObfuscationKeys(init: Uint8Array, secret?: Uint8Array): ObfuscationKeys {
  if (init.length < OBFUSCATED_INIT_LENGTH) throw new RangeError('an obfuscation init is 64 bytes')
  const head = init.subarray(0, OBFUSCATED_INIT_LENGTH)
  const reversed = Uint8Array.from(head).reverse()
  return {
    encryptKey: proxyKey(head.slice(KEY_OFFSET, KEY_OFFSET + KEY_LENGTH), secret),
    encryptIv: head.slice(IV_OFFSET, IV_OFFSET + IV_LENGTH),
    decryptKey: proxyKey(reversed.slice(KEY_OFFSET, KEY_OFFSET + KEY_LENGTH), secret),
    decryptIv: reversed.slice(IV_OFFSET, IV_OFFSET + IV_LENGTH),
  }
}

/** The two continuous AES-256-CTR streams of one connection (one per direction). */
export class ObfuscationCipher {
  private readonly encryptor: Cipher
  private readonly decryptor: Cipher

  constructor(encryptKey: Uint8Array, encryptIv: Uint8Array, decryptKey: Uint8Array, decryptIv: Uint8Array) {
    this.encryptor = createCipheriv('aes-256-ctr', encryptKey, encryptIv)
    this.decryptor = createCipheriv('aes-256-ctr', decryptKey, decryptIv)
  }

  /** Outgoing bytes; returns a new buffer, the stream position advances by `data.length`. */
  encrypt(data: Uint8Array): Uint8Array {
    return this.encryptor.update(data)
  }

  /** Incoming bytes; returns a new buffer. */
  decrypt(data: Uint8Array): Uint8Array {
    return this.decryptor.update(data)
  }
}

export interface ClientObfuscationOptions extends InitOptions {
  /** The 16-byte MTProxy secret (prefix stripped), if going through MTProxy. */
  secret?: Uint8Array
}

export interface ClientObfuscation {
  cipher: ObfuscationCipher
  /** The 64 bytes to send first: init[0:56] ‖ CTR(init)[56:64]. */
  header: Uint8Array
  /** The plaintext init (for tests and logs). */
  init: Uint8Array
}

/** Client side: draws an init and sets up both streams (the encrypt stream has already consumed the 64 init bytes). */
export function createClientObfuscation(options: ClientObfuscationOptions): ClientObfuscation {
  const init = generateObfuscatedInit(options)
  return clientObfuscationFromInit(init, options.secret)
}

/** Client side from a given plaintext init (tag and DC already in place): deterministic, for vectors. */
export function clientObfuscationFromInit(init: Uint8Array, secret?: Uint8Array): ClientObfuscation {
  const keys = deriveObfuscationKeys(init, secret)
  const cipher = new ObfuscationCipher(keys.encryptKey, keys.encryptIv, keys.decryptKey, keys.decryptIv)
  const encrypted = cipher.encrypt(init)
  const header = Uint8Array.from(init)
  header.set(encrypted.subarray(INIT_TAG_OFFSET, OBFUSCATED_INIT_LENGTH), INIT_TAG_OFFSET)
  return { cipher, header, init }
}

export interface AcceptedObfuscation {
  /** Server-side streams: `decrypt` reads the client, `encrypt` writes to it. */
  cipher: ObfuscationCipher
  /** The decrypted tag (uint32 at offset 56). Check it against the known framings. */
  tag: number
  /** The int16 at offset 60: the target DC for MTProxy clients; random for others. */
  dcId: number
}

/** Server side: parses a client's 64-byte header (the decrypt stream has consumed it). */
export function acceptClientObfuscation(header: Uint8Array, secret?: Uint8Array): AcceptedObfuscation {
  if (header.length < OBFUSCATED_INIT_LENGTH) {
    throw new TransportProtocolError('bad-length', 'an obfuscation header is 64 bytes')
  }
  const keys = deriveObfuscationKeys(header, secret)
  const cipher = new ObfuscationCipher(keys.decryptKey, keys.decryptIv, keys.encryptKey, keys.encryptIv)
  const plain = cipher.decrypt(header.subarray(0, OBFUSCATED_INIT_LENGTH))
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength)
  return { cipher, tag: view.getUint32(INIT_TAG_OFFSET, true), dcId: view.getInt16(INIT_DC_OFFSET, true) }
}
