// The test DC's side of `sessions check` / `sessions harden`: the session list as Telegram shows it (each key's
// announced app), resetting sessions under the 24-hour rule (with the DC clock moved forward), 2FA settings through
// our client's SRP code (src/auth/flows/password-settings.ts), and the seeded health states — frozen (app config,
// FROZEN_METHOD_INVALID), restricted, the key fates (duplicated, revoked, unregistered) and a method limit
// (FLOOD_WAIT_X).
import { test } from 'node:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseTestDcSeed } from '../src/demo/testdc-seed.ts'
import assert from 'node:assert/strict'
import { RpcError } from '../src/mtproto/rpc-error.ts'
import type { TlValue } from '../src/mtproto/tl/index.ts'
import { RpcFailure } from '../src/testdc/rpc-failure.ts'
import { parseAccountsFile, TestDcAccountsError } from '../src/testdc/accounts/index.ts'
import {
  computeNewPasswordHash,
  PasswordSettingsError,
  removeCloudPassword,
  setCloudPassword,
  type AccountInvoker,
} from '../src/auth/flows/password-settings.ts'
import { Harness, rejectsWith, type FakeKey } from './testdc-accounts-harness.ts'

const PHONE = '15550007000'
const DAY = 24 * 60 * 60

/** A FakeKey as our client flows see a connection: rpc errors as RpcError. */
function invokerOf(key: FakeKey): AccountInvoker {
  return {
    async invoke<R>(req: TlValue): Promise<R> {
      try {
        return (await key.call(req as never)) as R
      } catch (err) {
        if (err instanceof RpcFailure) throw new RpcError(err.code, err.errorMessage)
        throw err
      }
    },
  }
}

test('getAuthorizations: every key with the app it announced; current first with hash 0; platform and app name', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const desk = await h.login(PHONE, 1)
  desk.ctx.client = {
    apiId: 2040,
    deviceModel: 'MS-7C02',
    systemVersion: 'Windows 11',
    appVersion: '5.12.3 x64',
    langCode: 'en',
  }
  h.advance(60)
  const phone = await h.login(PHONE, 1)
  phone.ctx.client = {
    apiId: 6,
    deviceModel: 'Samsung SM-S918B',
    systemVersion: 'SDK 34',
    appVersion: '11.7.0 (5613)',
    langCode: 'en',
  }
  h.registry.noteActivity(1, phone.ctx.authKeyId, { ip: '203.0.113.7', client: phone.ctx.client })
  h.advance(30)
  h.registry.noteActivity(1, desk.ctx.authKeyId, { client: desk.ctx.client })
  const list = await phone.call({ _: 'account.getAuthorizations' })
  assert.equal(list.authorizationTtlDays, 180)
  const [me, other] = list.authorizations
  assert.deepEqual(
    [me.current, me.hash, me.deviceModel, me.platform, me.appName, me.officialApp, me.ip],
    [true, 0n, 'Samsung SM-S918B', 'Android', 'Telegram Android', true, '203.0.113.7'],
  )
  assert.deepEqual(
    [other.current, other.deviceModel, other.platform, other.systemVersion, other.appVersion, other.apiId],
    [false, 'MS-7C02', 'Windows', 'Windows 11', '5.12.3 x64', 2040],
  )
  assert.notEqual(other.hash, 0n)
  assert.equal(other.dateActive - other.dateCreated, 90)
})

