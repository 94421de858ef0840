// Logins that are not phone codes: bot tokens, QR tokens (export → accept → update → success / migrate →
// import), and auth.exportAuthorization / importAuthorization across DCs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TlValue } from '../src/mtproto/tl/index.ts'
import { API_HASH, API_ID, Harness, rejectsWith, type FakeKey } from './testdc-accounts-harness.ts'

const exportToken = (key: FakeKey, exceptIds: bigint[] = []) =>
  key.call({ _: 'auth.exportLoginToken', apiId: API_ID, apiHash: API_HASH, exceptIds })

test('bots: importBotAuthorization ok, bad token → ACCESS_TOKEN_INVALID, wrong DC → USER_MIGRATE', async () => {
  const h = new Harness()
  const bot = h.registry.addBot({ dcId: 3, username: 'farm_bot' })
  assert.match(bot.botToken ?? '', /^\d+:[A-Za-z0-9_-]{35}$/)
  const token = bot.botToken ?? ''
  const req = (botAuthToken: string) => ({
    _: 'auth.importBotAuthorization' as const,
    flags: 0,
    apiId: API_ID,
    apiHash: API_HASH,
    botAuthToken,
  })
  await rejectsWith(h.key(3).call(req('nonsense')), 400, 'ACCESS_TOKEN_INVALID')
  await rejectsWith(h.key(3).call(req(`${bot.id}:wrongsecret`)), 400, 'ACCESS_TOKEN_INVALID')
  await rejectsWith(h.key(1).call(req(token)), 303, 'USER_MIGRATE_3')
  const key = h.key(3)
  const auth = await key.call(req(token))
  assert.equal(auth._, 'auth.authorization')
  assert.ok(auth.user._ === 'user' && auth.user.bot && auth.user.self)
  assert.equal(auth.user._ === 'user' && auth.user.botInfoVersion, 1)
  assert.equal(key.ctx.userId, bot.id)
})

test('QR: export → accept by another session → update routed → export again → loginTokenSuccess', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: '15550005555', dcId: 2 })
  const phoneKey = await h.login('15550005555', 2)
  const desktop = h.key(2)
  const lt = await exportToken(desktop)
  assert.equal(lt._, 'auth.loginToken')
  assert.equal(lt.expires, h.registry.nowSeconds() + 30)
  assert.equal(lt.token.length, 32)
  // not accepted yet: exporting again gives a new token
  const lt2 = await exportToken(desktop)
  assert.equal(lt2._, 'auth.loginToken')
  assert.notDeepEqual(lt2.token, lt.token)

  const authz = await phoneKey.call({ _: 'auth.acceptLoginToken', token: lt.token })
  assert.equal(authz._, 'authorization')
  assert.equal(authz.deviceModel, `test device ${desktop.ctx.authKeyId}`)
  assert.deepEqual(desktop.updates, [
    { _: 'updateShort', update: { _: 'updateLoginToken' }, date: h.registry.nowSeconds() },
  ])
  assert.deepEqual(
    h.accepted.map((e) => [e.dcId, e.authKeyId, e.userId]),
    [[2, desktop.ctx.authKeyId, ann.id]],
  )

  const done = await exportToken(desktop)
  assert.equal(done._, 'auth.loginTokenSuccess')
  assert.ok(
    done.authorization._ === 'auth.authorization' &&
      done.authorization.user._ === 'user' &&
      done.authorization.user.id === ann.id,
  )
  assert.equal(desktop.ctx.userId, ann.id)
  // the new session shows up in the phone's list under the hash acceptLoginToken reported
  const list = await phoneKey.call({ _: 'account.getAuthorizations' })
  assert.ok(list.authorizations.some((a) => a.hash === authz.hash))
  await rejectsWith(phoneKey.call({ _: 'auth.acceptLoginToken', token: lt.token }), 400, 'AUTH_TOKEN_ALREADY_ACCEPTED')
})

test('QR: accepting user on another DC → loginTokenMigrateTo → importLoginToken on the home DC', async () => {
  const h = new Harness()
  const bob = h.registry.addUser({ phone: '15550006666', dcId: 4 })
  const phoneKey = await h.login('15550006666', 4)
  const desktop = h.key(2)
  const lt = await exportToken(desktop)
  assert.equal(lt._, 'auth.loginToken')
  await phoneKey.call({ _: 'auth.acceptLoginToken', token: lt.token })
  assert.equal(desktop.updates.length, 1, 'the update reaches the exporting key on DC 2')
  const mig = await exportToken(desktop)
  assert.deepEqual(mig, { _: 'auth.loginTokenMigrateTo', dcId: 4, token: lt.token })
  assert.equal(desktop.ctx.userId, null)
  // importing on the wrong DC migrates again; on DC 4 it logs in
  const again = await h.key(3).call({ _: 'auth.importLoginToken', token: lt.token })
  assert.equal(again._, 'auth.loginTokenMigrateTo')
  const dc4 = h.key(4)
  const ok = await dc4.call({ _: 'auth.importLoginToken', token: lt.token })
  assert.equal(ok._, 'auth.loginTokenSuccess')
  assert.equal(dc4.ctx.userId, bob.id)
  await rejectsWith(h.key(4).call({ _: 'auth.importLoginToken', token: lt.token }), 400, 'AUTH_TOKEN_ALREADY_ACCEPTED')
  await rejectsWith(h.key(4).call({ _: 'auth.importLoginToken', token: new Uint8Array(32) }), 400, 'AUTH_TOKEN_INVALID')
})

