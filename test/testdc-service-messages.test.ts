// Service messages from the test DC as Telegram sends them (core.telegram.org/mtproto/service_messages,
// /mtproto/service_messages_about_messages): plain messages, never rpc_result; and requests the DC cannot decode get
// the rpc_error Telegram would send, on a connection that stays up.
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { deflateSync, gzipSync } from 'node:zlib'
import { startTestDc, type TestDc } from '../src/testdc/test-dc.ts'
import { tlCodec, type TlValue } from '../src/mtproto/tl/index.ts'
import { RawDcClient } from './support/raw-dc-client.ts'

const GZIP_PACKED_ID = 0x3072cfa1

function gzipPacked(packed: Uint8Array): Uint8Array {
  const w = tlCodec.newWriter(packed.length + 8)
  w.uint(GZIP_PACKED_ID)
  w.bytes(packed)
  return w.take()
}

describe('test DC: service messages', () => {
  let dc: TestDc
  let c: RawDcClient
  before(async () => {
    dc = await startTestDc({ dcIds: [2] })
    c = await RawDcClient.connect(dc.host, dc.portOf(2))
    await c.createKey(dc.publicKey)
  })
  after(async () => {
    c.close()
    await dc.stop()
  })

  it('ping → a plain pong naming the ping (not rpc_result)', async () => {
    const id = c.send({ _: 'ping', pingId: 11n }, { contentRelated: false })
    const m = await c.waitFor((x) => x.obj._ === 'pong' || (x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === id))
    assert.equal(m.obj._, 'pong')
    assert.deepEqual([m.obj['msgId'], m.obj['pingId']], [id, 11n])
  })

  it('ping_delay_disconnect → a plain pong; the DC closes the connection disconnect_delay seconds after the last one', async () => {
    const p = await RawDcClient.connect(dc.host, dc.portOf(2))
    try {
      await p.createKey(dc.publicKey)
      const id = p.send({ _: 'ping_delay_disconnect', pingId: 5n, disconnectDelay: 1 })
      const m = await p.waitFor((x) => x.obj._ === 'pong' || (x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === id))
      assert.equal(m.obj._, 'pong')
      await new Promise((r) => setTimeout(r, 600))
      p.send({ _: 'ping_delay_disconnect', pingId: 6n, disconnectDelay: 1 }) // resets the timer
      await new Promise((r) => setTimeout(r, 700))
      assert.equal(p.closed, false, 'a new ping_delay_disconnect resets the timer')
      await p.waitClosed(1500)
    } finally {
      p.close()
    }
  })

  it('get_future_salts → a plain future_salts with num salts, current first, 30 minutes each', async () => {
    const id = c.send({ _: 'get_future_salts', num: 3 })
    const m = await c.waitFor(
      (x) => x.obj._ === 'future_salts' || (x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === id),
    )
    assert.equal(m.obj._, 'future_salts')
    assert.equal(m.obj['reqMsgId'], id)
    const salts = m.obj['salts'] as TlValue[]
    assert.equal(salts.length, 3)
    assert.equal(salts[0]!['salt'], c.salt)
    for (let i = 1; i < 3; i++) assert.equal(salts[i]!['validSince'], salts[i - 1]!['validUntil'])
  })

  it('destroy_session → plain destroy_session_ok for another session of the key, destroy_session_none for an unknown one', async () => {
    const other = await RawDcClient.connect(dc.host, dc.portOf(2))
    other.useKey(c.authKey!, c.salt)
    try {
      assert.equal((await other.call({ _: 'help.getNearestDc' }))._, 'nearestDc')
      c.send({ _: 'destroy_session', sessionId: other.sessionId })
      const ok = await c.waitFor((x) => x.obj._.startsWith('destroy_session') || x.obj._ === 'rpc_result')
      assert.deepEqual([ok.obj._, ok.obj['sessionId']], ['destroy_session_ok', other.sessionId])
      c.send({ _: 'destroy_session', sessionId: 123n })
      const none = await c.waitFor((x) => x.obj._.startsWith('destroy_session') || x.obj._ === 'rpc_result')
      assert.deepEqual([none.obj._, none.obj['sessionId']], ['destroy_session_none', 123n])
    } finally {
      other.close()
    }
  })

  it('msgs_state_req → msgs_state_info: answered, not received, too high, unknown', async () => {
    const [first, skipped, answered] = [c.nextMsgId(), c.nextMsgId(), c.nextMsgId()]
    c.send({ _: 'help.getNearestDc' }, { msgId: first })
    c.send({ _: 'help.getNearestDc' }, { msgId: answered })
    await c.result(answered)
    const req = c.send(
      { _: 'msgs_state_req', msgIds: [answered, skipped, answered + (1000n << 32n), 4n] },
      { contentRelated: false },
    )
    const m = await c.waitFor(
      (x) => x.obj._ === 'msgs_state_info' || (x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === req),
    )
    assert.equal(m.obj._, 'msgs_state_info')
    assert.equal(m.obj['reqMsgId'], req)
    assert.deepEqual([...(m.obj['info'] as Uint8Array)], [4 | 8 | 32 | 64, 2, 3, 1])
  })

  it('msg_resend_req → the asked answer again under its msg_id; an unknown id → msgs_state_info', async () => {
    const req = c.send({ _: 'help.getNearestDc' })
    const first = await c.waitFor((x) => x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === req)
    c.send({ _: 'msg_resend_req', msgIds: [first.msgId] }, { contentRelated: false })
    const again = await c.waitFor((x) => x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === req)
    assert.equal(again.msgId, first.msgId)
    assert.deepEqual(again.body, first.body)
    const r2 = c.send({ _: 'msg_resend_req', msgIds: [first.msgId + 1000n] }, { contentRelated: false })
    const info = await c.waitFor((x) => x.obj._ === 'msgs_state_info')
    assert.equal(info.obj['reqMsgId'], r2)
  })

  it('a request re-sent under the same msg_id is not run again: msg_detailed_info names its answer', async () => {
    const req = c.send({ _: 'help.getNearestDc' })
    const answer = await c.waitFor((x) => x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === req)
    c.send({ _: 'help.getNearestDc' }, { msgId: req })
    const info = await c.waitFor(
      (x) => x.obj._ === 'msg_detailed_info' || (x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === req),
    )
    assert.equal(info.obj._, 'msg_detailed_info')
    assert.deepEqual([info.obj['msgId'], info.obj['answerMsgId']], [req, answer.msgId])
  })

  it('msgs_all_info and msgs_ack from the client need no answer and break nothing', async () => {
    c.send({ _: 'msgs_all_info', msgIds: [1n], info: Uint8Array.of(4) }, { contentRelated: false })
    c.send({ _: 'msgs_ack', msgIds: [1n] }, { contentRelated: false })
    assert.equal((await c.call({ _: 'help.getNearestDc' }))._, 'nearestDc')
  })

  it('destroy_auth_key → destroy_auth_key_ok, then the key is gone (-404)', async () => {
    const d = await RawDcClient.connect(dc.host, dc.portOf(2))
    try {
      const created = await d.createKey(dc.publicKey)
      d.send({ _: 'destroy_auth_key' })
      const m = await d.waitFor((x) => x.obj._.startsWith('destroy_auth_key') || x.obj._ === 'rpc_result')
      assert.equal(m.obj._, 'destroy_auth_key_ok')
      assert.equal(dc.dc(2).keys.get(created.authKey.idLong), undefined)
      d.send({ _: 'help.getNearestDc' })
      await assert.rejects(d.next(), /transport error -404/)
    } finally {
      d.close()
    }
  })
})