test('resetAuthorization: 406 FRESH_RESET_AUTHORISATION_FORBIDDEN for 24 h, then ends the other key (401 after)', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const old = await h.login(PHONE, 1)
  h.advance(DAY - 10)
  const fresh = await h.login(PHONE, 1)
  const [, oldEntry] = (await fresh.call({ _: 'account.getAuthorizations' })).authorizations
  await rejectsWith(
    fresh.call({ _: 'account.resetAuthorization', hash: oldEntry.hash }),
    406,
    'FRESH_RESET_AUTHORISATION_FORBIDDEN',
  )
  await rejectsWith(fresh.call({ _: 'auth.resetAuthorizations' }), 406, 'FRESH_RESET_AUTHORISATION_FORBIDDEN')
  await rejectsWith(
    fresh.call({ _: 'account.setAuthorizationTTL', authorizationTtlDays: 7 }),
    406,
    'FRESH_RESET_AUTHORISATION_FORBIDDEN',
  )
  // the old session, 24 h old now, may end the fresh one
  h.advance(10)
  const [, freshEntry] = (await old.call({ _: 'account.getAuthorizations' })).authorizations
  await rejectsWith(old.call({ _: 'account.resetAuthorization', hash: 1n }), 400, 'HASH_INVALID')
  assert.equal(await old.call({ _: 'account.resetAuthorization', hash: freshEntry.hash }), true)
  await rejectsWith(fresh.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }), 401, 'AUTH_KEY_UNREGISTERED')
  // the registry's clock: advanceClock moves the DC's notion of time (what a networked test DC uses)
  const again = await h.login(PHONE, 1)
  await rejectsWith(again.call({ _: 'auth.resetAuthorizations' }), 406, 'FRESH_RESET_AUTHORISATION_FORBIDDEN')
  h.registry.advanceClock(DAY)
  assert.equal(await again.call({ _: 'account.setAuthorizationTTL', authorizationTtlDays: 7 }), true)
  assert.equal((await again.call({ _: 'account.getAuthorizations' })).authorizationTtlDays, 7)
})

test('auth.resetAuthorizations ends every other session, keeps the caller', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1 })
  const keeper = await h.login(PHONE, 1)
  const others = [await h.login(PHONE, 1), await h.login(PHONE, 1)]
  h.advance(DAY)
  assert.equal(await keeper.call({ _: 'auth.resetAuthorizations' }), true)
  assert.deepEqual(
    h.registry.sessionsOf(ann.id).map((s) => s.authKeyId),
    [keeper.ctx.authKeyId],
  )
  for (const k of others) await rejectsWith(k.call({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED')
  assert.equal((await keeper.call({ _: 'account.getAuthorizations' })).authorizations.length, 1)
})

test('2FA settings: set where none, change (SRP of the old one), wrong old password, remove', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1 })
  const key = await h.login(PHONE, 1)
  const api = invokerOf(key)
  assert.deepEqual(await setCloudPassword(api, { password: 'first pass', hint: 'one' }), { hadPassword: false })
  assert.ok(ann.password)
  const state = await key.call({ _: 'account.getPassword' })
  assert.equal(state.hasPassword, true)
  assert.equal(state.hint, 'one')
  // the new algo's salt1 = server salt1 + 32 client bytes, and new_algo now offers fresh server salts
  assert.equal(
    ann.password.algo.salt1.length,
    state.newAlgo._ === 'passwordKdfAlgoUnknown' ? -1 : state.newAlgo.salt1.length + 32,
  )
  await assert.rejects(
    setCloudPassword(api, { password: 'x' }),
    (e: unknown) => e instanceof PasswordSettingsError && e.reason === 'password_missing',
  )
  await assert.rejects(
    setCloudPassword(api, { password: 'second pass' }, 'wrong'),
    (e: unknown) => e instanceof PasswordSettingsError && e.reason === 'password_invalid',
  )
  assert.deepEqual(await setCloudPassword(api, { password: 'second pass' }, 'first pass'), { hadPassword: true })
  // a fresh login needs the new password
  const k2 = h.key(1)
  const sent = await k2.call({
    _: 'auth.sendCode',
    phoneNumber: PHONE,
    apiId: 1,
    apiHash: 'x',
    settings: { _: 'codeSettings' },
  })
  assert.equal(sent._, 'auth.sentCode')
  await rejectsWith(
    k2.call({
      _: 'auth.signIn',
      phoneNumber: PHONE,
      phoneCodeHash: sent._ === 'auth.sentCode' ? sent.phoneCodeHash : '',
      phoneCode: h.lastCode(PHONE).code,
    }),
    401,
    'SESSION_PASSWORD_NEEDED',
  )
  await removeCloudPassword(api, 'second pass')
  assert.equal(ann.password, null)
  assert.equal((await key.call({ _: 'account.getPassword' })).hasPassword, false)
})

