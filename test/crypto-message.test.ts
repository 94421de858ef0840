// MTProto 2.0 message encryption (docs/protocol.md#message-encryption, test/fixtures/vectors/message.txt).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { AuthKey } from '../src/mtproto/crypto/auth-key.ts'
import {
  decryptMessage,
  encryptMessage,
  encryptPlaintext,
  MessageDecryptError,
  messageKeyIv,
  type PlainMessage,
} from '../src/mtproto/crypto/message-cipher.ts'
import { capture, hex, readVectorText, toHex } from './crypto-vectors.ts'

const text = readVectorText('message.txt')
const authKey = new AuthKey(hex(capture(text, /auth_key = ([0-9a-f]+) repeated 8 times/).repeat(8)))
const msgKey = hex(capture(text, /msg_key = ([0-9a-f]+)/))
const le64 = (pattern: RegExp): bigint => Buffer.from(hex(capture(text, pattern))).readBigInt64LE()

const message: PlainMessage = {
  salt: le64(/salt = 0x[0-9A-F]+ \(LE bytes ([0-9a-f]{16})/),
  sessionId: le64(/session_id LE bytes ([0-9a-f]{16})/),
  msgId: le64(/msg_id LE bytes ([0-9a-f]{16})/),
  seqNo: Number(capture(text, /seq_no = (\d+)/)),
  body: new TextEncoder().encode(capture(text, /body = "([^"]+)"/)),
}
const padding = hex(capture(text, /padding = ([0-9a-f]+)/))
const plaintext = capture(text, /plaintext = ([0-9a-f]+)/)
const clientPacket = capture(text, /client->server packet = ([0-9a-f]+)/)
const serverPacket = capture(text, /server->client packet \(decrypts with x=8 to the same plaintext\) = ([0-9a-f]+)/)

function decryptError(reason: string): (e: unknown) => boolean {
  return (e: unknown) => e instanceof MessageDecryptError && e.reason === reason
}

/** A well-formed plaintext with the vector's header and a chosen length field. */
function plaintextWithLength(length: number, total = 64): Uint8Array {
  const p = new Uint8Array(total)
  p.set(hex(plaintext).subarray(0, 28))
  new DataView(p.buffer).setInt32(28, length, true)
  return p
}

describe('message key derivation', () => {
  it('has the published auth_key_id', () => {
    assert.equal(toHex(authKey.id), capture(text, /auth_key_id = ([0-9a-f]+)/))
  })

  it('derives aes key/iv for x=0 (client→server) and x=8 (server→client)', () => {
    const client = messageKeyIv(authKey, msgKey, 'client')
    assert.equal(toHex(client.key), capture(text, /x=0 .*aes_key = ([0-9a-f]+)/))
    assert.equal(toHex(client.iv), capture(text, /x=0 .*aes_iv = ([0-9a-f]+)/))
    const server = messageKeyIv(authKey, msgKey, 'server')
    assert.equal(toHex(server.key), capture(text, /x=8 .*aes_key = ([0-9a-f]+)/))
    assert.equal(toHex(server.iv), capture(text, /x=8 .*aes_iv = ([0-9a-f]+)/))
  })
})

describe('message encryption', () => {
  it('builds the published plaintext and client→server packet, with its quick ack', () => {
    assert.equal(message.salt, BigInt.asIntN(64, 0xbeefdeaddeadbeefn))
    const encrypted = encryptMessage(authKey, 'client', message, { padding })
    assert.equal(toHex(encrypted.packet), clientPacket)
    assert.equal(toHex(encrypted.msgKey), clientPacket.slice(16, 48))
    assert.equal(
      encrypted.quickAck,
      Number(capture(text, /quick ack for the client message \(tdlib style\) = (0x[0-9A-F]+)/)),
    )
  })

  it('builds the published server→client packet', () => {
    assert.equal(toHex(encryptMessage(authKey, 'server', message, { padding }).packet), serverPacket)
  })

  it('decrypts both packets back to the message', () => {
    for (const [sender, packet] of [
      ['client', clientPacket],
      ['server', serverPacket],
    ] as const) {
      const m = decryptMessage(authKey, sender, hex(packet))
      assert.equal(m.salt, message.salt)
      assert.equal(m.sessionId, message.sessionId)
      assert.equal(m.msgId, message.msgId)
      assert.equal(m.seqNo, 777)
      assert.equal(new TextDecoder().decode(m.body), 'hello, world!!!!')
    }
    assert.equal(decryptMessage(authKey, 'client', hex(clientPacket)).quickAck, 0x97980dfa)
  })

  it('round-trips random bodies with random padding', () => {
    for (const size of [0, 4, 8, 12, 16, 100, 1000, 4096]) {
      const m: PlainMessage = { ...message, msgId: 0x65abc0fc000df764n, body: new Uint8Array(randomBytes(size)) }
      const encrypted = encryptMessage(authKey, 'server', m)
      const padded = encrypted.packet.length - 24 - 32 - size
      assert.ok(padded >= 12 && padded < 28 && (size + 32 + padded) % 16 === 0, `padding ${padded}`)
      const back = decryptMessage(authKey, 'server', encrypted.packet)
      assert.equal(toHex(back.body), toHex(m.body))
      assert.equal(back.quickAck, encrypted.quickAck)
      assert.ok(back.quickAck >= 0x80000000)
    }
  })

  it('refuses bad bodies and paddings when encrypting', () => {
    assert.throws(() => encryptMessage(authKey, 'client', { ...message, body: new Uint8Array(3) }), RangeError)
    assert.throws(() => encryptMessage(authKey, 'client', message, { padding: new Uint8Array(8) }), RangeError)
    assert.throws(() => encryptMessage(authKey, 'client', message, { padding: new Uint8Array(20) }), RangeError)
  })
})

describe('message decryption failures', () => {
  it('bad msg_key: a changed msg_key or ciphertext byte', () => {
    const packet = hex(clientPacket)
    packet[10] ^= 1
    assert.throws(() => decryptMessage(authKey, 'client', packet), decryptError('msg_key'))
    const other = hex(clientPacket)
    other[40] ^= 1
    assert.throws(() => decryptMessage(authKey, 'client', other), decryptError('msg_key'))
  })

  it('wrong direction fails the msg_key check', () => {
    assert.throws(() => decryptMessage(authKey, 'server', hex(clientPacket)), decryptError('msg_key'))
  })

  it('bad session_id is reported, for the caller to reject', () => {
    const foreign = encryptMessage(authKey, 'server', { ...message, sessionId: 0x1122334455667788n }).packet
    const m = decryptMessage(authKey, 'server', foreign)
    assert.equal(m.sessionId, 0x1122334455667788n)
    assert.notEqual(m.sessionId, message.sessionId)
  })

  it('length too large', () => {
    for (const length of [64 - 32 + 4, 1000, 0x7ffffffc, -4]) {
      const { packet } = encryptPlaintext(authKey, 'server', plaintextWithLength(length))
      assert.throws(() => decryptMessage(authKey, 'server', packet), decryptError('length'), `length ${length}`)
    }
  })

  it('length not divisible by 4', () => {
    const { packet } = encryptPlaintext(authKey, 'server', plaintextWithLength(15))
    assert.throws(() => decryptMessage(authKey, 'server', packet), decryptError('length'))
  })

  it('padding outside 12..1024', () => {
    const short = encryptPlaintext(authKey, 'server', plaintextWithLength(24)).packet // 8 bytes of padding
    assert.throws(() => decryptMessage(authKey, 'server', short), decryptError('padding'))
    const long = encryptPlaintext(authKey, 'server', plaintextWithLength(4, 32 + 4 + 1036)).packet
    assert.throws(() => decryptMessage(authKey, 'server', long), decryptError('padding'))
    const edge = encryptPlaintext(authKey, 'server', plaintextWithLength(20)).packet // exactly 12
    assert.equal(decryptMessage(authKey, 'server', edge).body.length, 20)
  })

  it('foreign auth_key_id and truncated packets', () => {
    const packet = hex(clientPacket)
    packet[0] ^= 1
    assert.throws(() => decryptMessage(authKey, 'client', packet), decryptError('auth_key_id'))
    assert.throws(
      () => decryptMessage(authKey, 'client', hex(clientPacket).subarray(0, 80)),
      decryptError('packet_size'),
    )
    assert.throws(
      () => decryptMessage(authKey, 'client', hex(clientPacket).subarray(0, 24 + 32)),
      decryptError('packet_size'),
    )
  })
})
