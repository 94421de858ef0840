// The test DC's key exchange takes what Telegram takes: p_q_inner_data under RSA_PAD or the old
// RSA(SHA1(data) ‖ data ‖ padding) scheme, in every variant (plain, _dc, _temp, _temp_dc); temporary keys bind to
// permanent ones with auth.bindTempAuthKey (PFS) and then answer as them; expired ones are gone (-404).
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startTestDc, type TestDc } from '../src/testdc/test-dc.ts'
import { encryptBindMessage } from '../src/mtproto/crypto/bind-message-cipher.ts'
import { tlCodec, type TlValue } from '../src/mtproto/tl/index.ts'
import { RawDcClient } from './support/raw-dc-client.ts'
import { packPlainMessage, unpackPlainMessage } from '../src/mtproto/session/plain-message.ts'
import { factorizePq } from '../src/mtproto/crypto/factorize.ts'

const BOOL_TRUE = 0x997275b5

// The same answers whether the DC computes its key-exchange arithmetic on its own thread or on threads of its own.
for (const cryptoThreads of [0, 2])
  describe(`test DC: RSA schemes and p_q_inner_data variants (${cryptoThreads ? `${cryptoThreads} crypto threads` : "arithmetic on the DC's thread"})`, () => {
    let dc: TestDc
    before(async () => {
      dc = await startTestDc({ dcIds: [2], cryptoThreads })
    })
    after(() => dc.stop())

    for (const rsaScheme of ['rsa_pad', 'old'] as const) {
      for (const withoutDc of [false, true]) {
        for (const temp of [false, true]) {
          const name = `p_q_inner_data${temp ? '_temp' : ''}${withoutDc ? '' : '_dc'}`
          it(`${name} under ${rsaScheme === 'old' ? 'the old SHA1 scheme' : 'RSA_PAD'}: a working key${temp ? ' that expires' : ''}`, async () => {
            const c = await RawDcClient.connect(dc.host, dc.portOf(2))
            try {
              const created = await c.createKey(dc.publicKey, {
                rsaScheme,
                withoutDc,
                ...(temp ? { tempKeyExpiresIn: 600 } : {}),
              })
              const key = dc.dc(2).keys.get(created.authKey.idLong)
              assert.ok(key, 'the DC keeps the key')
              if (temp) assert.ok(key.expiresAt! > Date.now() / 1000 + 590 && key.expiresAt! <= Date.now() / 1000 + 600)
              else assert.equal(key.expiresAt, null)
              const config = await c.call({ _: 'help.getConfig' })
              assert.equal(config._, 'config')
            } finally {
              c.close()
            }
          })
        }
      }
    }

    it('a req_DH_params whose encrypted_data fits neither scheme gets -404 (nothing decrypts)', async () => {
      const c = await RawDcClient.connect(dc.host, dc.portOf(2))
      try {
        const plain = async (obj: TlValue): Promise<Uint8Array> => {
          c.sendFrame(packPlainMessage(c.nextMsgId(), tlCodec.encode(obj)))
          return c.nextFrame()
        }
        const nonce = new Uint8Array(16).fill(7)
        const resPq = tlCodec.decode(unpackPlainMessage(await plain({ _: 'req_pq_multi', nonce })).body)
        const { pBytes, qBytes } = factorizePq(resPq['pq'] as Uint8Array)
        const garbage = new Uint8Array(256).fill(0x11)
        garbage[0] = 0 // below n, so the RSA step itself works
        const answer = await plain({
          _: 'req_DH_params',
          nonce,
          serverNonce: resPq['serverNonce'],
          p: pBytes,
          q: qBytes,
          publicKeyFingerprint: dc.publicKey.fingerprint,
          encryptedData: garbage,
        })
        assert.equal(new DataView(answer.buffer, answer.byteOffset).getInt32(0, true), -404)
      } finally {
        c.close()
      }
    })
  })

/** A users-less login marker: updates.getState answers pts = the caller's user id (0 when logged out). */
const whoAmI = {
  'updates.getState': (_req: TlValue, ctx: { userId: bigint | null }) => ({
    _: 'updates.state',
    pts: Number(ctx.userId ?? 0n),
    qts: 0,
    seq: 0,
    date: 0,
    unreadCount: 0,
  }),
}

