// Phone login on the test DC's accounts API: codes, their errors and delivery types, sign-up, flood, migration,
// test numbers, banned numbers, and seeding from a JSON file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TestDcAccountsError } from '../src/testdc/accounts/index.ts'
import { hashOf, Harness, rejectsWith, sendCodeReq } from './testdc-accounts-harness.ts'

const PHONE = '15550001111'

test('phone login: sendCode → code hook → signIn → auth.authorization; a second sendCode kills the first hash', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({
    phone: `+1 555 000 1111`,
    dcId: 2,
    firstName: 'Ann',
    lastName: 'Lee',
    username: 'ann',
  })
  const key = h.key(2)
  const first = await key.call(sendCodeReq(PHONE))
  assert.equal(first._, 'auth.sentCode')
  assert.deepEqual(first.type, { _: 'auth.sentCodeTypeSms', length: 5 })
  assert.deepEqual(first.nextType, { _: 'auth.codeTypeCall' })
  assert.equal(first.timeout, 60)
  const d1 = h.lastCode(PHONE)
  assert.deepEqual(
    { ...d1, code: undefined },
    { phone: PHONE, code: undefined, type: 'sms', phoneCodeHash: hashOf(first), dcId: 2 },
  )
  assert.match(d1.code, /^\d{5}$/)

  const second = await key.call(sendCodeReq(PHONE))
  assert.notEqual(hashOf(second), hashOf(first))
  const d2 = h.lastCode(PHONE)
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: hashOf(first), phoneCode: d2.code }),
    400,
    'PHONE_CODE_EXPIRED',
  )
  assert.equal(key.ctx.userId, null)

  const auth = await key.call({
    _: 'auth.signIn',
    phoneNumber: PHONE,
    phoneCodeHash: hashOf(second),
    phoneCode: d2.code,
  })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(auth.user._, 'user')
  assert.equal(auth.user.id, ann.id)
  assert.equal(auth.user.accessHash, ann.accessHash)
  assert.equal(auth.user.self, true)
  assert.equal(auth.user.phone, PHONE)
  assert.equal(auth.user.firstName, 'Ann')
  assert.equal(auth.user.username, 'ann')
  assert.equal(key.ctx.userId, ann.id)
  // the code is used up
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: hashOf(second), phoneCode: d2.code }),
    400,
    'PHONE_CODE_EXPIRED',
  )
})

test('code errors: invalid, empty, hash empty, expired, bad phone', async () => {
  const h = new Harness({ codeTtlSeconds: 120 })
  h.registry.addUser({ phone: PHONE, dcId: 1, code: '12345' })
  const key = h.key(1)
  const phoneCodeHash = hashOf(await key.call(sendCodeReq(PHONE)))
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash, phoneCode: '54321' }),
    400,
    'PHONE_CODE_INVALID',
  )
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash, phoneCode: '' }),
    400,
    'PHONE_CODE_EMPTY',
  )
  await rejectsWith(key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash }), 400, 'PHONE_CODE_EMPTY')
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: '', phoneCode: '12345' }),
    400,
    'PHONE_CODE_HASH_EMPTY',
  )
  await rejectsWith(
    key.call({ _: 'auth.resendCode', phoneNumber: PHONE, phoneCodeHash: '' }),
    400,
    'PHONE_CODE_HASH_EMPTY',
  )
  await rejectsWith(key.call(sendCodeReq('12ab')), 400, 'PHONE_NUMBER_INVALID')
  await rejectsWith(key.call(sendCodeReq('123')), 400, 'PHONE_NUMBER_INVALID')
  h.advance(121)
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash, phoneCode: '12345' }),
    400,
    'PHONE_CODE_EXPIRED',
  )
  assert.equal(key.ctx.userId, null)
})

