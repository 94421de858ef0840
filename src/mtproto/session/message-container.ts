// msg_container#73f1f8dc messages:vector<%Message> = MessageContainer, where
// message msg_id:long seqno:int bytes:int body:Object = Message. Containers group several messages in one
// encrypted packet; they do not nest and hold at most 1024 messages.
import { TlDecodeError, ID } from '../tl/index.ts'

export const MSG_CONTAINER_ID = ID.msg_container
export const MAX_CONTAINER_MESSAGES = 1024
/** msg_id (8) + seqno (4) + bytes (4) in front of each body. */
const MESSAGE_HEADER = 16

export interface InnerMessage {
  msgId: bigint
  seqNo: number
  body: Uint8Array
}

export function isContainer(body: Uint8Array): boolean {
  return (
    body.length >= 4 && (body[0]! | (body[1]! << 8) | (body[2]! << 16) | (body[3]! << 24)) >>> 0 === MSG_CONTAINER_ID
  )
}

export function packContainer(messages: readonly InnerMessage[]): Uint8Array {
  if (messages.length > MAX_CONTAINER_MESSAGES)
    throw new RangeError(`a container holds at most ${MAX_CONTAINER_MESSAGES} messages`)
  let size = 8
  for (const m of messages) size += MESSAGE_HEADER + m.body.length
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, MSG_CONTAINER_ID, true)
  dv.setInt32(4, messages.length, true)
  let p = 8
  for (const m of messages) {
    dv.setBigInt64(p, m.msgId, true)
    dv.setInt32(p + 8, m.seqNo, true)
    dv.setInt32(p + 12, m.body.length, true)
    out.set(m.body, p + MESSAGE_HEADER)
    p += MESSAGE_HEADER + m.body.length
  }
  return out
}

/** Splits a container into its messages; bodies are views into `body`. */
export function unpackContainer(body: Uint8Array): InnerMessage[] {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength)
  if (body.length < 8 || dv.getUint32(0, true) !== MSG_CONTAINER_ID)
    throw new TlDecodeError('unknown-constructor', 0, 'not a msg_container')
  const count = dv.getInt32(4, true)
  if (count < 0 || count > MAX_CONTAINER_MESSAGES || count * MESSAGE_HEADER > body.length - 8) {
    throw new TlDecodeError('vector-too-long', 4, `container of ${count} messages`)
  }
  const out: InnerMessage[] = []
  let p = 8
  for (let i = 0; i < count; i++) {
    if (p + MESSAGE_HEADER > body.length) throw new TlDecodeError('truncated', p, 'container message header')
    const len = dv.getInt32(p + 12, true)
    const start = p + MESSAGE_HEADER
    if (len < 0 || len % 4 !== 0 || start + len > body.length)
      throw new TlDecodeError('bad-length', p + 12, `container message of ${len} bytes`)
    const inner = body.subarray(start, start + len)
    if (isContainer(inner)) throw new TlDecodeError('unknown-constructor', start, 'containers do not nest')
    out.push({ msgId: dv.getBigInt64(p, true), seqNo: dv.getInt32(p + 8, true), body: inner })
    p = start + len
  }
  if (p !== body.length) throw new TlDecodeError('trailing-bytes', p, 'bytes after the last container message')
  return out
}