describe('test DC: temporary keys and auth.bindTempAuthKey', () => {
  let dc: TestDc
  before(async () => {
    dc = await startTestDc({ dcIds: [2], services: () => whoAmI })
  })
  after(() => dc.stop())

  async function pair(): Promise<{ perm: RawDcClient; temp: RawDcClient; permId: bigint; tempId: bigint }> {
    const perm = await RawDcClient.connect(dc.host, dc.portOf(2))
    const temp = await RawDcClient.connect(dc.host, dc.portOf(2))
    const p = await perm.createKey(dc.publicKey)
    const t = await temp.createKey(dc.publicKey, { tempKeyExpiresIn: 3600 })
    dc.dc(2).cluster.bindKey(2, p.authKey.idLong, 4242n) // the permanent key is logged in as user 4242
    return { perm, temp, permId: p.authKey.idLong, tempId: t.authKey.idLong }
  }

  /** auth.bindTempAuthKey as a client makes it, with `tamper` changing one thing. */
  function bindRequest(
    temp: RawDcClient,
    permKey: RawDcClient,
    opts: { msgId: bigint; expiresAt?: number; tamper?: Partial<Record<string, unknown>> },
  ): TlValue {
    const expiresAt = opts.expiresAt ?? Math.floor(Date.now() / 1000) + 3000
    const nonce = 77n
    const inner = {
      _: 'bind_auth_key_inner',
      nonce,
      tempAuthKeyId: temp.authKey!.idLong,
      permAuthKeyId: permKey.authKey!.idLong,
      tempSessionId: temp.sessionId,
      expiresAt,
      ...opts.tamper,
    }
    const encryptedMessage = encryptBindMessage(permKey.authKey!, {
      msgId: opts.msgId,
      seqNo: 0,
      body: tlCodec.encode(inner as TlValue),
    })
    return { _: 'auth.bindTempAuthKey', permAuthKeyId: permKey.authKey!.idLong, nonce, expiresAt, encryptedMessage }
  }

  /** Sends the bind request under the msg_id it names; returns the raw rpc_result body. */
  async function bind(
    temp: RawDcClient,
    perm: RawDcClient,
    opts: { expiresAt?: number; tamper?: Partial<Record<string, unknown>>; wrongMsgId?: boolean } = {},
  ): Promise<TlValue | 'true'> {
    const msgId = temp.nextMsgId()
    const req = bindRequest(temp, perm, { msgId: opts.wrongMsgId ? msgId + 4n : msgId, ...opts })
    temp.send(req, { msgId })
    const m = await temp.waitFor((x) => x.obj._ === 'rpc_result' && x.obj['reqMsgId'] === msgId)
    if (new DataView(m.body.buffer, m.body.byteOffset + 12, 4).getUint32(0, true) === BOOL_TRUE) return 'true'
    return m.obj['result'] as TlValue
  }

  it('an unbound temporary key reads the config but gets 401 AUTH_KEY_PERM_EMPTY for anything else', async () => {
    const { perm, temp } = await pair()
    try {
      assert.equal((await temp.call({ _: 'help.getConfig' }))._, 'config')
      const err = await temp.call({ _: 'updates.getState' })
      assert.deepEqual([err['errorCode'], err['errorMessage']], [401, 'AUTH_KEY_PERM_EMPTY'])
    } finally {
      perm.close()
      temp.close()
    }
  })

  it('after binding, the temporary key answers as its permanent key (same login)', async () => {
    const { perm, temp } = await pair()
    try {
      assert.equal(await bind(temp, perm), 'true')
      assert.equal((await temp.call({ _: 'updates.getState' }))['pts'], 4242)
      assert.equal((await perm.call({ _: 'updates.getState' }))['pts'], 4242)
    } finally {
      perm.close()
      temp.close()
    }
  })

  it('refuses what Telegram refuses: wrong msg_id, nonce, key ids or session, a permanent key, a past expires_at, a second permanent key', async () => {
    const { perm, temp } = await pair()
    const other = await RawDcClient.connect(dc.host, dc.portOf(2))
    await other.createKey(dc.publicKey)
    const error = (v: TlValue | 'true'): string => (v === 'true' ? 'true' : `${v['errorCode']} ${v['errorMessage']}`)
    try {
      assert.equal(error(await bind(temp, perm, { wrongMsgId: true })), '400 ENCRYPTED_MESSAGE_INVALID')
      assert.equal(error(await bind(temp, perm, { tamper: { nonce: 78n } })), '400 ENCRYPTED_MESSAGE_INVALID')
      assert.equal(error(await bind(temp, perm, { tamper: { tempAuthKeyId: 5n } })), '400 ENCRYPTED_MESSAGE_INVALID')
      assert.equal(error(await bind(temp, perm, { tamper: { tempSessionId: 5n } })), '400 ENCRYPTED_MESSAGE_INVALID')
      assert.equal(error(await bind(temp, perm, { tamper: { expiresAt: 5 } })), '400 ENCRYPTED_MESSAGE_INVALID')
      assert.equal(
        error(await bind(temp, perm, { expiresAt: Math.floor(Date.now() / 1000) - 10 })),
        '400 EXPIRES_AT_INVALID',
      )
      // On a permanent key there is no temporary key to bind.
      assert.equal(error(await bind(other, perm)), '400 TEMP_AUTH_KEY_EMPTY')
      assert.equal(error(await bind(temp, perm)), 'true')
      assert.equal(error(await bind(temp, other)), '400 TEMP_AUTH_KEY_ALREADY_BOUND')
      // Binding the same pair again is fine.
      assert.equal(error(await bind(temp, perm)), 'true')
    } finally {
      perm.close()
      temp.close()
      other.close()
    }
  })

  it('a new temporary key bound to the same permanent key replaces the old one (which is unbound again)', async () => {
    const { perm, temp } = await pair()
    const temp2 = await RawDcClient.connect(dc.host, dc.portOf(2))
    await temp2.createKey(dc.publicKey, { tempKeyExpiresIn: 3600 })
    try {
      assert.equal(await bind(temp, perm), 'true')
      assert.equal(await bind(temp2, perm), 'true')
      assert.equal((await temp2.call({ _: 'updates.getState' }))['pts'], 4242)
      assert.equal((await temp.call({ _: 'updates.getState' }))['errorMessage'], 'AUTH_KEY_PERM_EMPTY')
    } finally {
      perm.close()
      temp.close()
      temp2.close()
    }
  })

  it('an expired temporary key is gone: its next packet gets transport error -404', async () => {
    const { perm, temp, tempId } = await pair()
    try {
      assert.equal(await bind(temp, perm), 'true')
      dc.dc(2).keys.get(tempId)!.expiresAt = Math.floor(Date.now() / 1000) - 1
      temp.send({ _: 'help.getConfig' })
      await assert.rejects(temp.next(), /transport error -404/)
      assert.equal(dc.dc(2).keys.get(tempId), undefined)
      // The permanent key and its login stay.
      assert.equal((await perm.call({ _: 'updates.getState' }))['pts'], 4242)
    } finally {
      perm.close()
      temp.close()
    }
  })
})