describe('test DC: requests it cannot read get an answer, never a closed connection', () => {
  let dc: TestDc
  let c: RawDcClient
  before(async () => {
    dc = await startTestDc({ dcIds: [2] })
    c = await RawDcClient.connect(dc.host, dc.portOf(2))
    await c.createKey(dc.publicKey)
  })
  after(async () => {
    c.close()
    await dc.stop()
  })

  const error = (v: TlValue): string => `${v['errorCode']} ${v['errorMessage']}`

  it('gzip_packed holding zlib (RFC 1950, as mtcute packs) or gzip is inflated and answered', async () => {
    const body = tlCodec.encode({ _: 'help.getNearestDc' })
    assert.equal((await c.call(gzipPacked(deflateSync(body))))._, 'nearestDc')
    assert.equal((await c.call(gzipPacked(gzipSync(body))))._, 'nearestDc')
  })

  it('a malformed gzip_packed gets rpc_error 400 INPUT_FETCH_ERROR and the connection goes on', async () => {
    assert.equal(error(await c.call(gzipPacked(Uint8Array.of(1, 2, 3, 4, 5, 6, 7)))), '400 INPUT_FETCH_ERROR')
    assert.equal(error(await c.call(gzipPacked(gzipSync(Uint8Array.of(1, 2, 3))))), '400 INPUT_FETCH_ERROR')
    assert.equal((await c.call({ _: 'help.getNearestDc' }))._, 'nearestDc')
  })

  it('an unknown method id gets 400 INPUT_METHOD_INVALID_<id>_0, as Telegram', async () => {
    assert.equal(error(await c.call(Uint8Array.of(0x74, 0x65, 0x73, 0x74))), '400 INPUT_METHOD_INVALID_1953719668_0')
  })

  it('truncated → INPUT_FETCH_ERROR, extra bytes → INPUT_REQUEST_TOO_LONG, a bad inner constructor → INPUT_CONSTRUCTOR_INVALID', async () => {
    const getUsers = tlCodec.encode({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })
    assert.equal(error(await c.call(getUsers.subarray(0, 8))), '400 INPUT_FETCH_ERROR')
    assert.equal(error(await c.call(Uint8Array.from([...getUsers, 0, 0, 0, 0]))), '400 INPUT_REQUEST_TOO_LONG')
    const badInner = Uint8Array.from(getUsers)
    badInner.set([0xde, 0xad, 0xbe, 0xef], 12) // the inputUserSelf constructor id
    assert.equal(error(await c.call(badInner)), '400 INPUT_CONSTRUCTOR_INVALID')
    assert.equal(c.closed, false)
  })

  it('a schema method the DC has no handler for gets INPUT_METHOD_INVALID_<id>_0 too', async () => {
    const req = tlCodec.encode({ _: 'help.getCdnConfig' })
    const id = new DataView(req.buffer, req.byteOffset).getUint32(0, true)
    assert.equal(error(await c.call(req)), `400 INPUT_METHOD_INVALID_${id}_0`)
  })
})