test('updatePasswordSettings errors: NEW_SALT_INVALID, NEW_SETTINGS_INVALID, SRP_ID_INVALID, PASSWORD_HASH_INVALID, EMAIL_UNCONFIRMED_6', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const key = await h.login(PHONE, 1)
  const state = await key.call({ _: 'account.getPassword' })
  const good = { ...(await computeNewPasswordHash(state.newAlgo, 'pw')), hint: '' }
  const call = (settings: object, password: object = { _: 'inputCheckPasswordEmpty' }) =>
    key.call({
      _: 'account.updatePasswordSettings',
      password: password as never,
      newSettings: { _: 'account.passwordInputSettings', ...settings },
    })
  // salt1 not extending the server's, or salt2 changed
  await rejectsWith(
    call({ ...good, newAlgo: { ...good.newAlgo, salt1: good.newAlgo.salt1.subarray(8) } }),
    400,
    'NEW_SALT_INVALID',
  )
  await rejectsWith(call({ ...good, newAlgo: { ...good.newAlgo, salt2: new Uint8Array(16) } }), 400, 'NEW_SALT_INVALID')
  await rejectsWith(call({ ...good, newPasswordHash: new Uint8Array(255) }), 400, 'NEW_SETTINGS_INVALID')
  await rejectsWith(call({ ...good, newAlgo: { ...good.newAlgo, g: 2 } }), 400, 'NEW_SETTINGS_INVALID')
  // an SRP proof when the account has no password
  await rejectsWith(
    call(good, { _: 'inputCheckPasswordSRP', srpId: 1n, A: new Uint8Array(256), M1: new Uint8Array(32) }),
    400,
    'PASSWORD_HASH_INVALID',
  )
  // with an email: the password is set, the email waits for its code
  await rejectsWith(call({ ...good, email: 'ann@example.com' }), 400, 'EMAIL_UNCONFIRMED_6')
  const pw = await key.call({ _: 'account.getPassword' })
  assert.equal(pw.hasPassword, true)
  assert.equal(pw.emailUnconfirmedPattern, 'a***@example.com')
  assert.equal(pw.hasRecovery, false)
  await rejectsWith(key.call({ _: 'account.confirmPasswordEmail', code: '000000x' }), 400, 'CODE_INVALID')
  assert.equal(await key.call({ _: 'account.confirmPasswordEmail', code: h.codes.at(-1)!.code }), true)
  // a bogus proof for the latest srp_id is a wrong password; the srp_id is then used up; no check at all is wrong too
  const bogus = { _: 'inputCheckPasswordSRP', srpId: pw.srpId!, A: new Uint8Array(256).fill(7), M1: new Uint8Array(32) }
  await rejectsWith(call(good, bogus), 400, 'PASSWORD_HASH_INVALID')
  await rejectsWith(call(good, bogus), 400, 'SRP_ID_INVALID')
  await rejectsWith(call(good), 400, 'PASSWORD_HASH_INVALID')
  assert.equal((await key.call({ _: 'account.getPassword' })).hasRecovery, true)
})

