// Stock mtcute (npm `@mtcute/node` 0.30.x, layer 227; a client we did not write, not patched, layer not overridden)
// logs in to the test DC with its own login code: phone + code on the home DC over each transport it ships
// (intermediate, padded intermediate, obfuscated; then its updates manager catches up: getState + getDifference),
// phone + code + 2FA (SRP, a wrong password first), PHONE_MIGRATE,
// and a bot token on the bot's DC and through USER_MIGRATE. Each ends with getMe, and the DC's side is checked:
// the key is authorized as that account and the DC serves it in mtcute's layer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDecipheriv } from 'node:crypto'
import type { TelegramClient } from '@mtcute/node'
import { readStringSession } from '@mtcute/node/utils.js'
import type { TestDc } from '../src/testdc/test-dc.ts'
import { startAccountsDc } from './support/accounts-dc.ts'
import {
  closeMtcute,
  MTCUTE_TRANSPORTS,
  mtcuteClientFor,
  mtcuteComplaints,
  mtcuteTransportTags,
  updatesCaughtUp,
  MTCUTE_TEST,
} from './support/mtcute-client.ts'

/** The layer @mtcute/node 0.30.x announces in invokeWithLayer. */
const MTCUTE_LAYER = 227

/** mtcute's primary DC and the id (as the DC knows it) of the auth key it holds there. */
async function mtcuteKey(dc: TestDc, client: TelegramClient): Promise<{ dcId: number; keyId: bigint }> {
  const session = readStringSession(await client.exportSession())
  const dcId = session.primaryDcs.main.id
  const key = Buffer.from(session.authKey)
  for (const [id, k] of dc.dc(dcId).keys) if (Buffer.from(k.authKey.key).equals(key)) return { dcId, keyId: id }
  throw new Error(`DC ${dcId} does not know mtcute's auth key`)
}

/**
 * The transport a connection's opening tag names: ee ee ee ee intermediate, dd dd dd dd padded; a 64-byte obfuscated
 * header carries the inner tag in bytes 56-59, AES-256-CTR-encrypted with key bytes 8-39 and IV bytes 40-55 of itself.
 */
function transportOfTag(tag: Uint8Array): string {
  const plain = (inner: Uint8Array): string =>
    inner.every((b) => b === 0xee)
      ? 'intermediate'
      : inner.every((b) => b === 0xdd)
        ? 'padded'
        : `unknown ${Buffer.from(inner).toString('hex')}`
  if (tag.length === 4) return plain(tag)
  if (tag.length !== 64) return `unknown (${tag.length} bytes)`
  const header = createDecipheriv('aes-256-ctr', tag.subarray(8, 40), tag.subarray(40, 56)).update(tag)
  const inner = plain(header.subarray(56, 60))
  return inner === 'intermediate' ? 'obfuscated' : `obfuscated-${inner}`
}

for (const transport of MTCUTE_TRANSPORTS) {
  test(
    `mtcute (${transport}): phone + code of a test number on its home DC → getMe is that user, the DC serves layer ${MTCUTE_LAYER}`,
    MTCUTE_TEST,
    async () => {
      const env = await startAccountsDc()
      // catchUp: mtcute's own option to catch up with missed updates when its updates loop starts (after the login):
      // updates.getState and updates.getDifference, then its state goes 'updating' → 'connected'.
      const client = mtcuteClientFor(env.dc, { dcId: 2, transport, extra: { updates: { catchUp: true } } })
      const caughtUp = updatesCaughtUp(client)
      caughtUp.catch(() => undefined) // awaited below; a login that fails first must not leave it unhandled
      try {
        const sent: string[] = []
        const me = await client.start({
          phone: '+9996621234',
          code: async () => '22222',
          codeSentCallback: (c) => {
            sent.push(c.type)
          },
        })
        await caughtUp
        assert.deepEqual(sent, ['sms'], 'one code, sent by SMS')
        const account = env.accounts.userByPhone('9996621234')!
        assert.equal(me.id, Number(account.id))
        assert.equal(me.isSelf, true)
        const again = await client.getMe()
        assert.equal(again.phoneNumber, '9996621234')
        const { dcId, keyId } = await mtcuteKey(env.dc, client)
        assert.equal(dcId, 2)
        assert.deepEqual(env.accounts.keyState(2, keyId), { status: 'authorized', userId: account.id, rejection: null })
        assert.equal(env.dc.dc(2).keys.get(keyId)!.layer, MTCUTE_LAYER, "the DC answered in mtcute's layer")
        assert.deepEqual(mtcuteComplaints(client), [], "mtcute found nothing wrong in the DC's answers")
        const tags = mtcuteTransportTags(client)
        assert.ok(tags.length > 0)
        for (const tag of tags) assert.equal(transportOfTag(tag), transport, 'mtcute spoke the transport under test')
      } finally {
        await closeMtcute(client)
        await env.stop()
      }
    },
  )
}

