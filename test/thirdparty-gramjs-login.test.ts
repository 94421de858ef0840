// Third-party proof of the accounts API: GramJS (npm `telegram`, layer 198), a client we did not write, logs in
// to the test DC with its own login code — phone + code (with PHONE_MIGRATE), phone + code + 2FA (SRP), bot
// token (with USER_MIGRATE), and QR (exportLoginToken → acceptLoginToken by a second GramJS client →
// updateLoginToken → loginTokenSuccess, or loginTokenMigrateTo + importLoginToken on the user's DC).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import type { TestDc } from '../src/testdc/test-dc.ts'
import { startAccountsDc } from './support/accounts-dc.ts'
import { gramjs, gramjsClientFor, type GramjsClient } from './support/gramjs-client.ts'

const require = createRequire(import.meta.url)
const CREDS = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' }

/** The parts of GramJS's TelegramClient these tests use (its login API). */
interface GramjsUser {
  className: string
  id: { toString(): string }
  phone?: string
  username?: string
  bot?: boolean
  self?: boolean
}
interface LoginClient extends GramjsClient {
  start(params: Record<string, unknown>): Promise<void>
  getMe(): Promise<GramjsUser>
  signInBot(creds: typeof CREDS, params: { botAuthToken: string }): Promise<GramjsUser>
  signInUserWithQrCode(creds: typeof CREDS, params: Record<string, unknown>): Promise<GramjsUser>
  session: GramjsClient['session'] & { dcId: number }
}

const Api = gramjs.Api as unknown as { auth: { AcceptLoginToken: new (a: { token: Buffer }) => unknown } }
const loginClient = (dc: TestDc, dcId = 2): LoginClient => gramjsClientFor(dc, dcId) as LoginClient

/** The id (as the DC knows it) of the auth key a GramJS client holds on `dcId`. */
function serverKeyId(dc: TestDc, dcId: number, client: LoginClient): bigint {
  const key = client.session.authKey!.getKey()
  for (const [id, k] of dc.dc(dcId).keys) if (Buffer.from(k.authKey.key).equals(key)) return id
  throw new Error(`DC ${dcId} does not know the client's auth key`)
}

/** GramJS's onError: stop at the first error, and remember it for the assertion message. */
function stopOnError(errors: unknown[]) {
  return async (err: unknown): Promise<boolean> => {
    errors.push(err)
    return true
  }
}

async function closeAll(...clients: LoginClient[]): Promise<void> {
  for (const c of clients) {
    await c.disconnect().catch(() => {})
    await c.destroy().catch(() => {})
  }
}

test('GramJS: phone + code of a test number (PHONE_MIGRATE from DC 2 to DC 4 on the way) → getMe is that user', async () => {
  const env = await startAccountsDc()
  const a = loginClient(env.dc)
  const b = loginClient(env.dc)
  try {
    const errors: unknown[] = []
    const asked: boolean[] = []
    await a.start({
      phoneNumber: '9996621234',
      phoneCode: async (viaApp: boolean) => {
        asked.push(viaApp)
        return '22222'
      },
      onError: stopOnError(errors),
    })
    assert.deepEqual(errors, [])
    assert.deepEqual(asked, [false], 'one code, sent by SMS')
    const me = await a.getMe()
    assert.equal(me.phone, '9996621234')
    assert.equal(me.self, true)
    const account = env.accounts.userByPhone('9996621234')!
    assert.equal(me.id.toString(), String(account.id))
    const keyId = serverKeyId(env.dc, 2, a)
    assert.deepEqual(env.accounts.keyState(2, keyId), { status: 'authorized', userId: account.id, rejection: null })
    assert.equal(env.dc.dc(2).keys.get(keyId)!.layer, 198, "the server answered in GramJS's layer")

    // A test number of DC 4 reached through DC 2: GramJS follows PHONE_MIGRATE_4 itself.
    await b.start({ phoneNumber: '9996641234', phoneCode: async () => '44444', onError: stopOnError(errors) })
    assert.deepEqual(errors, [])
    assert.equal(b.session.dcId, 4)
    assert.equal((await b.getMe()).phone, '9996641234')
    assert.equal(env.accounts.keyState(4, serverKeyId(env.dc, 4, b)).status, 'authorized')
  } finally {
    await closeAll(a, b)
    await env.stop()
  }
})

test('GramJS: phone + code + 2FA → SESSION_PASSWORD_NEEDED, SRP with its own computeCheck, the key is authorized', async () => {
  const env = await startAccountsDc()
  const user = env.accounts.addUser({
    phone: '15550002222',
    dcId: 2,
    code: '54321',
    password: { password: 'correct horse', hint: 'horse' },
  })
  const client = loginClient(env.dc)
  try {
    const errors: unknown[] = []
    const hints: string[] = []
    const passwords = ['wrong', 'correct horse']
    let keyId = 0n
    await client.start({
      phoneNumber: '+1 555 000 2222',
      phoneCode: async () => '54321',
      password: async (hint: string) => {
        hints.push(hint)
        // Between SESSION_PASSWORD_NEEDED and checkPassword the key is not logged in, only bound to the user's 2FA.
        keyId = serverKeyId(env.dc, 2, client)
        assert.equal(env.accounts.keyState(2, keyId).status, 'unauthorized')
        assert.equal(env.accounts.passwordLogin(2, keyId)?.userId, user.id)
        return passwords.shift()!
      },
      // A wrong password: GramJS asks onError whether to stop; going on fetches a new srp_id and asks again.
      onError: async (err: unknown) => {
        errors.push(err)
        return (err as { errorMessage?: string }).errorMessage !== 'PASSWORD_HASH_INVALID'
      },
    })
    assert.deepEqual(
      errors.map((e) => (e as { errorMessage?: string }).errorMessage),
      ['PASSWORD_HASH_INVALID'],
    )
    assert.deepEqual(hints, ['horse', 'horse'])
    const me = await client.getMe()
    assert.equal(me.id.toString(), String(user.id))
    assert.equal(me.phone, '15550002222')

    // Server side: the key is logged in as the user, with GramJS's initConnection as the session's app.
    assert.deepEqual(env.accounts.keyState(2, keyId), { status: 'authorized', userId: user.id, rejection: null })
    assert.equal(env.accounts.passwordLogin(2, keyId), null, 'the 2FA step is over')
    const sessions = env.accounts.sessionsOf(user.id)
    assert.equal(sessions.length, 1)
    assert.equal(sessions[0]!.authKeyId, keyId)
    assert.equal(sessions[0]!.client?.apiId, CREDS.apiId)
  } finally {
    await closeAll(client)
    await env.stop()
  }
})