test('computeNewPasswordHash matches the SRP vector (test/fixtures/vectors/srp.txt: "123qwe", salt1 + first 32 bytes of a)', async () => {
  const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))
  const p = hex(
    'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b',
  )
  const salt1 = hex('9b3accc457c0d5288e8cff31eb21094048bc11902f6614dbb9afb839ee7641c37619537d8ebe749e')
  const salt2 = hex('6c619bb0786dc4ed1bf211d23f6e4065')
  const aHead = hex('29afd26df40fb8ed10b6b4ad6d56ef5df9453f88e6ee6adb6e0544ba635dc6a8')
  const out = await computeNewPasswordHash(
    { _: 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow', salt1, salt2, g: 3, p },
    '123qwe',
    (n) => aHead.subarray(0, n),
  )
  assert.equal(out.newAlgo.salt1.length, salt1.length + 32)
  assert.equal(out.newPasswordHash.length, 256)
  assert.equal(Buffer.from(out.newPasswordHash.subarray(0, 16)).toString('hex'), '2540539ceeffd4543cd845bf319b8392')
})

test('frozen account: help.getAppConfig carries the freeze; most methods answer 420 FROZEN_METHOD_INVALID', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({
    phone: PHONE,
    dcId: 1,
    frozen: { sinceDate: 1735000000, untilDate: 1737000000, appealUrl: 'https://t.me/spambot' },
  })
  h.registry.addUser({ phone: '15550007001', dcId: 1 })
  const key = await h.login(PHONE, 1)
  const cfg = await key.call({ _: 'help.getAppConfig', hash: 0 })
  assert.equal(cfg._, 'help.appConfig')
  const values = cfg._ === 'help.appConfig' && cfg.config._ === 'jsonObject' ? cfg.config.value : []
  const byKey = Object.fromEntries(values.map((v) => [v.key, 'value' in v.value ? v.value.value : null]))
  assert.deepEqual(byKey, {
    freeze_since_date: 1735000000,
    freeze_until_date: 1737000000,
    freeze_appeal_url: 'https://t.me/spambot',
  })
  assert.equal(
    (await key.call({ _: 'help.getAppConfig', hash: cfg._ === 'help.appConfig' ? cfg.hash : 0 }))._,
    'help.appConfigNotModified',
  )
  // read-only calls work, the rest is refused
  assert.equal((await key.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })).length, 1)
  assert.equal((await key.call({ _: 'account.getAuthorizations' })).authorizations.length, 1)
  h.advance(DAY)
  await rejectsWith(key.call({ _: 'auth.resetAuthorizations' }), 420, 'FROZEN_METHOD_INVALID')
  await rejectsWith(
    key.call({ _: 'account.setAuthorizationTTL', authorizationTtlDays: 7 }),
    420,
    'FROZEN_METHOD_INVALID',
  )
  // an account that is not frozen gets the plain config
  const bob = await h.login('15550007001', 1)
  const plain = await bob.call({ _: 'help.getAppConfig', hash: 0 })
  assert.ok(plain._ === 'help.appConfig' && plain.config._ === 'jsonObject' && plain.config.value.length === 0)
  h.registry.freeze(ann.id, null)
  assert.equal(await key.call({ _: 'auth.resetAuthorizations' }), true)
})

test('restricted account: user.restricted with restriction_reason', async () => {
  const h = new Harness()
  h.registry.addUser({
    phone: PHONE,
    dcId: 1,
    restricted: [{ platform: 'all', reason: 'spam', text: 'This account is limited.' }],
  })
  const key = await h.login(PHONE, 1)
  const [me] = await key.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })
  assert.ok(me._ === 'user')
  assert.equal(me.restricted, true)
  assert.deepEqual(me.restrictionReason, [
    { _: 'restrictionReason', platform: 'all', reason: 'spam', text: 'This account is limited.' },
  ])
})