test(
  'mtcute: PHONE_MIGRATE — a DC 4 number reached through DC 2; mtcute moves to DC 4 and logs in there',
  MTCUTE_TEST,
  async () => {
    const env = await startAccountsDc()
    const client = mtcuteClientFor(env.dc, { dcId: 2 })
    try {
      const me = await client.start({ phone: '+9996641234', code: async () => '44444', codeSentCallback: () => {} })
      const account = env.accounts.userByPhone('9996641234')!
      assert.equal(me.id, Number(account.id))
      assert.equal((await client.getMe()).phoneNumber, '9996641234')
      const { dcId, keyId } = await mtcuteKey(env.dc, client)
      assert.equal(dcId, 4, "mtcute switched its primary DC to the user's")
      assert.deepEqual(env.accounts.keyState(4, keyId), { status: 'authorized', userId: account.id, rejection: null })
      assert.deepEqual(mtcuteComplaints(client), [])
    } finally {
      await closeMtcute(client)
      await env.stop()
    }
  },
)

test(
  'mtcute: phone + code + 2FA → SESSION_PASSWORD_NEEDED, a wrong password, then SRP with its own computation',
  MTCUTE_TEST,
  async () => {
    const env = await startAccountsDc()
    const user = env.accounts.addUser({
      phone: '15550002222',
      dcId: 2,
      code: '54321',
      password: { password: 'correct horse', hint: 'horse' },
    })
    const client = mtcuteClientFor(env.dc, { dcId: 2 })
    try {
      const passwords = ['wrong', 'correct horse']
      const refused: string[] = []
      const me = await client.start({
        phone: '+1 555 000 2222',
        code: async () => '54321',
        codeSentCallback: () => {},
        password: async () => passwords.shift()!,
        invalidCodeCallback: (kind) => {
          refused.push(kind)
        },
      })
      assert.deepEqual(refused, ['password'], 'the wrong password was refused once')
      assert.deepEqual(passwords, [])
      assert.equal(me.id, Number(user.id))
      assert.equal((await client.getMe()).phoneNumber, '15550002222')
      const { keyId } = await mtcuteKey(env.dc, client)
      assert.deepEqual(env.accounts.keyState(2, keyId), { status: 'authorized', userId: user.id, rejection: null })
      assert.equal(env.accounts.passwordLogin(2, keyId), null, 'the 2FA step is over')
      const sessions = env.accounts.sessionsOf(user.id)
      assert.equal(sessions.length, 1)
      assert.equal(sessions[0]!.client?.apiId, 12345, "mtcute's initConnection is the session's app")
      assert.deepEqual(mtcuteComplaints(client), [])
    } finally {
      await closeMtcute(client)
      await env.stop()
    }
  },
)

for (const { title, botDc } of [
  { title: "on the bot's DC", botDc: 2 },
  { title: "USER_MIGRATE from DC 2 to the bot's DC 3", botDc: 3 },
]) {
  test(`mtcute: a bot by token (${title}) → getMe is the bot`, MTCUTE_TEST, async () => {
    const env = await startAccountsDc()
    const bot = env.accounts.addBot({ dcId: botDc, username: 'farm_bot' })
    const client = mtcuteClientFor(env.dc, { dcId: 2 })
    try {
      const me = await client.start({ botToken: bot.botToken! })
      assert.equal(me.isBot, true)
      assert.equal(me.id, Number(bot.id))
      const again = await client.getMe()
      assert.equal(again.username, 'farm_bot')
      const { dcId, keyId } = await mtcuteKey(env.dc, client)
      assert.equal(dcId, botDc)
      assert.deepEqual(env.accounts.keyState(botDc, keyId), { status: 'authorized', userId: bot.id, rejection: null })
      assert.deepEqual(mtcuteComplaints(client), [])
    } finally {
      await closeMtcute(client)
      await env.stop()
    }
  })
}