test('delivery types: app → sms → call through resendCode, then SEND_CODE_UNAVAILABLE; cancelCode', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1, codeTypes: ['app', 'sms', 'call'] })
  const key = h.key(1)
  const sent = await key.call(sendCodeReq(PHONE))
  assert.equal(sent._, 'auth.sentCode')
  assert.equal(sent.type._, 'auth.sentCodeTypeApp')
  assert.deepEqual(sent.nextType, { _: 'auth.codeTypeSms' })
  const code = h.lastCode(PHONE).code
  const r1 = await key.call({ _: 'auth.resendCode', phoneNumber: PHONE, phoneCodeHash: hashOf(sent) })
  assert.equal(r1._ === 'auth.sentCode' && r1.type._, 'auth.sentCodeTypeSms')
  assert.equal(h.lastCode(PHONE).type, 'sms')
  assert.equal(h.lastCode(PHONE).code, code, 'a resend repeats the same code')
  const r2 = await key.call({ _: 'auth.resendCode', phoneNumber: PHONE, phoneCodeHash: hashOf(sent) })
  assert.equal(r2._ === 'auth.sentCode' && r2.type._, 'auth.sentCodeTypeCall')
  assert.equal(r2._ === 'auth.sentCode' && r2.nextType, undefined)
  await rejectsWith(
    key.call({ _: 'auth.resendCode', phoneNumber: PHONE, phoneCodeHash: hashOf(sent) }),
    406,
    'SEND_CODE_UNAVAILABLE',
  )
  assert.equal(await key.call({ _: 'auth.cancelCode', phoneNumber: PHONE, phoneCodeHash: hashOf(sent) }), true)
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: hashOf(sent), phoneCode: code }),
    400,
    'PHONE_CODE_EXPIRED',
  )
})

test('sign-up: unknown phone → authorizationSignUpRequired with terms → signUp → account on that DC', async () => {
  const h = new Harness()
  const key = h.key(3)
  const phone = '447700900123'
  const sent = await key.call(sendCodeReq(phone))
  assert.equal(sent._, 'auth.sentCode')
  const code = h.lastCode(phone).code
  await rejectsWith(
    key.call({ _: 'auth.signUp', phoneNumber: phone, phoneCodeHash: hashOf(sent), firstName: 'New', lastName: '' }),
    400,
    'PHONE_CODE_INVALID',
  )
  const res = await key.call({ _: 'auth.signIn', phoneNumber: phone, phoneCodeHash: hashOf(sent), phoneCode: code })
  assert.equal(res._, 'auth.authorizationSignUpRequired')
  assert.equal(res.termsOfService?.text.length !== 0, true)
  assert.equal(key.ctx.userId, null)
  await rejectsWith(
    key.call({ _: 'auth.signUp', phoneNumber: phone, phoneCodeHash: hashOf(sent), firstName: '  ', lastName: '' }),
    400,
    'FIRSTNAME_INVALID',
  )
  const auth = await key.call({
    _: 'auth.signUp',
    phoneNumber: phone,
    phoneCodeHash: hashOf(sent),
    firstName: 'New',
    lastName: 'Person',
  })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(auth.user._ === 'user' && auth.user.firstName, 'New')
  const account = h.registry.userByPhone(phone)
  assert.equal(account?.homeDc, 3)
  assert.equal(account?.registered, true)
  assert.equal(key.ctx.userId, account?.id)
  // the phone is now occupied
  const k2 = h.key(3)
  const s2 = await k2.call(sendCodeReq(phone))
  const again = await k2.call({
    _: 'auth.signIn',
    phoneNumber: phone,
    phoneCodeHash: hashOf(s2),
    phoneCode: h.lastCode(phone).code,
  })
  assert.equal(again._, 'auth.authorization')
})

test('sign-up: a seeded unregistered phone keeps its home DC; old layers get PHONE_NUMBER_UNOCCUPIED', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 4, registered: false, code: '11111' })
  const key = h.key(4)
  key.ctx.layer = 100
  const sent = await key.call(sendCodeReq(PHONE))
  const hash = hashOf(sent)
  await rejectsWith(
    key.call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: hash, phoneCode: '11111' }),
    400,
    'PHONE_NUMBER_UNOCCUPIED',
  )
  const auth = await key.call({
    _: 'auth.signUp',
    phoneNumber: PHONE,
    phoneCodeHash: hash,
    firstName: 'Late',
    lastName: '',
  })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(h.registry.userByPhone(PHONE)?.homeDc, 4)
})

test('FLOOD_WAIT after N sendCodes per phone within the window', async () => {
  const h = new Harness({ sendCodeFlood: { max: 3, windowSeconds: 600 } })
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const key = h.key(1)
  for (let i = 0; i < 3; i++) {
    await key.call(sendCodeReq(PHONE))
    h.advance(10)
  }
  await rejectsWith(key.call(sendCodeReq(PHONE)), 420, 'FLOOD_WAIT_570')
  h.advance(571)
  await key.call(sendCodeReq(PHONE))
})