test('key fates: duplicated / revoked / unregistered strike the next login once, after afterSeconds', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: '15550007101', dcId: 1, keyFate: 'duplicated' })
  h.registry.addUser({ phone: '15550007102', dcId: 1, keyFate: { state: 'revoked', afterSeconds: 60 } })
  h.registry.addUser({ phone: '15550007103', dcId: 1, keyFate: 'unregistered' })
  const dup = await h.login('15550007101', 1)
  await rejectsWith(dup.call({ _: 'updates.getState' }), 406, 'AUTH_KEY_DUPLICATED')
  const rev = await h.login('15550007102', 1)
  assert.equal((await rev.call({ _: 'updates.getState' }))._, 'updates.state')
  h.advance(60)
  await rejectsWith(rev.call({ _: 'updates.getState' }), 401, 'SESSION_REVOKED')
  const unreg = await h.login('15550007103', 1)
  await rejectsWith(unreg.call({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED')
  // a re-login (new key) is healthy: each fate strikes once
  const again = await h.login('15550007101', 1)
  assert.equal((await again.call({ _: 'updates.getState' }))._, 'updates.state')
})

test('accounts file: frozen, restricted, keyFate and floodWait are read and checked', () => {
  const file = parseAccountsFile({
    users: [
      {
        phone: '1',
        frozen: true,
        restricted: [{ reason: 'terms', text: 't' }],
        keyFate: { state: 'revoked', afterSeconds: 5 },
      },
      { phone: '2', frozen: { untilDate: 5 }, keyFate: 'unregistered' },
    ],
  })
  assert.deepEqual(file.users[0].frozen, {})
  assert.deepEqual(file.users[0].restricted, [{ platform: 'all', reason: 'terms', text: 't' }])
  assert.deepEqual(file.users[0].keyFate, { state: 'revoked', afterSeconds: 5 })
  assert.deepEqual(file.users[1].frozen, { sinceDate: undefined, untilDate: 5, appealUrl: undefined })
  assert.equal(file.users[1].keyFate, 'unregistered')
  assert.throws(() => parseAccountsFile({ users: [{ phone: '1', keyFate: 'gone' }] }), TestDcAccountsError)
  assert.throws(() => parseAccountsFile({ users: [{ phone: '1', restricted: 'spam' }] }), TestDcAccountsError)
  assert.throws(() => parseAccountsFile({ users: [{ phone: '1', frozen: 'yes' }] }), TestDcAccountsError)
  const flood = parseAccountsFile({
    users: [
      { phone: '1', floodWait: 60 },
      { phone: '2', floodWait: { seconds: 5, methods: ['account.getPassword'] } },
    ],
  })
  assert.equal(flood.users[0].floodWait, 60)
  assert.deepEqual(flood.users[1].floodWait, { seconds: 5, methods: ['account.getPassword'] })
  for (const bad of [0, 1.5, '60', { seconds: 5, methods: [] }])
    assert.throws(() => parseAccountsFile({ users: [{ phone: '1', floodWait: bad }] }), TestDcAccountsError)
})

test('config/health-states.testdc.json: one account in each health state, as the client sees it', async () => {
  const seed = parseTestDcSeed(
    JSON.parse(readFileSync(join(import.meta.dirname, '..', 'config', 'health-states.testdc.json'), 'utf8')),
  )
  const h = new Harness()
  const byName = new Map(seed.accounts.users.map((u) => [u.firstName, h.registry.addUser(u)]))
  const phoneOf = (name: string): string => byName.get(name)!.phone!
  const keys = new Map<string, FakeKey>()
  for (const name of ['Active', 'Frozen', 'Restricted', 'Duplicated', 'Revoked', 'Unregistered', 'FloodWait'])
    keys.set(name, await h.login(phoneOf(name), byName.get(name)!.homeDc))
  h.advance(30)
  const getMe = (name: string) => keys.get(name)!.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })
  assert.equal((await getMe('Active')).length, 1)
  const [restricted] = await getMe('Restricted')
  assert.ok(restricted?._ === 'user' && restricted.restricted === true)
  const frozenCfg = await keys.get('Frozen')!.call({ _: 'help.getAppConfig', hash: 0 })
  assert.ok(
    frozenCfg._ === 'help.appConfig' && frozenCfg.config._ === 'jsonObject' && frozenCfg.config.value.length === 3,
  )
  await rejectsWith(getMe('Duplicated'), 406, 'AUTH_KEY_DUPLICATED')
  await rejectsWith(getMe('Revoked'), 401, 'SESSION_REVOKED')
  await rejectsWith(getMe('Unregistered'), 401, 'AUTH_KEY_UNREGISTERED')
  // Rate-limited as Telegram limits a method: the first call starts the limit, X counts down on the DC clock, other
  // methods are served, and once it has run out the methods answer again.
  await rejectsWith(getMe('FloodWait'), 420, 'FLOOD_WAIT_600')
  h.advance(100)
  await rejectsWith(keys.get('FloodWait')!.call({ _: 'updates.getState' }), 420, 'FLOOD_WAIT_500')
  assert.equal((await keys.get('FloodWait')!.call({ _: 'account.getPassword' }))._, 'account.password')
  h.advance(500)
  assert.equal((await getMe('FloodWait')).length, 1)
  assert.equal((await getMe('FloodWait')).length, 1)
  await rejectsWith(
    h.key(byName.get('Banned')!.homeDc).call({
      _: 'auth.sendCode',
      phoneNumber: phoneOf('Banned'),
      apiId: 1,
      apiHash: 'x',
      settings: { _: 'codeSettings' },
    }),
    400,
    'PHONE_NUMBER_BANNED',
  )
  assert.ok(byName.get('Hardened')!.password, 'the account harden changes the password of')
  assert.equal(seed.providerPasswords.get(phoneOf('Hardened')), 'old-2fa-pass')
})

