// Sealed values: what the farm keeps in Redis that would let a reader take over an account (auth keys, 2FA
// passwords, bot tokens, proxy credentials, api hashes, codes, phone_code_hash) is stored sealed under the
// operator's master key (envelope encryption: a fresh data key per value, itself encrypted under the master key).
//
// AES-256-GCM from node's crypto: authenticated (a flipped bit or a swapped value fails to open instead of
// decrypting to garbage), the associated data binds each value to its Redis key name, it is in OpenSSL (no
// dependency) and hardware-accelerated. A random 96-bit IV per encryption is safe: every data key encrypts one
// value, and the master key wraps far fewer than 2^32 data keys per key id before rotation.
//
// Sealed form (ASCII, so it fits a Redis string or hash field):
//   gfs1.<keyId>.<base64url(iv 12 | wrapped data key 32 | tag 16)>.<base64url(iv 12 | ciphertext | tag 16)>
// Without a master key values are stored in clear (demo, tests); a clear value that happens to start with one of
// our markers is stored as `gfc1.<value>` so it is never mistaken for a sealed one.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

const SEALED_MARK = 'gfs1.'
const CLEAR_MARK = 'gfc1.'
const IV_BYTES = 12 // GCM's standard nonce length
const TAG_BYTES = 16 // GCM's full-length tag
const KEY_BYTES = 32 // AES-256
/** A master key is 32 random bytes, written as 64 hex digits or base64. */
export const MASTER_KEY_BYTES = 32

export type SealedValueErrorReason =
  /** Sealed under a key id this keyring does not hold (a worker given the wrong key, or a retired one). */
  | 'unknown-key'
  /** The value does not open under its key: tampered, or copied from another Redis key (associated data). */
  | 'does-not-open'
  /** Not a sealed value we can parse. */
  | 'malformed'
  /** A value in clear where encryption is required. */
  | 'clear-refused'

/** A value that cannot be opened. Names the key id and the Redis key, never the value. */
export class SealedValueError extends Error {
  override readonly name = 'SealedValueError'
  constructor(
    readonly reason: SealedValueErrorReason,
    /** The Redis key the value was read from. */
    readonly boundTo: string,
    readonly keyId?: string,
  ) {
    super(
      reason === 'unknown-key'
        ? `${boundTo}: sealed under master key ${keyId}, which this farm does not hold (wrong key, or a key retired before rotation ended)`
        : reason === 'does-not-open'
          ? `${boundTo}: sealed value does not open under master key ${keyId} (altered, or copied from another key)`
          : reason === 'clear-refused'
            ? `${boundTo}: value stored in clear, but encryption is required`
            : `${boundTo}: not a sealed value`,
    )
  }
  /** Retrying never makes a value open. */
  get transient(): boolean {
    return false
  }
}

/** A master key, the key id that names it in sealed values, and the key its data keys are wrapped with. */
export class MasterKey {
  readonly id: string
  /** @internal the data-key wrapping key (HKDF of the master key, so the key id reveals nothing of it). */
  readonly wrapKey: Buffer

  constructor(material: Uint8Array) {
    if (material.length !== MASTER_KEY_BYTES) throw new RangeError(`a master key is ${MASTER_KEY_BYTES} bytes`)
    const m = Buffer.from(material)
    this.wrapKey = Buffer.from(hkdfSync('sha256', m, Buffer.alloc(0), 'gramfarm sealed values: wrap key', KEY_BYTES))
    // 8 bytes of a keyed hash: enough to tell keys apart, nothing about the key. Written with the letters a-p (one
    // per nibble), not hex: no digits, so the phone masking of logs and error reports never alters a key id.
    const hex = createHmac('sha256', m).update('gramfarm sealed values: key id').digest('hex').slice(0, 16)
    this.id = [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('')
  }

  /** Derives an independent secret for another purpose (e.g. the job-id HMAC key). */
  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.wrapKey, Buffer.alloc(0), `gramfarm: ${purpose}`, KEY_BYTES))
  }
}

/** What a store needs to keep a value sealed: passed down to rooms (auth, queue) as this interface. */
export interface Sealer {
  /** True when values are encrypted (a master key is set). */
  readonly encrypting: boolean
  /** Values in clear are refused when read. */
  readonly requireEncryption: boolean
  /** Seals `value` for the Redis key `boundTo`. Without a master key: the value in clear. */
  seal(value: string | Uint8Array, boundTo: string): string
  /** Opens what seal() gave for the same `boundTo`; throws SealedValueError. */
  open(stored: string, boundTo: string): Buffer
  openText(stored: string, boundTo: string): string
  /** Whether `stored` was sealed under a key other than the current one (or is in clear): rotation re-seals it. */
  needsReseal(stored: string): boolean
}

export interface KeyringOptions {
  /** Seals new values; null = store in clear. */
  readonly current: MasterKey | null
  /** Keys still readable (during and before a rotation). */
  readonly old?: readonly MasterKey[]
  /** Refuse values stored in clear (and a keyring without a current key). */
  readonly requireEncryption?: boolean
}

function associatedData(boundTo: string, keyId: string): Buffer {
  return Buffer.from(`gramfarm sealed value v1\0${keyId}\0${boundTo}`, 'utf8')
}

function gcmSeal(key: Buffer, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES)
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(aad)
  const body = Buffer.concat([c.update(plain), c.final()])
  return Buffer.concat([iv, body, c.getAuthTag()])
}

