// The test DC serves every bundled layer as Telegram serves old layers: a client that announces layer 144 or 158
// (old Linux-distribution clients, Pyrogram 2.0.106) and makes its key with the old RSA scheme logs in through
// sendCode → signIn → 2FA → users.getUsers, and every answer is read with that layer's codec, which accepts only
// that layer's constructors. A layer without an exact schema is served in the nearest bundled one below it, above
// the newest in the newest; below the oldest every call is refused with CONNECTION_LAYER_INVALID.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DcConnection } from '../src/mtproto/dc/dc-connection.ts'
import { RpcError } from '../src/mtproto/rpc-error.ts'
import { computeSrpCheck, srpPasswordHash, type SrpAlgo } from '../src/mtproto/crypto/srp.ts'
import {
  BUNDLED_LAYERS,
  codecForLayer,
  layerSchema,
  servedLayer,
  tlCodec,
  LayerConverter,
  type TlCodec,
  type TlValue,
} from '../src/mtproto/tl/index.ts'
import { startAccountsDc, type AccountsDc } from './support/accounts-dc.ts'
import { RawDcClient } from './support/raw-dc-client.ts'
import { APP } from './support/dc-env.ts'

const API_HASH = 'b18441a1ff607e10a989891a5462e627'

/** A connection of our own client speaking `codec`'s layer, on a key made with the old RSA scheme. */
async function oldClient(env: AccountsDc, codec: TlCodec): Promise<DcConnection> {
  const raw = await RawDcClient.connect(env.dc.host, env.dc.portOf(2))
  let created
  try {
    created = await raw.createKey(env.dc.publicKey, { rsaScheme: 'old', withoutDc: true })
  } finally {
    raw.close()
  }
  const conn = new DcConnection({
    dcId: 2,
    host: env.dc.host,
    port: env.dc.portOf(2),
    testMode: true,
    rsaKeys: [env.dc.publicKey],
    app: APP,
    codec,
    authKey: created.authKey.key,
    serverSalt: created.serverSalt,
  })
  await conn.connect()
  return conn
}

/** The constructor ids a layer's schema has, to check an answer holds nothing else. */
function idsOf(codec: TlCodec): Set<string> {
  return new Set(codec.encoders.keys())
}

/** Every constructor name inside a decoded value. */
function namesIn(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) namesIn(x, out)
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o = v as Record<string, unknown>
    if (typeof o['_'] === 'string') out.push(o['_'])
    for (const [k, x] of Object.entries(o)) if (k !== '_') namesIn(x, out)
  }
  return out
}