test('a login stopped at the 2FA step is listed password_pending and can be reset', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1 })
  const owner = await h.login(PHONE, 1)
  h.registry.setPassword(ann.id, 'secret pw')
  h.advance(DAY)
  const intruder = h.key(1)
  const sent = await intruder.call({
    _: 'auth.sendCode',
    phoneNumber: PHONE,
    apiId: 1,
    apiHash: 'x',
    settings: { _: 'codeSettings' },
  })
  await rejectsWith(
    intruder.call({
      _: 'auth.signIn',
      phoneNumber: PHONE,
      phoneCodeHash: sent._ === 'auth.sentCode' ? sent.phoneCodeHash : '',
      phoneCode: h.lastCode(PHONE).code,
    }),
    401,
    'SESSION_PASSWORD_NEEDED',
  )
  const list = (await owner.call({ _: 'account.getAuthorizations' })).authorizations
  assert.equal(list.length, 2)
  const pending = list[1]!
  assert.equal(pending.passwordPending, true)
  assert.notEqual(pending.hash, 0n)
  assert.equal(await owner.call({ _: 'account.resetAuthorization', hash: pending.hash }), true)
  await rejectsWith(intruder.call({ _: 'account.getPassword' }), 401, 'AUTH_KEY_UNREGISTERED')
  assert.equal((await owner.call({ _: 'account.getAuthorizations' })).authorizations.length, 1)
})

test('bots: the session list and 2FA settings are user-only (400 BOT_METHOD_INVALID)', async () => {
  const h = new Harness()
  const bot = h.registry.addBot({ dcId: 1 })
  const key = h.key(1)
  await key.call({ _: 'auth.importBotAuthorization', flags: 0, apiId: 1, apiHash: 'x', botAuthToken: bot.botToken! })
  await rejectsWith(key.call({ _: 'account.getAuthorizations' }), 400, 'BOT_METHOD_INVALID')
  await rejectsWith(key.call({ _: 'auth.resetAuthorizations' }), 400, 'BOT_METHOD_INVALID')
  await rejectsWith(
    key.call({
      _: 'account.updatePasswordSettings',
      password: { _: 'inputCheckPasswordEmpty' },
      newSettings: { _: 'account.passwordInputSettings', email: 'a@b.cd' },
    }),
    400,
    'BOT_METHOD_INVALID',
  )
})
