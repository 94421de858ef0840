// Strict base64 for session strings: Node's decoder silently skips bad characters, which would turn a mangled
// string into a wrong key instead of an error.

const BODY = /^[A-Za-z0-9+/_-]*$/

/** Decodes standard or URL-safe base64, padded or not; null when the text is not base64 at all. */
export function decodeBase64(text: string): Uint8Array | null {
  const padding = /=*$/.exec(text)?.[0].length ?? 0
  const body = text.slice(0, text.length - padding)
  if (padding > 2 || !BODY.test(body) || body.length % 4 === 1) return null
  if (padding > 0 && (body.length + padding) % 4 !== 0) return null
  return new Uint8Array(Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64'))
}

export function encodeBase64Url(bytes: Uint8Array, { padded }: { padded: boolean }): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  return padded ? text.padEnd(Math.ceil(text.length / 4) * 4, '=') : text
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}
