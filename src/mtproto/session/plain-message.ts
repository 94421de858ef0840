// Unencrypted MTProto messages (only the auth-key exchange uses them):
// auth_key_id = 0 (8 bytes) ‖ msg_id (8) ‖ length (4) ‖ body.
import { TlDecodeError } from '../tl/index.ts'

const HEADER = 20

export function packPlainMessage(msgId: bigint, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + body.length)
  const dv = new DataView(out.buffer)
  dv.setBigInt64(8, msgId, true)
  dv.setInt32(16, body.length, true)
  out.set(body, HEADER)
  return out
}

export function isPlainMessage(packet: Uint8Array): boolean {
  if (packet.length < 8) return false
  for (let i = 0; i < 8; i++) if (packet[i] !== 0) return false
  return true
}

export function unpackPlainMessage(packet: Uint8Array): { msgId: bigint; body: Uint8Array } {
  if (packet.length < HEADER) throw new TlDecodeError('truncated', 0, 'plain message shorter than its header')
  if (!isPlainMessage(packet))
    throw new TlDecodeError('unknown-constructor', 0, 'auth_key_id of a plain message must be 0')
  const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  const len = dv.getInt32(16, true)
  if (len < 0 || HEADER + len > packet.length) throw new TlDecodeError('bad-length', 16, `plain message length ${len}`)
  return { msgId: dv.getBigInt64(8, true), body: packet.subarray(HEADER, HEADER + len) }
}
