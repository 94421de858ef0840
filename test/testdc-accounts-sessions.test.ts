// What a logged-in key sees and what can happen to it: users.getUsers, updates.getState, the session list and
// resetAuthorization, logOut, deactivation/ban, revocation, AUTH_KEY_DUPLICATED — and the state the DC layer reads.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hashOf, Harness, rejectsWith } from './testdc-accounts-harness.ts'

const PHONE = '15550001000'

test('users.getUsers: inputUserSelf and inputUser (self flag only for the caller; wrong access hash left out)', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1, firstName: 'Ann' })
  const bob = h.registry.addUser({ phone: '15550002000', dcId: 1, firstName: 'Bob', username: 'bob' })
  const key = await h.login(PHONE, 1)
  const users = await key.call({
    _: 'users.getUsers',
    id: [
      { _: 'inputUserSelf' },
      { _: 'inputUser', userId: bob.id, accessHash: bob.accessHash },
      { _: 'inputUser', userId: bob.id, accessHash: bob.accessHash + 1n },
      { _: 'inputUser', userId: 424242n, accessHash: 0n },
    ],
  })
  assert.equal(users.length, 2)
  const [me, other] = users
  assert.ok(me._ === 'user' && other._ === 'user')
  assert.deepEqual(
    [me.id, me.self, me.phone, me.firstName, me.status?._],
    [ann.id, true, PHONE, 'Ann', 'userStatusOnline'],
  )
  assert.deepEqual([other.id, other.self, other.phone, other.username], [bob.id, false, undefined, 'bob'])
  await rejectsWith(h.key(1).call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }), 401, 'AUTH_KEY_UNREGISTERED')
})

test('updates.getState: state for a logged-in key, 401 for an unauthorized one', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const key = await h.login(PHONE, 1)
  const state = await key.call({ _: 'updates.getState' })
  assert.deepEqual(state, { _: 'updates.state', pts: 1, qts: 0, seq: 0, date: h.registry.nowSeconds(), unreadCount: 0 })
  await rejectsWith(h.key(1).call({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED')
})

test('getAuthorizations / resetAuthorization: the reset key gets 401 AUTH_KEY_UNREGISTERED', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1 })
  const a = await h.login(PHONE, 1)
  h.advance(5)
  const b = await h.login(PHONE, 1)
  const list = await a.call({ _: 'account.getAuthorizations' })
  assert.equal(list.authorizations.length, 2)
  const [current, other] = list.authorizations
  assert.equal(current.current, true)
  assert.equal(current.hash, 0n)
  assert.equal(current.deviceModel, `test device ${a.ctx.authKeyId}`)
  assert.equal(other.deviceModel, `test device ${b.ctx.authKeyId}`)
  assert.notEqual(other.hash, 0n)
  assert.equal(other.dateCreated, h.registry.nowSeconds())
  h.advance(24 * 60 * 60) // a session under 24 h old may not end others (FRESH_RESET_AUTHORISATION_FORBIDDEN)
  await rejectsWith(a.call({ _: 'account.resetAuthorization', hash: 0n }), 400, 'HASH_INVALID')
  await rejectsWith(a.call({ _: 'account.resetAuthorization', hash: 12345n }), 400, 'HASH_INVALID')
  assert.equal(await a.call({ _: 'account.resetAuthorization', hash: other.hash }), true)
  assert.equal(h.registry.keyState(1, b.ctx.authKeyId).status, 'unauthorized')
  await rejectsWith(b.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }), 401, 'AUTH_KEY_UNREGISTERED')
  assert.deepEqual(
    h.registry.sessionsOf(ann.id).map((s) => s.authKeyId),
    [a.ctx.authKeyId],
  )
})

