/**
 * MTProxy secrets, as found in tg://proxy links: 16 bytes (plain), `dd` + 16 bytes (forces padded intermediate), or
 * `ee` + 16 bytes + domain (fake TLS, which we do not implement). Accepted as bytes, hex or base64/base64url.
 */
import { ProxyError } from './errors.ts'
import { MTPROXY_SECRET_LENGTH } from './obfuscation.ts'

/** Prefix byte of a secret that requires padded intermediate. */
const PADDED_SECRET_PREFIX = 0xdd
/** Prefix byte of a fake-TLS secret. */
const FAKE_TLS_SECRET_PREFIX = 0xee

export interface MtproxySecret {
  /** The 16 bytes mixed into the obfuscation keys. */
  readonly key: Uint8Array
  /** A `dd` secret: the client must use padded intermediate. */
  readonly paddedOnly: boolean
}

function decodeText(text: string): Uint8Array {
  const trimmed = text.trim()
  if (/^(?:[0-9a-f]{2})+$/i.test(trimmed)) return Uint8Array.from(Buffer.from(trimmed, 'hex'))
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return Uint8Array.from(Buffer.from(trimmed, 'base64'))
  throw new ProxyError('mtproxy-invalid-secret', 'secret is neither hex nor base64')
}

export function parseMtproxySecret(secret: string | Uint8Array): MtproxySecret {
  const bytes = typeof secret === 'string' ? decodeText(secret) : secret
  if (bytes.length > 0 && bytes[0] === FAKE_TLS_SECRET_PREFIX && bytes.length > MTPROXY_SECRET_LENGTH) {
    throw new ProxyError(
      'mtproxy-fake-tls-unsupported',
      'ee (fake-TLS) MTProxy secrets are not supported; use a plain or dd secret',
    )
  }
  if (bytes.length === MTPROXY_SECRET_LENGTH) return { key: Uint8Array.from(bytes), paddedOnly: false }
  if (bytes.length === MTPROXY_SECRET_LENGTH + 1 && bytes[0] === PADDED_SECRET_PREFIX) {
    return { key: bytes.slice(1), paddedOnly: true }
  }
  throw new ProxyError('mtproxy-invalid-secret', `expected 16 bytes, or dd + 16 bytes; got ${bytes.length} bytes`)
}
