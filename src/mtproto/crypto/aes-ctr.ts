// A continuous AES-256-CTR keystream for the obfuscated transports (docs/protocol.md#transports): one object per
// direction, and every call continues where the previous one stopped, at any byte offset.
// Node's OpenSSL CTR keeps the partial-block state between update() calls, so this is a thin wrapper.

import { createCipheriv, type Cipher } from 'node:crypto'

export class AesCtrStream {
  private readonly cipher: Cipher

  /** `key` 32 bytes, `iv` 16 bytes (the initial counter block, big-endian). */
  constructor(key: Uint8Array, iv: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`AES-256-CTR key must be 32 bytes, got ${key.length}`)
    if (iv.length !== 16) throw new RangeError(`AES-256-CTR iv must be 16 bytes, got ${iv.length}`)
    this.cipher = createCipheriv('aes-256-ctr', key, iv)
  }

  /** XORs `data` with the next data.length keystream bytes and returns a new buffer (encrypt = decrypt). */
  process(data: Uint8Array): Uint8Array {
    return this.cipher.update(data)
  }
}
