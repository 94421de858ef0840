// The Client's login flows against the test DC's accounts API: phone + code, DC migration, 2FA, sign-up,
// bots, QR (with migration and except_ids), stored sessions, logOut, and account states.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '../src/auth/client.ts'
import { LoginError, AccountStateError, MissingCredentialError } from '../src/auth/auth-errors.ts'
import { startAccountsDc } from './support/accounts-dc.ts'

test('phone + code by the test-number rule, file session 0600, and a second start() asks nothing', async () => {
  const env = await startAccountsDc()
  const workdir = await mkdtemp(join(tmpdir(), 'gramfarm-client-'))
  try {
    const asked: string[] = []
    const first = new Client(
      'acc',
      env.clientOptions({
        inMemory: false,
        workdir,
        phoneNumber: '+999 66 2 1234',
        phoneCode: async (ctx) => {
          asked.push(`${ctx.codeType}#${ctx.attempt}`)
          return '22222'
        },
      }),
    )
    await first.start()
    const me = await first.getMe()
    assert.equal(me.phone, '9996621234')
    assert.equal(me.self, true)
    await first.stop()
    assert.deepEqual(asked, ['sms#1'])
    assert.equal((await stat(join(workdir, 'acc.session'))).mode & 0o777, 0o600)

    const second = new Client(
      'acc',
      env.clientOptions({
        inMemory: false,
        workdir,
        phoneNumber: () => {
          throw new Error('must not ask for the phone')
        },
        phoneCode: () => {
          throw new Error('must not ask for a code')
        },
      }),
    )
    await second.start()
    assert.equal((await second.getMe()).id, me.id)
    await second.stop()
    assert.equal(env.codes.length, 1, 'only one code was ever sent')
  } finally {
    await rm(workdir, { recursive: true, force: true })
    await env.stop()
  }
})

test('PHONE_MIGRATE: a phone of DC 4 reached through DC 2 moves the session to DC 4', async () => {
  const env = await startAccountsDc()
  try {
    const client = new Client('m', env.clientOptions({ phoneNumber: '9996641234', phoneCode: '44444' }))
    await client.start()
    const session = await client.exportSessionString()
    assert.equal(Buffer.from(session, 'base64url')[0], 4, 'the Pyrogram session string starts with dc_id 4')
    await client.stop()
  } finally {
    await env.stop()
  }
})

test('wrong code retried, a refused code never sent twice, cap → LoginError code_invalid', async () => {
  const env = await startAccountsDc()
  try {
    env.accounts.addUser({ phone: '15550001111', dcId: 2, code: '12345', firstName: 'Ann' })
    const codes = ['11111', '11111', '12345']
    const ok = new Client(
      'a',
      env.clientOptions({ phoneNumber: '15550001111', phoneCode: async () => codes.shift()!, maxCodeAttempts: 3 }),
    )
    await ok.start()
    assert.equal((await ok.getMe()).firstName, 'Ann')
    await ok.stop()

    const bad = new Client(
      'b',
      env.clientOptions({ phoneNumber: '15550001111', phoneCode: '99999', maxCodeAttempts: 2 }),
    )
    await assert.rejects(bad.start(), (e: unknown) => e instanceof LoginError && e.reason === 'code_invalid')
    await bad.stop()
  } finally {
    await env.stop()
  }
})

test('2FA: SESSION_PASSWORD_NEEDED → SRP; a wrong password retried; the cap ends in password_invalid', async () => {
  const env = await startAccountsDc()
  try {
    env.accounts.addUser({
      phone: '15550002222',
      dcId: 2,
      code: '54321',
      password: { password: 'correct horse', hint: 'horse' },
    })
    const hints: (string | undefined)[] = []
    const passwords = ['wrong', 'correct horse']
    const client = new Client(
      'p',
      env.clientOptions({
        phoneNumber: '15550002222',
        phoneCode: '54321',
        password: async (ctx) => {
          hints.push(ctx.hint)
          return passwords.shift()!
        },
      }),
    )
    await client.start()
    assert.equal((await client.getMe()).phone, '15550002222')
    assert.deepEqual(hints, ['horse', 'horse'])
    await client.stop()

    const wrong = new Client(
      'q',
      env.clientOptions({ phoneNumber: '15550002222', phoneCode: '54321', password: 'nope', maxPasswordAttempts: 2 }),
    )
    await assert.rejects(wrong.start(), (e: unknown) => e instanceof LoginError && e.reason === 'password_invalid')
    await wrong.stop()
  } finally {
    await env.stop()
  }
})

