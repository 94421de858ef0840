// The calls stock clients (mtcute, GramJS) make around a login, answered by the test DC's accounts API:
// updates.getState / getDifference, users.getUsers / getFullUser for self, help.getNearestDc / getConfig /
// getAppConfig, account.updateStatus, auth.logOut — 401 where Telegram needs a login, results after it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, rejectsWith } from './testdc-accounts-harness.ts'

const PHONE = '15550002222'

test('before a login: help.* answer, the rest 401 AUTH_KEY_UNREGISTERED', async () => {
  const h = new Harness()
  const key = h.key(2)
  assert.equal((await key.call({ _: 'help.getNearestDc' }))._, 'nearestDc')
  assert.equal((await key.call({ _: 'help.getConfig' }))._, 'config')
  const app = await key.call({ _: 'help.getAppConfig', hash: 0 })
  assert.equal(app._, 'help.appConfig')
  assert.ok(app._ === 'help.appConfig' && app.config._ === 'jsonObject')
  assert.equal((await key.call({ _: 'help.getAppConfig', hash: app.hash }))._, 'help.appConfigNotModified')
  await rejectsWith(key.call({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED')
  await rejectsWith(key.call({ _: 'updates.getDifference', pts: 1, qts: 0, date: 0 }), 401, 'AUTH_KEY_UNREGISTERED')
  await rejectsWith(key.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }), 401, 'AUTH_KEY_UNREGISTERED')
  await rejectsWith(key.call({ _: 'users.getFullUser', id: { _: 'inputUserSelf' } }), 401, 'AUTH_KEY_UNREGISTERED')
  await rejectsWith(key.call({ _: 'account.updateStatus', offline: false }), 401, 'AUTH_KEY_UNREGISTERED')
})

test('after a login: getState, an empty getDifference, self via getUsers and getFullUser, updateStatus; logOut ends it', async () => {
  const h = new Harness()
  const bob = h.registry.addUser({ phone: PHONE, dcId: 2, firstName: 'Bob' })
  const other = h.registry.addUser({ phone: '15550003333', dcId: 2, firstName: 'Cid' })
  const key = await h.login(PHONE, 2)
  const state = await key.call({ _: 'updates.getState' })
  const diff = await key.call({ _: 'updates.getDifference', pts: state.pts, qts: state.qts, date: state.date })
  assert.equal(diff._, 'updates.differenceEmpty')
  assert.ok(diff._ === 'updates.differenceEmpty' && diff.seq === state.seq)
  const [me] = await key.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })
  assert.ok(me?._ === 'user' && me.self && me.id === bob.id)
  const full = await key.call({ _: 'users.getFullUser', id: { _: 'inputUserSelf' } })
  assert.equal(full.fullUser.id, bob.id)
  assert.ok(full.users[0]?._ === 'user' && full.users[0].id === bob.id)
  const cid = await key.call({
    _: 'users.getFullUser',
    id: { _: 'inputUser', userId: other.id, accessHash: other.accessHash },
  })
  assert.equal(cid.fullUser.id, other.id)
  await rejectsWith(
    key.call({ _: 'users.getFullUser', id: { _: 'inputUser', userId: other.id, accessHash: other.accessHash + 1n } }),
    400,
    'USER_ID_INVALID',
  )
  assert.equal(await key.call({ _: 'account.updateStatus', offline: false }), true)
  assert.equal((await key.call({ _: 'auth.logOut' }))._, 'auth.loggedOut')
  await rejectsWith(key.call({ _: 'updates.getDifference', pts: 1, qts: 0, date: 0 }), 401, 'AUTH_KEY_UNREGISTERED')
})
