// The messages of Telegram's official auth-key sample (test/fixtures/vectors/auth_key_sample.txt) decode to the values the
// page lists and re-encode byte-exact.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tlCodec } from '../src/mtproto/tl/index.ts'
import { vectorEntries, hexOf, concatBytes } from './support/vectors.ts'

const v = vectorEntries('auth_key_sample.txt')
const nonce = hexOf(v.get('nonce'))
const serverNonce = hexOf(v.get('server_nonce'))
const newNonce = hexOf(v.get('new_nonce'))
const encryptedData256 = hexOf(v.get('encrypted_data (256 bytes)'))
const encryptedData336 = hexOf(v.get('encrypted_data (336 bytes)'))
const answerWithHash = hexOf(v.get('answer_with_hash'))
const dhPrime = hexOf(v.get('dh_prime'))
const gA = hexOf(v.get('g_a'))
const gB = hexOf(v.get('g_b'))

/** An unencrypted MTProto message: auth_key_id 0, msg_id, length, body. */
function plainBody(packet: Uint8Array): { msgId: bigint; body: Uint8Array } {
  const dv = new DataView(packet.buffer, packet.byteOffset)
  assert.equal(dv.getBigUint64(0, true), 0n, 'auth_key_id of a plain message is 0')
  return { msgId: dv.getBigInt64(8, true), body: packet.subarray(20) }
}

function roundTrip(bytes: Uint8Array): Record<string, unknown> {
  const decoded = tlCodec.decode(bytes)
  assert.deepStrictEqual(tlCodec.encode(decoded), bytes, `${decoded._} re-encodes byte-exact`)
  return decoded as Record<string, unknown>
}

test('req_pq_multi', () => {
  const { msgId, body } = plainBody(hexOf(v.get('req_pq_multi_packet')))
  assert.equal(msgId, 0x65abc0fc000df764n)
  assert.deepStrictEqual(roundTrip(body), { _: 'req_pq_multi', nonce })
})

test('resPQ', () => {
  const { body } = plainBody(hexOf(v.get('resPQ_packet')))
  const m = roundTrip(body)
  assert.equal(m._, 'resPQ')
  assert.deepStrictEqual(m['nonce'], nonce)
  assert.deepStrictEqual(m['serverNonce'], serverNonce)
  assert.equal(BigInt(`0x${Buffer.from(m['pq'] as Uint8Array).toString('hex')}`), 1468428376148703121n)
  assert.deepStrictEqual(m['serverPublicKeyFingerprints'], [
    0x0bc35f3509f7b7a5n,
    BigInt.asIntN(64, 0xc3b42b026ce86b21n),
    -3414540481677951611n,
  ])
})

test('p_q_inner_data_dc', () => {
  const m = roundTrip(hexOf(v.get('data')))
  assert.equal(m._, 'p_q_inner_data_dc')
  assert.deepStrictEqual(m['newNonce'], newNonce)
  assert.deepStrictEqual(m['p'], hexOf('3C2357CF'))
  assert.deepStrictEqual(m['q'], hexOf('56BFB29F'))
  assert.equal(m['dc'], 2)
})

test('req_DH_params', () => {
  const body = concatBytes(
    hexOf('BEE412D7'),
    nonce,
    serverNonce,
    hexOf('043C2357CF000000 0456BFB29F000000 85FD64DE851D9DD0 FE000100'),
    encryptedData256,
  )
  assert.equal(body.length, 320)
  const m = roundTrip(body)
  assert.equal(m['publicKeyFingerprint'], -3414540481677951611n)
  assert.deepStrictEqual(m['encryptedData'], encryptedData256)
})

test('server_DH_params_ok and the server_DH_inner_data inside it', () => {
  const encryptedAnswer = hexOf(v.get('encrypted_answer'))
  assert.equal(encryptedAnswer.length, 592)
  const body = concatBytes(hexOf('5C07E8D0'), nonce, serverNonce, hexOf('FE500200'), encryptedAnswer)
  // 4 + 16 + 16 + 4 + 592 = 632 bytes; the page's message_length field says 668 (a page quirk, like dh_gen_ok's).
  assert.equal(body.length, 632)
  assert.deepStrictEqual(roundTrip(body)['encryptedAnswer'], encryptedAnswer)

  const inner = answerWithHash.subarray(20, 20 + 564)
  const m = roundTrip(inner)
  assert.equal(m._, 'server_DH_inner_data')
  assert.equal(m['g'], 3)
  assert.deepStrictEqual(m['dhPrime'], dhPrime)
  assert.deepStrictEqual(m['gA'], gA)
  assert.equal(m['serverTime'], 1705754877)
})

test('client_DH_inner_data (schema order: retry_id before g_b)', () => {
  const m = roundTrip(hexOf(v.get('client_DH_inner_data#6643b654 data')))
  assert.equal(m['retryId'], 0n)
  assert.deepStrictEqual(m['gB'], gB)
})

test('set_client_DH_params', () => {
  const body = concatBytes(hexOf('1F5F04F5'), nonce, serverNonce, hexOf('FE500100'), encryptedData336)
  assert.equal(body.length, 376)
  assert.deepStrictEqual(roundTrip(body)['encryptedData'], encryptedData336)
})

test('dh_gen_ok', () => {
  const { body } = plainBody(hexOf(v.get('packet')))
  const m = roundTrip(body)
  assert.equal(m._, 'dh_gen_ok')
  assert.deepStrictEqual(m['newNonceHash1'], hexOf('677F483BB89FD206B244A2D1AC38CB31'))
})
