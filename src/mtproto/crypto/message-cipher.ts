// MTProto 2.0 message encryption in both directions (docs/protocol.md#message-encryption).
// Packet: auth_key_id(8) ‖ msg_key(16) ‖ AES-IGE(salt(8) session_id(8) msg_id(8) seq_no(4) length(4) body padding).

import { aesIgeDecrypt, aesIgeEncrypt } from './aes-ige.ts'
import type { AuthKey, Sender } from './auth-key.ts'
import { bytesEqual } from './bytes.ts'
import { sha256 } from './hashes.ts'
import { randomBytes, type RandomSource } from './random.ts'
import { MtprotoError } from '../mtproto-error.ts'

export type { Sender }

/** Bytes before the body in the plaintext: salt, session_id, msg_id, seq_no, length. */
const HEADER_BYTES = 32
/** Packet bytes before the ciphertext: auth_key_id and msg_key. */
const PACKET_PREFIX = 24
const MIN_PADDING = 12
const MAX_PADDING = 1024
/** Top bit that marks a quick-ack value (docs/protocol.md#message-encryption, #transports). */
const QUICK_ACK_FLAG = 0x80000000

export interface MessageHeader {
  /** Server salt, session_id and msg_id are TL `long`s: any bigint is written as its low 64 bits, read back signed. */
  readonly salt: bigint
  readonly sessionId: bigint
  readonly msgId: bigint
  readonly seqNo: number
}

export interface PlainMessage extends MessageHeader {
  /** The serialized TL object; its length must divide by 4. */
  readonly body: Uint8Array
}

export interface EncryptedMessage {
  readonly packet: Uint8Array
  readonly msgKey: Uint8Array
  /** The quick-ack value the receiver will compute for this packet (unsigned, top bit set). */
  readonly quickAck: number
}

export interface DecryptedMessage extends PlainMessage {
  /** The quick-ack value for this packet, for a server answering a client's quick-ack request. */
  readonly quickAck: number
}

export type MessageDecryptFailure = 'packet_size' | 'auth_key_id' | 'msg_key' | 'length' | 'padding'

/** Any rejected incoming packet. The peer must see the same reaction whatever `reason` says (docs/protocol.md#security-checks). */
export class MessageDecryptError extends MtprotoError {
  override readonly name = 'MessageDecryptError'

  constructor(readonly reason: MessageDecryptFailure) {
    super(`cannot decrypt MTProto message: ${reason}`)
  }
}

/** aes_key and aes_iv for a msg_key (docs/protocol.md#message-encryption). */
export function messageKeyIv(
  authKey: AuthKey,
  msgKey: Uint8Array,
  sender: Sender,
): { key: Uint8Array; iv: Uint8Array } {
  const slices = authKey.direction(sender)
  const a = sha256(msgKey, slices.a)
  const b = sha256(slices.b, msgKey)
  const key = new Uint8Array(32)
  key.set(a.subarray(0, 8), 0)
  key.set(b.subarray(8, 24), 8)
  key.set(a.subarray(24, 32), 24)
  const iv = new Uint8Array(32)
  iv.set(b.subarray(0, 8), 0)
  iv.set(a.subarray(8, 24), 8)
  iv.set(b.subarray(24, 32), 24)
  return { key, iv }
}

function quickAckOf(msgKeyLarge: Uint8Array): number {
  return (
    (msgKeyLarge[0] | (msgKeyLarge[1] << 8) | (msgKeyLarge[2] << 16) | (msgKeyLarge[3] << 24) | QUICK_ACK_FLAG) >>> 0
  )
}

/**
 * Encrypts a complete plaintext (header, body and padding; a multiple of 16 bytes) as is.
 * The building block of encryptMessage, and the way to produce malformed packets in tests.
 */
