// 2FA on the test DC: SESSION_PASSWORD_NEEDED → account.getPassword → a client SRP proof made with our own
// client-side SRP (src/mtproto/crypto/srp.ts) → auth.checkPassword; wrong passwords, stale srp_ids, flood, recovery.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { tl } from '../src/mtproto/tl/index.ts'
import {
  computeSrpCheck,
  srpNewSalt1,
  srpPasswordHashAsync,
  srpVerifier,
  type SrpAlgo,
} from '../src/mtproto/crypto/srp.ts'
import { hashOf, Harness, rejectsWith, sendCodeReq, type FakeKey } from './testdc-accounts-harness.ts'

const PHONE = '15550004444'

/** sendCode + signIn for a 2FA account: SESSION_PASSWORD_NEEDED, and the key stays logged out. */
async function reachPassword(h: Harness, dcId: number): Promise<FakeKey> {
  const key = h.key(dcId)
  const sent = await key.call(sendCodeReq(PHONE))
  const hash = hashOf(sent)
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: hash, phoneCode: h.lastCode(PHONE).code }),
    401,
    'SESSION_PASSWORD_NEEDED',
  )
  assert.equal(key.ctx.userId, null)
  return key
}

/** account.getPassword → inputCheckPasswordSRP for `password`, the way a client computes it. */
async function proof(key: FakeKey, password: string): Promise<tl.RawInputCheckPasswordSRP> {
  const pw = await key.call({ _: 'account.getPassword' })
  assert.equal(pw.hasPassword, true)
  const algo = pw.currentAlgo
  assert.ok(algo?._ === 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow')
  assert.ok(pw.srpB && pw.srpId !== undefined)
  const srpAlgo: SrpAlgo = { salt1: algo.salt1, salt2: algo.salt2, g: algo.g, p: algo.p }
  const check = computeSrpCheck({
    algo: srpAlgo,
    srpB: pw.srpB,
    srpId: pw.srpId,
    passwordHash: await srpPasswordHashAsync(password, srpAlgo),
  })
  return { _: 'inputCheckPasswordSRP', srpId: check.srpId, A: check.A, M1: check.M1 }
}

test('2FA: SESSION_PASSWORD_NEEDED → getPassword → SRP proof → checkPassword logs the key in', async () => {
  const h = new Harness()
  const acc = h.registry.addUser({
    phone: PHONE,
    dcId: 2,
    password: { password: 'correct horse', hint: 'horse', recoveryEmail: 'ann@example.com' },
  })
  const key = await reachPassword(h, 2)
  const pw = await key.call({ _: 'account.getPassword' })
  assert.equal(pw.hint, 'horse')
  assert.equal(pw.hasRecovery, true)
  assert.equal(pw.srpB?.length, 256)
  assert.equal(pw.newAlgo._, 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow')
  const input = await proof(key, 'correct horse')
  const auth = await key.call({ _: 'auth.checkPassword', password: input })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(auth.user._ === 'user' && auth.user.id, acc.id)
  assert.equal(key.ctx.userId, acc.id)
  // the srp_id was used up
  await rejectsWith(key.call({ _: 'auth.checkPassword', password: input }), 400, 'SRP_ID_INVALID')
})

test('2FA: wrong password → PASSWORD_HASH_INVALID; an older srp_id → SRP_ID_INVALID; empty → PASSWORD_HASH_INVALID', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1, password: 'right' })
  const key = await reachPassword(h, 1)
  await rejectsWith(
    key.call({ _: 'auth.checkPassword', password: await proof(key, 'wrong') }),
    400,
    'PASSWORD_HASH_INVALID',
  )
  assert.equal(key.ctx.userId, null)
  const old = await proof(key, 'right')
  await key.call({ _: 'account.getPassword' }) // a newer challenge replaces the one `old` answers
  await rejectsWith(key.call({ _: 'auth.checkPassword', password: old }), 400, 'SRP_ID_INVALID')
  await rejectsWith(
    key.call({ _: 'auth.checkPassword', password: { _: 'inputCheckPasswordEmpty' } }),
    400,
    'PASSWORD_HASH_INVALID',
  )
  const ok = await key.call({ _: 'auth.checkPassword', password: await proof(key, 'right') })
  assert.equal(ok._, 'auth.authorization')
})

test('2FA: password changed between getPassword and checkPassword → SRP_PASSWORD_CHANGED', async () => {
  const h = new Harness()
  const acc = h.registry.addUser({ phone: PHONE, dcId: 1, password: 'one' })
  const key = await reachPassword(h, 1)
  const input = await proof(key, 'one')
  h.registry.setPassword(acc.id, 'two')
  await rejectsWith(key.call({ _: 'auth.checkPassword', password: input }), 400, 'SRP_PASSWORD_CHANGED')
})