test("logOut ends the key's session", async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const key = await h.login(PHONE, 1)
  assert.equal((await key.call({ _: 'auth.logOut' }))._, 'auth.loggedOut')
  assert.equal(key.ctx.userId, null)
  await rejectsWith(key.call({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED')
})

test('deactivation after login: ban → 401 USER_DEACTIVATED_BAN (and PHONE_NUMBER_BANNED); deleted → USER_DEACTIVATED', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1 })
  const bob = h.registry.addUser({ phone: '15550002000', dcId: 1 })
  const annKey = await h.login(PHONE, 1)
  const bobKey = await h.login('15550002000', 1)
  h.registry.deactivate(ann.id, 'ban')
  assert.deepEqual(h.registry.keyState(1, annKey.ctx.authKeyId), {
    status: 'deactivated',
    userId: ann.id,
    rejection: { code: 401, message: 'USER_DEACTIVATED_BAN' },
  })
  await rejectsWith(annKey.call({ _: 'updates.getState' }), 401, 'USER_DEACTIVATED_BAN')
  await rejectsWith(
    h.key(1).call({ _: 'auth.sendCode', phoneNumber: PHONE, apiId: 1, apiHash: 'x', settings: { _: 'codeSettings' } }),
    400,
    'PHONE_NUMBER_BANNED',
  )
  h.registry.deactivate(bob.id, 'deleted')
  await rejectsWith(bobKey.call({ _: 'updates.getState' }), 401, 'USER_DEACTIVATED')
  // a deleted account's phone is free again: signing in asks for a sign-up
  const k = h.key(1)
  const sent = await k.call({
    _: 'auth.sendCode',
    phoneNumber: '15550002000',
    apiId: 1,
    apiHash: 'x',
    settings: { _: 'codeSettings' },
  })
  const res = await k.call({
    _: 'auth.signIn',
    phoneNumber: '15550002000',
    phoneCodeHash: hashOf(sent),
    phoneCode: h.lastCode('15550002000').code,
  })
  assert.equal(res._, 'auth.authorizationSignUpRequired')
})

test('revoked session → 401 SESSION_REVOKED; duplicated key → 406 AUTH_KEY_DUPLICATED on every call', async () => {
  const h = new Harness()
  h.registry.addUser({ phone: PHONE, dcId: 1 })
  const a = await h.login(PHONE, 1)
  const b = await h.login(PHONE, 1)
  h.registry.revokeSession(1, a.ctx.authKeyId)
  assert.equal(h.registry.keyState(1, a.ctx.authKeyId).status, 'revoked')
  await rejectsWith(a.call({ _: 'updates.getState' }), 401, 'SESSION_REVOKED')
  await rejectsWith(a.call({ _: 'help.getNearestDc' }), 401, 'SESSION_REVOKED')
  h.registry.markDuplicated(1, b.ctx.authKeyId)
  assert.deepEqual(h.registry.cluster.keyRejection(1, b.ctx.authKeyId), { code: 406, message: 'AUTH_KEY_DUPLICATED' })
  await rejectsWith(b.call({ _: 'help.getNearestDc' }), 406, 'AUTH_KEY_DUPLICATED')
  // a fresh key is unaffected
  assert.equal(h.registry.keyState(1, 999n).rejection, null)
})

test('keys are per DC: the same key id on two DCs is two keys', async () => {
  const h = new Harness()
  const ann = h.registry.addUser({ phone: PHONE, dcId: 1 })
  const k1 = h.key(1, 5n)
  const sent = await k1.call({
    _: 'auth.sendCode',
    phoneNumber: PHONE,
    apiId: 1,
    apiHash: 'x',
    settings: { _: 'codeSettings' },
  })
  await k1.call({
    _: 'auth.signIn',
    phoneNumber: PHONE,
    phoneCodeHash: hashOf(sent),
    phoneCode: h.lastCode(PHONE).code,
  })
  assert.equal(h.registry.cluster.userOfKey(1, 5n), ann.id)
  assert.equal(h.registry.cluster.userOfKey(2, 5n), null)
})