/** null when it does not authenticate. */
function gcmOpen(key: Buffer, packed: Buffer, aad: Buffer): Buffer | null {
  if (packed.length < IV_BYTES + TAG_BYTES) return null
  const iv = packed.subarray(0, IV_BYTES)
  const tag = packed.subarray(packed.length - TAG_BYTES)
  const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(aad)
  d.setAuthTag(tag)
  try {
    return Buffer.concat([d.update(packed.subarray(IV_BYTES, packed.length - TAG_BYTES)), d.final()])
  } catch {
    return null
  }
}

/** The current master key and the old ones still readable. */
export class Keyring implements Sealer {
  readonly current: MasterKey | null
  readonly requireEncryption: boolean
  private readonly byId = new Map<string, MasterKey>()

  constructor(options: KeyringOptions) {
    this.current = options.current
    this.requireEncryption = options.requireEncryption ?? false
    if (this.requireEncryption && !this.current)
      throw new MasterKeyError('encryption is required (requireEncryption) but no master key is set')
    for (const k of [...(options.old ?? []), ...(this.current ? [this.current] : [])]) this.byId.set(k.id, k)
  }

  /** A keyring that stores in clear (tests, demo). */
  static clear(): Keyring {
    return new Keyring({ current: null })
  }

  get encrypting(): boolean {
    return this.current !== null
  }

  /** The key of this id, if the keyring holds it (the current one or an old one still readable). */
  key(id: string): MasterKey | undefined {
    return this.byId.get(id)
  }

  /** Key ids this keyring can open. */
  get keyIds(): string[] {
    return [...this.byId.keys()]
  }

  seal(value: string | Uint8Array, boundTo: string): string {
    const plain = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
    const key = this.current
    if (!key) {
      const text = plain.toString('utf8')
      // binary values (auth keys) in clear go as base64 behind the clear mark
      if (typeof value !== 'string') return `${CLEAR_MARK}b64:${plain.toString('base64')}`
      return text.startsWith(SEALED_MARK) || text.startsWith(CLEAR_MARK) ? CLEAR_MARK + text : text
    }
    const aad = associatedData(boundTo, key.id)
    const dataKey = randomBytes(KEY_BYTES)
    const wrapped = gcmSeal(key.wrapKey, dataKey, aad)
    const body = gcmSeal(dataKey, plain, aad)
    dataKey.fill(0)
    return `${SEALED_MARK}${key.id}.${wrapped.toString('base64url')}.${body.toString('base64url')}`
  }

  open(stored: string, boundTo: string): Buffer {
    if (!stored.startsWith(SEALED_MARK)) {
      if (this.requireEncryption) throw new SealedValueError('clear-refused', boundTo)
      if (stored.startsWith(`${CLEAR_MARK}b64:`)) return Buffer.from(stored.slice(CLEAR_MARK.length + 4), 'base64')
      return Buffer.from(stored.startsWith(CLEAR_MARK) ? stored.slice(CLEAR_MARK.length) : stored, 'utf8')
    }
    const parts = stored.slice(SEALED_MARK.length).split('.')
    if (parts.length !== 3 || !/^[a-p]{16}$/.test(parts[0]!)) throw new SealedValueError('malformed', boundTo)
    const [keyId, wrappedText, bodyText] = parts as [string, string, string]
    const key = this.byId.get(keyId)
    if (!key) throw new SealedValueError('unknown-key', boundTo, keyId)
    const aad = associatedData(boundTo, keyId)
    const dataKey = gcmOpen(key.wrapKey, Buffer.from(wrappedText, 'base64url'), aad)
    if (!dataKey || dataKey.length !== KEY_BYTES) throw new SealedValueError('does-not-open', boundTo, keyId)
    const plain = gcmOpen(dataKey, Buffer.from(bodyText, 'base64url'), aad)
    dataKey.fill(0)
    if (!plain) throw new SealedValueError('does-not-open', boundTo, keyId)
    return plain
  }

  openText(stored: string, boundTo: string): string {
    return this.open(stored, boundTo).toString('utf8')
  }

  /** Whether a stored value (text or bytes as read from Redis) is in sealed form. */
  static isSealed(stored: string | Uint8Array): boolean {
    return typeof stored === 'string'
      ? stored.startsWith(SEALED_MARK)
      : Buffer.from(stored.subarray(0, SEALED_MARK.length)).toString('latin1') === SEALED_MARK
  }

  needsReseal(stored: string): boolean {
    if (!this.current) return false
    if (!stored.startsWith(SEALED_MARK)) return true
    return !stored.startsWith(`${SEALED_MARK}${this.current.id}.`)
  }

  /** The key id a stored value names (null for a clear value). */
  static keyIdOf(stored: string): string | null {
    if (!stored.startsWith(SEALED_MARK)) return null
    return stored.slice(SEALED_MARK.length).split('.')[0] ?? null
  }
}

/** A master key that cannot be read or is not a key. Never carries the key's text. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError'
  get transient(): boolean {
    return false
  }
}

/** Parses a master key written as 64 hex digits or as base64/base64url of 32 bytes (surrounding space ignored). */
export function parseMasterKey(text: string, source: string): MasterKey {
  const t = text.trim()
  let bytes: Buffer | null = null
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, 'hex')
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
  if (!bytes || bytes.length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(
      `${source}: a master key is ${MASTER_KEY_BYTES} random bytes written as 64 hex digits or base64 (e.g. openssl rand -hex 32)`,
    )
  }
  return new MasterKey(bytes)
}