test('sign-up of a phone without an account, and signup_needed without details', async () => {
  const env = await startAccountsDc()
  try {
    const client = new Client(
      's',
      env.clientOptions({
        phoneNumber: '15550003333',
        phoneCode: async () => env.codes.at(-1)!.code,
        signUp: { firstName: 'New', lastName: 'User' },
      }),
    )
    await client.start()
    const me = await client.getMe()
    assert.equal(me.firstName, 'New')
    await client.stop()
    const none = new Client(
      't',
      env.clientOptions({ phoneNumber: '15550004444', phoneCode: async () => env.codes.at(-1)!.code }),
    )
    await assert.rejects(none.start(), (e: unknown) => e instanceof LoginError && e.reason === 'signup_needed')
    await none.stop()
  } finally {
    await env.stop()
  }
})

test('banned and invalid phones are typed login failures; no credential on a pipe is MissingCredentialError', async () => {
  const env = await startAccountsDc()
  try {
    env.accounts.addUser({ phone: '15550005555', banned: true })
    const banned = new Client('x', env.clientOptions({ phoneNumber: '15550005555', phoneCode: '1' }))
    await assert.rejects(banned.start(), (e: unknown) => e instanceof LoginError && e.reason === 'phone_banned')
    await banned.stop()
    const invalid = new Client('y', env.clientOptions({ phoneNumber: '12', phoneCode: '1' }))
    await assert.rejects(invalid.start(), (e: unknown) => e instanceof LoginError && e.reason === 'phone_invalid')
    await invalid.stop()
    const silent = new Client('z', env.clientOptions({ phoneNumber: '9996621234' }))
    await assert.rejects(
      silent.start(),
      (e: unknown) => e instanceof MissingCredentialError && e.credential === 'phoneCode',
    )
    await silent.stop()
  } finally {
    await env.stop()
  }
})

test('bots: token login, USER_MIGRATE to the bot DC, and a bad token', async () => {
  const env = await startAccountsDc()
  try {
    const bot = env.accounts.addBot({ dcId: 3, username: 'farm_bot' })
    const token = bot.botToken!
    await using client = await new Client('bot', env.clientOptions({ botToken: token })).start()
    const me = await client.getMe()
    assert.equal(me.bot, true)
    assert.equal(me.username, 'farm_bot')
    const bad = new Client('bad', env.clientOptions({ botToken: `${bot.id}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` }))
    await assert.rejects(bad.start(), (e: unknown) => e instanceof LoginError && e.reason === 'token_invalid')
    await bad.stop()
  } finally {
    await env.stop()
  }
})

test('QR login accepted by a second device, with migration to the user DC and except_ids honoured', async () => {
  const env = await startAccountsDc()
  try {
    // The "phone": an authorized client of a user whose home DC is 4.
    const phone = new Client('phone', env.clientOptions({ phoneNumber: '9996641111', phoneCode: '44444' }))
    await phone.start()
    const userId = (await phone.getMe()).id

    // except_ids: the same user scanning a token exported with their id is refused.
    const refusing = new Client(
      'qr1',
      env.clientOptions({
        onQrCode: async (qr) => {
          const token = Buffer.from(qr.url.split('token=')[1]!, 'base64url')
          await assert.rejects(phone.invoke({ _: 'auth.acceptLoginToken', token }), /AUTH_TOKEN_INVALID/)
        },
      }),
    )
    await assert.rejects(
      refusing.start({ useQr: true, exceptIds: [userId], qrTimeoutMs: 1500 }),
      (e: unknown) => e instanceof LoginError && e.reason === 'qr_expired',
    )
    await refusing.stop()

    let shown = 0
    const qr = new Client(
      'qr2',
      env.clientOptions({
        onQrCode: async (info) => {
          shown++
          assert.match(info.url, /^tg:\/\/login\?token=[A-Za-z0-9_-]+$/)
          assert.ok(info.ascii.length > 100)
          await phone.invoke({
            _: 'auth.acceptLoginToken',
            token: Buffer.from(info.url.split('token=')[1]!, 'base64url'),
          })
        },
      }),
    )
    await qr.start({ useQr: true, qrTimeoutMs: 20_000 })
    assert.equal((await qr.getMe()).id, userId)
    assert.equal(shown, 1)
    const session = await qr.exportSessionString()
    assert.equal(Buffer.from(session, 'base64url')[0], 4, 'moved to the user DC through loginTokenMigrateTo')
    await qr.stop()
    await phone.stop()
  } finally {
    await env.stop()
  }
})