export function encryptPlaintext(authKey: AuthKey, sender: Sender, plaintext: Uint8Array): EncryptedMessage {
  if (plaintext.length % 16 !== 0) throw new RangeError('plaintext length must divide by 16')
  const msgKeyLarge = sha256(authKey.direction(sender).msgKeyPrefix, plaintext)
  const msgKey = msgKeyLarge.slice(8, 24)
  const { key, iv } = messageKeyIv(authKey, msgKey, sender)
  const packet = new Uint8Array(PACKET_PREFIX + plaintext.length)
  packet.set(authKey.id, 0)
  packet.set(msgKey, 8)
  packet.set(aesIgeEncrypt(plaintext, key, iv), PACKET_PREFIX)
  return { packet, msgKey, quickAck: quickAckOf(msgKeyLarge) }
}

export interface EncryptOptions {
  /** Exact padding bytes (12..1024, making the total divide by 16); random minimal padding otherwise. */
  readonly padding?: Uint8Array
  readonly random?: RandomSource
}

/** Builds the plaintext of `message` and encrypts it as `sender`. */
export function encryptMessage(
  authKey: AuthKey,
  sender: Sender,
  message: PlainMessage,
  options: EncryptOptions = {},
): EncryptedMessage {
  const { body } = message
  if (body.length % 4 !== 0) throw new RangeError('message body length must divide by 4')
  const unpadded = HEADER_BYTES + body.length
  const padding =
    options.padding ?? (options.random ?? randomBytes)(MIN_PADDING + ((16 - ((unpadded + MIN_PADDING) % 16)) % 16))
  if (padding.length < MIN_PADDING || padding.length > MAX_PADDING || (unpadded + padding.length) % 16 !== 0) {
    throw new RangeError(`bad padding length ${padding.length}`)
  }
  const plaintext = new Uint8Array(unpadded + padding.length)
  const view = new DataView(plaintext.buffer)
  view.setBigInt64(0, BigInt.asIntN(64, message.salt), true)
  view.setBigInt64(8, BigInt.asIntN(64, message.sessionId), true)
  view.setBigInt64(16, BigInt.asIntN(64, message.msgId), true)
  view.setInt32(24, message.seqNo, true)
  view.setInt32(28, body.length, true)
  plaintext.set(body, HEADER_BYTES)
  plaintext.set(padding, unpadded)
  return encryptPlaintext(authKey, sender, plaintext)
}

/**
 * Decrypts and verifies a packet encrypted by `sender` (docs/protocol.md#security-checks): auth_key_id, msg_key, length
 * (0 ≤ length ≤ total − 32, divisible by 4), padding 12..1024. Throws MessageDecryptError.
 * Checking session_id and msg_id is the session's job.
 */
export function decryptMessage(authKey: AuthKey, sender: Sender, packet: Uint8Array): DecryptedMessage {
  const cipherLength = packet.length - PACKET_PREFIX
  if (cipherLength < HEADER_BYTES + MIN_PADDING || cipherLength % 16 !== 0) throw new MessageDecryptError('packet_size')
  if (!bytesEqual(packet.subarray(0, 8), authKey.id)) throw new MessageDecryptError('auth_key_id')
  const msgKey = packet.subarray(8, PACKET_PREFIX)
  const { key, iv } = messageKeyIv(authKey, msgKey, sender)
  const plaintext = aesIgeDecrypt(packet.subarray(PACKET_PREFIX), key, iv)
  const msgKeyLarge = sha256(authKey.direction(sender).msgKeyPrefix, plaintext)
  if (!bytesEqual(msgKeyLarge.subarray(8, 24), msgKey)) throw new MessageDecryptError('msg_key')
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.length)
  const length = view.getInt32(28, true)
  if (length < 0 || length > plaintext.length - HEADER_BYTES || length % 4 !== 0)
    throw new MessageDecryptError('length')
  const padding = plaintext.length - HEADER_BYTES - length
  if (padding < MIN_PADDING || padding > MAX_PADDING) throw new MessageDecryptError('padding')
  return {
    salt: view.getBigInt64(0, true),
    sessionId: view.getBigInt64(8, true),
    msgId: view.getBigInt64(16, true),
    seqNo: view.getInt32(24, true),
    body: plaintext.subarray(HEADER_BYTES, HEADER_BYTES + length),
    quickAck: quickAckOf(msgKeyLarge),
  }
}