test('PHONE_MIGRATE when sendCode reaches a DC that is not the home DC; signIn on another DC too', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 4 })
  await rejectsWith(h.key(2).call(sendCodeReq(PHONE)), 303, 'PHONE_MIGRATE_4')
  assert.equal(h.codes.length, 0, 'no code sent from the wrong DC')
  const sent = await h.key(4).call(sendCodeReq(PHONE))
  const hash = hashOf(sent)
  await rejectsWith(
    h.key(1).call({ _: 'auth.signIn', phoneNumber: PHONE, phoneCodeHash: hash, phoneCode: h.lastCode(PHONE).code }),
    303,
    'PHONE_MIGRATE_4',
  )
})

test('unknown phones sign up on signUpDc when it is set', async () => {
  const h = new Harness({ signUpDc: 2 })
  await rejectsWith(h.key(1).call(sendCodeReq('447700900999')), 303, 'PHONE_MIGRATE_2')
})

test('test numbers: 9996621234 → home DC 2, code 22222, registered on first use', async () => {
  const h = new Harness()
  const phone = '9996621234'
  await rejectsWith(h.key(1).call(sendCodeReq(phone)), 303, 'PHONE_MIGRATE_2')
  const key = h.key(2)
  const sent = await key.call(sendCodeReq(phone))
  assert.equal(h.lastCode(phone).code, '22222')
  const auth = await key.call({ _: 'auth.signIn', phoneNumber: phone, phoneCodeHash: hashOf(sent), phoneCode: '22222' })
  assert.equal(auth._, 'auth.authorization')
  assert.equal(h.registry.userByPhone(phone)?.homeDc, 2)
  // X = 5 works too since the cluster runs five DCs; 9996691234 (no DC 9) is an ordinary number
  await h.key(5).call(sendCodeReq('9996651234'))
  assert.equal(h.lastCode('9996651234').code, '55555')
  await h.key(1).call(sendCodeReq('9996691234'))
  assert.equal(h.registry.userByPhone('9996691234'), undefined, 'not auto-registered')
})

test('banned phone → PHONE_NUMBER_BANNED', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1, banned: true })
  await rejectsWith(h.key(1).call(sendCodeReq(PHONE)), 400, 'PHONE_NUMBER_BANNED')
  h.registry.banPhone('9996611111')
  await rejectsWith(h.key(1).call(sendCodeReq('9996611111')), 400, 'PHONE_NUMBER_BANNED')
})

test('accounts file: users and bots load; a bad field is named without its value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gramfarm-accounts-'))
  const path = join(dir, 'accounts.json')
  writeFileSync(
    path,
    JSON.stringify({
      users: [
        {
          phone: '15550002222',
          dcId: 3,
          id: '123456789012345678',
          firstName: 'Bo',
          code: '24680',
          codeTypes: ['app', 'sms'],
          password: { password: 'pw', hint: 'usual' },
        },
      ],
      bots: [{ token: '7000123:AAEfakefakefakefakefakefakefakefake', dcId: 2, username: 'farm_bot' }],
    }),
  )
  const h = new Harness()
  const { users, bots } = h.registry.loadAccountsFile(path)
  assert.equal(users[0].id, 123456789012345678n)
  assert.equal(users[0].homeDc, 3)
  assert.equal(users[0].password?.hint, 'usual')
  assert.deepEqual(users[0].codeKinds, ['app', 'sms'])
  assert.equal(bots[0].id, 7000123n)
  assert.equal(h.registry.botByToken('7000123:AAEfakefakefakefakefakefakefakefake')?.id, 7000123n)
  const key = h.key(3)
  await key.call(sendCodeReq('15550002222'))
  assert.deepEqual([h.lastCode('15550002222').code, h.lastCode('15550002222').type], ['24680', 'app'])

  writeFileSync(path, JSON.stringify({ users: [{ phone: '15550003333', password: 12345 }] }))
  assert.throws(
    () => h.registry.loadAccountsFile(path),
    (err: unknown) =>
      err instanceof TestDcAccountsError && /users\[0\]\.password/.test(err.message) && !err.message.includes('12345'),
  )
})
