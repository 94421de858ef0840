// The Client with sessions made elsewhere and with DCs that do not answer: a key without a user id is asked about
// (getMe) before any credential, the DC address inside a session string is dialled, and start()/invoke have
// deadlines.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Client } from '../src/auth/client.ts'
import { StringSessionStorage } from '../src/auth/storage/index.ts'
import { TimeoutError } from '../src/mtproto/timeout-error.ts'
import { RequestTimeoutError } from '../src/mtproto/session/mtproto-session.ts'
import { startAccountsDc } from './support/accounts-dc.ts'
import { withHostileDc } from './support/hostile-dc.ts'

const API = { apiId: 2040, apiHash: 'b18441a1ff607e10a989891a5462e627' }
const refuse = (what: string) => () => {
  throw new Error(`must not ask for ${what}`)
}

test('a Telethon string of a logged-in account (a key, no user id): start() asks getMe, nothing else, and dials the address in the string', async () => {
  const env = await startAccountsDc()
  try {
    const storage = new StringSessionStorage('')
    const first = new Client('a', env.clientOptions({ storage, phoneNumber: '9996621234', phoneCode: '22222' }))
    await first.start()
    const me = await first.getMe()
    const telethon = await storage.exportString('telethon')
    await first.stop()
    const keysBefore = env.dc.dc(2).stats.keysCreated

    // no `dcs`: the only way to the local test DC is the address inside the string
    const second = new Client('b', {
      ...API,
      sessionString: telethon,
      testMode: true,
      rsaKeys: [env.dc.publicKey],
      connectTimeoutMs: 2000,
      phoneNumber: refuse('a phone'),
      phoneCode: refuse('a code'),
      password: refuse('a password'),
    })
    await second.start()
    assert.equal(second.userId, me.id)
    assert.equal((await second.getMe()).id, me.id)
    await second.stop()
    assert.equal(env.codes.length, 1, 'no second login')
    assert.equal(env.dc.dc(2).stats.keysCreated, keysBefore, 'the key of the string was used')
  } finally {
    await env.stop()
  }
})

test('a key that is not logged in (made by another library): getMe says 401, and the login runs with that key', async () => {
  const env = await startAccountsDc()
  try {
    const storage = new StringSessionStorage('')
    const maker = new Client('k', env.clientOptions({ storage }))
    await maker.connect()
    await maker.invoke({ _: 'help.getNearestDc' }) // makes a key, logs nobody in
    const gramjs = await storage.exportString('gramjs')
    await maker.stop()
    const keysBefore = env.dc.dc(2).stats.keysCreated

    const client = new Client(
      'c',
      env.clientOptions({ sessionString: gramjs, phoneNumber: '9996621234', phoneCode: '22222' }),
    )
    await client.start()
    assert.equal((await client.getMe()).phone, '9996621234')
    await client.stop()
    assert.equal(env.codes.length, 1)
    assert.equal(env.dc.dc(2).stats.keysCreated, keysBefore, 'logged in with the key of the string')
  } finally {
    await env.stop()
  }
})

test('startTimeoutMs: start() against a DC that never answers rejects with TimeoutError(start)', async () => {
  await withHostileDc({}, async (dc) => {
    const client = new Client('t', {
      ...API,
      inMemory: true,
      testMode: true,
      dcs: [{ id: 2, host: '127.0.0.1', port: dc.port }],
      rsaKeys: [],
      handshakeTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
      startTimeoutMs: 300,
      phoneNumber: '9996621234',
      phoneCode: '22222',
    })
    const t = Date.now()
    await assert.rejects(client.start(), (err: unknown) => err instanceof TimeoutError && err.phase === 'start')
    assert.ok(Date.now() - t < 5000)
    await client.stop()
  })
})

test('requestTimeoutMs and invoke({ timeoutMs }): a call to a DC that never answers ends in RequestTimeoutError', async () => {
  await withHostileDc({}, async (dc) => {
    const client = new Client('r', {
      ...API,
      inMemory: true,
      testMode: true,
      dcs: [{ id: 2, host: '127.0.0.1', port: dc.port }],
      rsaKeys: [],
      handshakeTimeoutMs: 60_000,
      requestTimeoutMs: 300,
    })
    await client.connect()
    await assert.rejects(
      client.invoke({ _: 'help.getNearestDc' }),
      (err: unknown) => err instanceof RequestTimeoutError,
    )
    await assert.rejects(
      client.invoke({ _: 'help.getNearestDc' }, { timeoutMs: 100 }),
      (err: unknown) => err instanceof RequestTimeoutError && err.timeoutMs === 100,
    )
    await client.stop()
  })
})