test('logOut deletes the session; revoked, banned and duplicated keys are typed account states', async () => {
  const env = await startAccountsDc()
  try {
    const client = new Client('l', env.clientOptions({ phoneNumber: '9996621111', phoneCode: '22222' }))
    await client.start()
    const userId = (await client.getMe()).id
    const keyIds = (dc: number) => [...env.dc.dc(dc).keys.keys()]
    env.accounts.revokeSession(2, keyIds(2)[0]!)
    await assert.rejects(client.getMe(), (e: unknown) => e instanceof AccountStateError && e.state === 'revoked')
    await client.stop()

    const again = new Client('l2', env.clientOptions({ phoneNumber: '9996621111', phoneCode: '22222' }))
    await again.start()
    env.accounts.markDuplicated(2, keyIds(2).at(-1)!)
    await assert.rejects(
      again.getMe(),
      (e: unknown) => e instanceof AccountStateError && e.state === 'duplicated' && e.code === 406,
    )
    await again.stop()

    const third = new Client('l3', env.clientOptions({ phoneNumber: '9996621111', phoneCode: '22222' }))
    await third.start()
    env.accounts.deactivate(userId, 'ban')
    await assert.rejects(third.getMe(), (e: unknown) => e instanceof AccountStateError && e.state === 'banned')
    await third.stop()

    const fourth = new Client('l4', env.clientOptions({ phoneNumber: '9996621112', phoneCode: '22222' }))
    await fourth.start()
    await fourth.logOut()
    await assert.rejects(fourth.exportSessionString(), /no session to export/)
  } finally {
    await env.stop()
  }
})

test('PHONE_CODE_EXPIRED is answered with auth.resendCode and the next code type', async () => {
  let clock = Date.now()
  const env = await startAccountsDc({ now: () => clock, codeTtlSeconds: 60 })
  try {
    env.accounts.addUser({ phone: '15550006666', dcId: 2, code: '24680' })
    const seen: string[] = []
    const client = new Client(
      'e',
      env.clientOptions({
        phoneNumber: '15550006666',
        phoneCode: async (ctx) => {
          seen.push(`${ctx.codeType}/${ctx.previous ?? 'first'}`)
          if (ctx.attempt === 1) clock += 61_000 // the first code expires before it is used
          return '24680'
        },
      }),
    )
    await client.start()
    assert.equal(seen.length, 2)
    assert.equal(seen[1]!.endsWith('/expired'), true)
    assert.equal(env.codes.length, 2, 'auth.resendCode sent a second code')
    await client.stop()
  } finally {
    await env.stop()
  }
})

test('2FA password recovery by email code when the password is empty', async () => {
  const env = await startAccountsDc()
  try {
    env.accounts.addUser({
      phone: '15550008888',
      dcId: 2,
      code: '11223',
      password: { password: 'forgotten', recoveryEmail: 'owner@example.com' },
    })
    const client = new Client(
      'r',
      env.clientOptions({
        phoneNumber: '15550008888',
        phoneCode: '11223',
        password: '',
        recoveryCode: async (ctx) => {
          assert.match(ctx.emailPattern, /\*/)
          return env.codes.at(-1)!.code
        },
      }),
    )
    await client.start()
    assert.equal((await client.getMe()).phone, '15550008888')
    await client.stop()
  } finally {
    await env.stop()
  }
})

test('QR login of an account with 2FA asks for the password after the scan', async () => {
  const env = await startAccountsDc()
  try {
    env.accounts.addUser({ phone: '15550009999', dcId: 2, code: '99887', password: { password: 'qr-2fa' } })
    const phone = new Client(
      'phone2',
      env.clientOptions({ phoneNumber: '15550009999', phoneCode: '99887', password: 'qr-2fa' }),
    )
    await phone.start()
    const qr = new Client(
      'qr3',
      env.clientOptions({
        password: 'qr-2fa',
        onQrCode: async (info) => {
          await phone.invoke({
            _: 'auth.acceptLoginToken',
            token: Buffer.from(info.url.split('token=')[1]!, 'base64url'),
          })
        },
      }),
    )
    await qr.start({ useQr: true, qrTimeoutMs: 20_000 })
    assert.equal((await qr.getMe()).id, (await phone.getMe()).id)
    await qr.stop()
    await phone.stop()
  } finally {
    await env.stop()
  }
})