for (const layer of [144, 158]) {
  test(`layer ${layer}, old RSA scheme: sendCode → signIn → 2FA → users.getUsers, every answer in layer ${layer}`, async () => {
    const env = await startAccountsDc()
    const phone = `1555000${layer}7`
    env.accounts.addUser({
      phone,
      dcId: 2,
      firstName: 'Layer',
      lastName: String(layer),
      password: { password: 'correct horse' },
    })
    const codec = await codecForLayer(layer)
    assert.equal(codec.layer, layer)
    const known = idsOf(codec)
    const conn = await oldClient(env, codec)
    const call = async (req: TlValue): Promise<TlValue> => {
      const res = (await conn.invoke(req)) as TlValue
      for (const n of namesIn(res)) assert.ok(known.has(n), `${n} in the answer to ${req._} is not in layer ${layer}`)
      return res
    }
    try {
      const codeArrives = env.nextCode(phone)
      const sent = await call({
        _: 'auth.sendCode',
        phoneNumber: phone,
        apiId: APP.apiId,
        apiHash: API_HASH,
        settings: { _: 'codeSettings' },
      })
      assert.equal(sent._, 'auth.sentCode')
      assert.equal(env.dc.dc(2).keys.size > 0, true)
      const code = await codeArrives
      await assert.rejects(
        call({ _: 'auth.signIn', phoneNumber: phone, phoneCodeHash: sent['phoneCodeHash'], phoneCode: code }),
        (e: unknown) => e instanceof RpcError && e.errorMessage === 'SESSION_PASSWORD_NEEDED',
      )
      const pw = await call({ _: 'account.getPassword' })
      assert.equal(pw._, 'account.password')
      assert.equal(pw['hasPassword'], true)
      const algo = pw['currentAlgo'] as TlValue & SrpAlgo
      const check = computeSrpCheck({
        algo,
        srpB: pw['srpB'] as Uint8Array,
        srpId: pw['srpId'] as bigint,
        passwordHash: srpPasswordHash('correct horse', algo),
      })
      const auth = await call({
        _: 'auth.checkPassword',
        password: { _: 'inputCheckPasswordSRP', srpId: check.srpId, A: check.A, M1: check.M1 },
      })
      assert.equal(auth._, 'auth.authorization')
      const users = (await conn.invoke({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })) as TlValue[]
      for (const n of namesIn(users)) assert.ok(known.has(n), `${n} in users.getUsers is not in layer ${layer}`)
      assert.equal(users.length, 1)
      const me = users[0]!
      assert.equal(me._, 'user')
      assert.equal(me['self'], true)
      assert.equal(me['phone'], phone)
      assert.equal(me['firstName'], 'Layer')
      assert.equal(typeof me['id'], 'bigint')
      // The DC remembers the layer on the key and answers the next calls in it too.
      const state = await call({ _: 'updates.getState' })
      assert.equal(state._, 'updates.state')
    } finally {
      conn.close()
      await env.stop()
    }
  })
}

test('bundled layers: exact ones for 144, 158, 198, 223 (pinned) and the newest; nearest below otherwise', () => {
  for (const l of [144, 158, 198, 223, 227]) assert.ok(BUNDLED_LAYERS.includes(l), `layer ${l} is bundled`)
  const oldest = BUNDLED_LAYERS[0]!
  const newest = BUNDLED_LAYERS.at(-1)!
  assert.ok(newest >= 227)
  assert.equal(servedLayer(oldest - 1), null)
  assert.equal(servedLayer(newest + 50), newest)
  const gap = BUNDLED_LAYERS.find((l, i) => i > 0 && BUNDLED_LAYERS[i - 1]! < l - 1)!
  const below = BUNDLED_LAYERS[BUNDLED_LAYERS.indexOf(gap) - 1]!
  assert.equal(servedLayer(gap - 1), below)
})

test('every bundled layer parses, builds a codec, and writes and reads its login objects', async () => {
  for (const l of BUNDLED_LAYERS) {
    const codec = await codecForLayer(l)
    assert.equal(codec.layer, l)
    const req: TlValue = {
      _: 'auth.sendCode',
      phoneNumber: '15550001234',
      apiId: 1,
      apiHash: API_HASH,
      settings: { _: 'codeSettings' },
    }
    assert.deepEqual(codec.decode(codec.encode(req))['phoneNumber'], '15550001234', `layer ${l}`)
  }
})

test('conversion by name: a code delivery layer 144 lacks arrives as an SMS; ids are int before layer 133', async () => {
  const to144 = new LayerConverter(layerSchema(144))
  const internal = {
    _: 'auth.sentCode',
    type: { _: 'auth.sentCodeTypeFragmentSms', url: 'https://fragment.com/n', length: 5 },
    phoneCodeHash: 'h',
    timeout: 60,
  }
  const sent = to144.result('auth.sendCode', internal) as TlValue
  assert.deepEqual(sent['type'], { _: 'auth.sentCodeTypeSms', length: 5 })
  const codec144 = await codecForLayer(144)
  const back = codec144.decodeResult(
    { _: 'auth.sendCode' },
    codec144.encodeResult({ _: 'auth.sendCode' }, sent),
  ) as TlValue
  assert.equal((back['type'] as TlValue)._, 'auth.sentCodeTypeSms')
  assert.equal(back['timeout'], 60)

  const to131 = new LayerConverter(layerSchema(131))
  const users = to131.result('users.getUsers', [
    { _: 'user', id: 777n, accessHash: 5n, self: true, firstName: 'A', phone: '15550001' },
  ]) as TlValue[]
  assert.equal(users[0]!['id'], 777)
  const codec131 = await codecForLayer(131)
  const read = codec131.decodeResult(
    { _: 'users.getUsers' },
    codec131.encodeResult({ _: 'users.getUsers' }, users),
  ) as TlValue[]
  assert.deepEqual([read[0]!['id'], read[0]!['self'], read[0]!['phone']], [777, true, '15550001'])
})