test('QR: except_ids — a listed user cannot accept; expired token; 2FA user → SESSION_PASSWORD_NEEDED', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: '15550007777', dcId: 1 })
  const carol = h.registry.addUser({ phone: '15550008888', dcId: 1 })
  const annKey = await h.login('15550007777', 1)
  const desktop = h.key(1)
  const lt = await exportToken(desktop, [ann.id])
  assert.equal(lt._, 'auth.loginToken')
  await rejectsWith(annKey.call({ _: 'auth.acceptLoginToken', token: lt.token }), 400, 'AUTH_TOKEN_INVALID')
  assert.equal(desktop.updates.length, 0)
  assert.equal((await exportToken(desktop))._, 'auth.loginToken', 'still not logged in')

  h.advance(31)
  await rejectsWith(annKey.call({ _: 'auth.acceptLoginToken', token: lt.token }), 400, 'AUTH_TOKEN_EXPIRED')

  // a 2FA user's acceptance ends in SESSION_PASSWORD_NEEDED on the exporting key (it must then use SRP)
  const key2 = h.key(1)
  const lt3 = await exportToken(key2)
  assert.equal(lt3._, 'auth.loginToken')
  // carol logged in before she turned 2FA on
  const carolKey = await h.login('15550008888', 1)
  h.registry.setPassword(carol.id, 'pw')
  await carolKey.call({ _: 'auth.acceptLoginToken', token: lt3.token })
  await rejectsWith(exportToken(key2), 401, 'SESSION_PASSWORD_NEEDED')
  assert.equal(key2.ctx.userId, null)
  const pw = await key2.call({ _: 'account.getPassword' })
  assert.equal(pw.hasPassword, true)
})

test('QR: acceptLoginToken needs a logged-in session; the router overrides the captured key', async () => {
  const routed: [number, bigint, TlValue][] = []
  const h = new Harness({ updateRouter: { pushToKey: (dc, key, u) => routed.push([dc, key, u]) } })
  h.registry.addUser({ phone: '15550009999', dcId: 5 })
  const lt = await exportToken(h.key(5, 77n))
  assert.equal(lt._, 'auth.loginToken')
  await rejectsWith(h.key(5).call({ _: 'auth.acceptLoginToken', token: lt.token }), 401, 'AUTH_KEY_UNREGISTERED')
  const phoneKey = await h.login('15550009999', 5)
  await phoneKey.call({ _: 'auth.acceptLoginToken', token: lt.token })
  assert.deepEqual(
    routed.map(([dc, key, u]) => [dc, key, u._]),
    [[5, 77n, 'updateShort']],
  )
})

test('exportAuthorization on the home DC → importAuthorization on another DC', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: '15550001234', dcId: 2 })
  const home = await h.login('15550001234', 2)
  await rejectsWith(home.call({ _: 'auth.exportAuthorization', dcId: 2 }), 400, 'DC_ID_INVALID')
  await rejectsWith(home.call({ _: 'auth.exportAuthorization', dcId: 9 }), 400, 'DC_ID_INVALID')
  await rejectsWith(h.key(1).call({ _: 'auth.exportAuthorization', dcId: 4 }), 401, 'AUTH_KEY_UNREGISTERED')
  const exp = await home.call({ _: 'auth.exportAuthorization', dcId: 4 })
  assert.equal(exp._, 'auth.exportedAuthorization')
  await rejectsWith(
    h.key(3).call({ _: 'auth.importAuthorization', id: exp.id, bytes: exp.bytes }),
    400,
    'AUTH_BYTES_INVALID',
  )
  const bad = Uint8Array.from(exp.bytes)
  bad[0] ^= 1
  await rejectsWith(h.key(4).call({ _: 'auth.importAuthorization', id: exp.id, bytes: bad }), 400, 'AUTH_BYTES_INVALID')
  const media = h.key(4)
  const auth = await media.call({ _: 'auth.importAuthorization', id: exp.id, bytes: exp.bytes })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(media.ctx.userId, ann.id)
  await rejectsWith(
    h.key(4).call({ _: 'auth.importAuthorization', id: exp.id, bytes: exp.bytes }),
    400,
    'AUTH_BYTES_INVALID',
  )
})
