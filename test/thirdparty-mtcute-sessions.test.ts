// Sessions moved between our Client and stock mtcute (`@mtcute/node` 0.30.x) through @mtcute/convert (0.29.x, with its
// own @mtcute/core 0.29), in Pyrogram, Telethon and GramJS string form, both ways, then used with no new login: the
// receiving client's getMe is the user, no code is sent, and it holds the same auth key on the same DC.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  convertFromGramjsSession,
  convertFromPyrogramSession,
  convertFromTelethonSession,
  convertToGramjsSession,
  convertToPyrogramSession,
  convertToTelethonSession,
  parsePyrogramSession,
} from '@mtcute/convert'
import { readStringSession, writeStringSession } from '@mtcute/node/utils.js'
import { Client } from '../src/auth/client.ts'
import { exportSessionString, MemorySessionStorage, type SessionStringFormat } from '../src/auth/storage/index.ts'
import { startAccountsDc } from './support/accounts-dc.ts'
import { closeMtcute, mtcuteClientFor, mtcuteComplaints, mtcuteDcOption, MTCUTE_TEST } from './support/mtcute-client.ts'

/** A DC 4 test number: its string must carry DC 4 (and, in Telethon and GramJS form, DC 4's address). */
const PHONE = '9996641234'
const CODE = '44444'
const HOME_DC = 4
const FORMATS: readonly SessionStringFormat[] = ['pyrogram', 'telethon', 'gramjs']

/** @mtcute/convert's readers: each gives mtcute's session data (core 0.29's shape, which 0.30 reads as is). */
const fromString: Record<SessionStringFormat, (s: string) => ReturnType<typeof convertFromTelethonSession>> = {
  pyrogram: (s) => convertFromPyrogramSession(s),
  telethon: (s) => convertFromTelethonSession(s),
  gramjs: (s) => convertFromGramjsSession(s),
}
/** @mtcute/convert's writers, from an mtcute session string. */
const toString: Record<SessionStringFormat, (s: string) => string> = {
  pyrogram: (s) => convertToPyrogramSession(s, { apiId: 2040 }),
  telethon: (s) => convertToTelethonSession(s),
  gramjs: (s) => convertToGramjsSession(s),
}

for (const format of FORMATS) {
  test(
    `session moved from our Client to mtcute as a ${format} string (@mtcute/convert) → mtcute's getMe with no new login`,
    MTCUTE_TEST,
    async () => {
      const env = await startAccountsDc()
      const storage = new MemorySessionStorage()
      const ours = new Client('ours', env.clientOptions({ storage, phoneNumber: PHONE, phoneCode: CODE }))
      const theirs = mtcuteClientFor(env.dc, { dcId: 2 })
      try {
        await ours.start()
        const userId = ours.userId!
        const record = (await storage.load())!
        assert.equal(record.dcId, HOME_DC)
        const text = format === 'pyrogram' ? await ours.exportSessionString() : exportSessionString(record, format)
        const codesBefore = env.codes.length

        const data = fromString[format](text)
        // A Pyrogram string names its DC but no address (its readers use Telegram's, and Telegram's test network has
        // DCs 1-3 only, so @mtcute/convert finds none for test DC 4): it is pointed at the test DC's DC 4 here. Telethon
        // and GramJS strings carry the address our Client stored, which mtcute dials as it is.
        let session = data
        if (format === 'pyrogram') {
          assert.equal(parsePyrogramSession(text).dcId, HOME_DC)
          session = {
            ...data,
            primaryDcs: { main: mtcuteDcOption(env.dc, HOME_DC), media: mtcuteDcOption(env.dc, HOME_DC) },
          }
        } else {
          assert.deepEqual([data.primaryDcs!.main.id, data.primaryDcs!.main.port], [HOME_DC, env.dc.portOf(HOME_DC)])
        }
        await theirs.importSession(writeStringSession(session as Parameters<typeof writeStringSession>[0]))

        // start() with no credentials at all: it only succeeds if the imported key is logged in (its getMe works).
        const me = await theirs.start({})
        assert.equal(BigInt(me.id), userId)
        assert.equal(BigInt((await theirs.getMe()).id), userId)
        assert.equal(env.codes.length, codesBefore, 'no code was sent: no new login')
        const after = readStringSession(await theirs.exportSession())
        assert.equal(after.primaryDcs.main.id, HOME_DC)
        assert.deepEqual(Buffer.from(after.authKey), Buffer.from(record.authKey), 'mtcute uses our key')
        assert.deepEqual(mtcuteComplaints(theirs), [])
      } finally {
        await closeMtcute(theirs)
        await ours.stop()
        await env.stop()
      }
    },
  )

  test(
    `session moved from mtcute to our Client as a ${format} string (@mtcute/convert) → our getMe with no new login`,
    MTCUTE_TEST,
    async () => {
      const env = await startAccountsDc()
      const theirs = mtcuteClientFor(env.dc, { dcId: 2 })
      let ours: Client | undefined
      try {
        const me = await theirs.start({ phone: PHONE, code: async () => CODE, codeSentCallback: () => {} })
        const exported = await theirs.exportSession()
        const authKey = readStringSession(exported).authKey
        const text = toString[format](exported)
        const codesBefore = env.codes.length

        // No phone, code or password given: a Client that tried to log in again would fail with MissingCredentialError.
        ours = new Client('moved', env.clientOptions({ sessionString: text }))
        await ours.start()
        assert.equal(ours.userId, BigInt(me.id))
        assert.equal((await ours.getMe()).id, BigInt(me.id))
        assert.equal(env.codes.length, codesBefore, 'no code was sent: no new login')
        const key = [...env.dc.dc(HOME_DC).keys].find(([, k]) =>
          Buffer.from(k.authKey.key).equals(Buffer.from(authKey)),
        )
        assert.ok(key, 'the key is the one mtcute made on DC 4')
        assert.equal(env.accounts.keyState(HOME_DC, key[0]).userId, BigInt(me.id))
      } finally {
        await ours?.stop()
        await closeMtcute(theirs)
        await env.stop()
      }
    },
  )
}