test("GramJS: signInBot with a bot token (USER_MIGRATE to the bot's DC 3) → getMe is the bot", async () => {
  const env = await startAccountsDc()
  const bot = env.accounts.addBot({ dcId: 3, username: 'farm_bot' })
  const client = loginClient(env.dc)
  try {
    await client.connect()
    const user = await client.signInBot(CREDS, { botAuthToken: bot.botToken! })
    assert.equal(user.bot, true)
    assert.equal(client.session.dcId, 3)
    const me = await client.getMe()
    assert.equal(me.id.toString(), String(bot.id))
    assert.equal(me.bot, true)
    assert.equal(me.username, 'farm_bot')
    assert.deepEqual(env.accounts.keyState(3, serverKeyId(env.dc, 3, client)), {
      status: 'authorized',
      userId: bot.id,
      rejection: null,
    })
  } finally {
    await closeAll(client)
    await env.stop()
  }
})

/**
 * GramJS's signInUserWithQrCode sleeps 30 s (QR_CODE_TIMEOUT) after every qrCode callback, on a timer that
 * holds the process open after the login is over. The tests unref that timer (the login itself does not
 * wait for it: updateLoginToken ends the race) so the test process can exit.
 */
async function withUnrefQrSleep<T>(fn: () => Promise<T>): Promise<T> {
  const helpers = require('telegram/Helpers') as { sleep: (ms: number, isUnref?: boolean) => Promise<void> }
  const sleep = helpers.sleep
  helpers.sleep = (ms, isUnref) => sleep(ms, isUnref || ms >= 30_000)
  try {
    return await fn()
  } finally {
    helpers.sleep = sleep
  }
}

for (const { title, phoneNumber, code, homeDc, password } of [
  { title: 'same DC: loginTokenSuccess', phoneNumber: '9996621111', code: '22222', homeDc: 2 },
  {
    title: 'user on DC 4: loginTokenMigrateTo + importLoginToken',
    phoneNumber: '9996641111',
    code: '44444',
    homeDc: 4,
  },
  {
    title: 'user on DC 4 with 2FA: importLoginToken → SESSION_PASSWORD_NEEDED → checkPassword',
    phoneNumber: '15550004444',
    code: '12345',
    homeDc: 4,
    password: 'qr secret',
  },
]) {
  test(`GramJS: QR login accepted by a second GramJS client (${title})`, async () => {
    const env = await startAccountsDc()
    if (password) env.accounts.addUser({ phone: phoneNumber, dcId: homeDc, code, password: { password } })
    const scanner = loginClient(env.dc) // B: the logged-in "phone" that scans
    const desktop = loginClient(env.dc) // A: shows the QR code
    try {
      const errors: unknown[] = []
      await scanner.start({
        phoneNumber,
        phoneCode: async () => code,
        password: async () => password,
        onError: stopOnError(errors),
      })
      const userId = (await scanner.getMe()).id.toString()
      assert.equal(scanner.session.dcId, homeDc)

      const tokens: Buffer[] = []
      let asked = 0
      await desktop.connect()
      const user = await withUnrefQrSleep(() =>
        desktop.signInUserWithQrCode(CREDS, {
          qrCode: async ({ token }: { token: Buffer }) => {
            tokens.push(token)
            const accepted = (await scanner.invoke(new Api.auth.AcceptLoginToken({ token }))) as { className: string }
            assert.equal(accepted.className, 'Authorization')
          },
          password: async () => {
            asked++
            return password
          },
          onError: stopOnError(errors),
        }),
      )
      assert.deepEqual(errors, [])
      assert.equal(tokens.length, 1)
      assert.equal(asked, password ? 1 : 0, 'the password is asked only when the account has 2FA')
      assert.equal(user.id.toString(), userId)
      assert.equal(desktop.session.dcId, homeDc, homeDc === 2 ? 'no migration' : "GramJS switched to the user's DC")
      assert.equal((await desktop.getMe()).id.toString(), userId)
      const keyId = serverKeyId(env.dc, homeDc, desktop)
      assert.deepEqual(env.accounts.keyState(homeDc, keyId), {
        status: 'authorized',
        userId: BigInt(userId),
        rejection: null,
      })
      assert.equal(env.accounts.sessionsOf(BigInt(userId)).length, 2, 'the phone and the desktop')
    } finally {
      await closeAll(desktop, scanner)
      await env.stop()
    }
  })
}