test('2FA: FLOOD_WAIT after too many wrong passwords when configured', async () => {
  const h = new Harness({ passwordFlood: { max: 2, windowSeconds: 300 } })
  h.registry.addUser({ phone: PHONE, dcId: 1, password: 'right' })
  const key = await reachPassword(h, 1)
  for (let i = 0; i < 2; i++)
    await rejectsWith(
      key.call({ _: 'auth.checkPassword', password: await proof(key, 'wrong') }),
      400,
      'PASSWORD_HASH_INVALID',
    )
  await rejectsWith(key.call({ _: 'auth.checkPassword', password: await proof(key, 'right') }), 420, 'FLOOD_WAIT_300')
  h.advance(301)
  assert.equal(
    (await key.call({ _: 'auth.checkPassword', password: await proof(key, 'right') }))._,
    'auth.authorization',
  )
})

test('2FA recovery: requestPasswordRecovery → email code via the hook → recoverPassword clears 2FA and logs in', async () => {
  const h = new Harness()
  const acc = h.registry.addUser({
    phone: PHONE,
    dcId: 1,
    password: { password: 'lost', recoveryEmail: 'ann@example.com' },
  })
  const key = await reachPassword(h, 1)
  const rec = await key.call({ _: 'auth.requestPasswordRecovery' })
  assert.equal(rec.emailPattern, 'a***@example.com')
  const delivery = h.codes.at(-1)
  assert.ok(delivery)
  assert.equal(delivery.type, 'email')
  assert.equal(delivery.phoneCodeHash, null)
  assert.match(delivery.code, /^\d{6}$/)
  await rejectsWith(key.call({ _: 'auth.recoverPassword', code: '' }), 400, 'CODE_EMPTY')
  await rejectsWith(
    key.call({ _: 'auth.recoverPassword', code: delivery.code === '000000' ? '111111' : '000000' }),
    400,
    'CODE_INVALID',
  )
  assert.equal(await key.call({ _: 'auth.checkRecoveryPassword', code: delivery.code }), true)
  const auth = await key.call({ _: 'auth.recoverPassword', code: delivery.code })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(key.ctx.userId, acc.id)
  assert.equal(acc.password, null)
  const pw = await key.call({ _: 'account.getPassword' })
  assert.ok(!pw.hasPassword)
})

test('2FA recovery: new_settings sets a new password from the client-side verifier', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1, password: { password: 'lost', recoveryEmail: 'ann@example.com' } })
  const key = await reachPassword(h, 1)
  await key.call({ _: 'auth.requestPasswordRecovery' })
  const code = h.codes.at(-1)?.code ?? ''
  // what a client does: new_algo from getPassword, salt1 extended, v = g^x
  const newAlgo = (await key.call({ _: 'account.getPassword' })).newAlgo
  assert.ok(newAlgo._ === 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow')
  const algo: SrpAlgo = { salt1: srpNewSalt1(newAlgo.salt1), salt2: newAlgo.salt2, g: newAlgo.g, p: newAlgo.p }
  const v = srpVerifier(algo, await srpPasswordHashAsync('fresh', algo))
  await key.call({
    _: 'auth.recoverPassword',
    code,
    newSettings: {
      _: 'account.passwordInputSettings',
      newAlgo: { _: 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow', ...algo },
      newPasswordHash: v,
      hint: 'new',
    },
  })
  // a new login needs the new password
  const k2 = await reachPassword(h, 1)
  await rejectsWith(
    k2.call({ _: 'auth.checkPassword', password: await proof(k2, 'lost') }),
    400,
    'PASSWORD_HASH_INVALID',
  )
  assert.equal((await k2.call({ _: 'auth.checkPassword', password: await proof(k2, 'fresh') }))._, 'auth.authorization')
})

test('2FA recovery unavailable without a recovery email; getPassword on an idle key is 401', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1, password: 'pw' })
  await rejectsWith(h.key(1).call({ _: 'account.getPassword' }), 401, 'AUTH_KEY_UNREGISTERED')
  const key = await reachPassword(h, 1)
  await rejectsWith(key.call({ _: 'auth.requestPasswordRecovery' }), 400, 'PASSWORD_RECOVERY_NA')
  await rejectsWith(key.call({ _: 'auth.recoverPassword', code: '123456' }), 400, 'PASSWORD_RECOVERY_NA')
})