/** invokeWithLayer(layer, initConnection(query)) in our pinned codec: the wrapper's bytes are the same in every layer. */
function withLayer(layer: number, query: TlValue): TlValue {
  return {
    _: 'invokeWithLayer',
    layer,
    query: {
      _: 'initConnection',
      apiId: APP.apiId,
      deviceModel: 'old',
      systemVersion: 'x',
      appVersion: '1',
      systemLangCode: 'en',
      langPack: '',
      langCode: 'en',
      query,
    },
  }
}

test('below the oldest bundled layer every call is refused with CONNECTION_LAYER_INVALID, the later ones too', async () => {
  const env = await startAccountsDc()
  const c = await RawDcClient.connect(env.dc.host, env.dc.portOf(2))
  try {
    await c.createKey(env.dc.publicKey)
    const tooOld = BUNDLED_LAYERS[0]! - 1
    const first = await c.call(withLayer(tooOld, { _: 'help.getNearestDc' }))
    assert.deepEqual(
      [first._, first['errorCode'], first['errorMessage']],
      ['rpc_error', 400, 'CONNECTION_LAYER_INVALID'],
    )
    // No invokeWithLayer this time: still refused, not answered in some other layer.
    const second = await c.call({ _: 'help.getNearestDc' })
    assert.deepEqual([second._, second['errorMessage']], ['rpc_error', 'CONNECTION_LAYER_INVALID'])
    // Service messages are not calls: ping still gets its pong.
    const pingId = 77n
    c.send({ _: 'ping', pingId }, { contentRelated: false })
    const pong = await c.waitFor((m) => m.obj._ === 'pong')
    assert.equal(pong.obj['pingId'], pingId)
    // Announcing a layer the DC serves ends it.
    const third = await c.call(withLayer(tlCodec.layer, { _: 'help.getNearestDc' }))
    assert.equal(third._, 'nearestDc')
  } finally {
    c.close()
    await env.stop()
  }
})

test('a layer between bundled ones is served in the nearest below; above the newest in the newest', async () => {
  const env = await startAccountsDc()
  try {
    const gap = BUNDLED_LAYERS.find((l, i) => i > 0 && BUNDLED_LAYERS[i - 1]! < l - 1)!
    for (const announced of [gap - 1, BUNDLED_LAYERS.at(-1)! + 7]) {
      const served = servedLayer(announced)!
      const servedCodec = await codecForLayer(served)
      const c = await RawDcClient.connect(env.dc.host, env.dc.portOf(2))
      try {
        await c.createKey(env.dc.publicKey)
        const msgId = c.send(servedCodec.encode(withLayer(announced, { _: 'help.getConfig' })))
        const m = await c.waitFor((x) => x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === msgId)
        const res = m.obj['result'] as TlValue
        assert.notEqual(res?._, 'rpc_error', `announced ${announced}: ${String(res?.['errorMessage'])}`)
        // The raw body after rpc_result's header, read strictly as the served layer's help.getConfig result.
        const config = servedCodec.decodeResult({ _: 'help.getConfig' }, m.body.subarray(12))
        assert.equal((config as TlValue)._, 'config', `announced ${announced}, served ${served}`)
      } finally {
        c.close()
      }
    }
  } finally {
    await env.stop()
  }
})
