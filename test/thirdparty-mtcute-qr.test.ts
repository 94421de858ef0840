// QR login across clients: stock mtcute (`@mtcute/node` 0.30.x) shows the QR code (auth.exportLoginToken), our own
// Client, logged in as the user, scans it (auth.acceptLoginToken), and mtcute finishes with its own code: on the same
// DC (updateLoginToken → loginTokenSuccess), on the user's other DC (loginTokenMigrateTo → importLoginToken), and
// there with 2FA (importLoginToken → SESSION_PASSWORD_NEEDED → checkPassword).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readStringSession } from '@mtcute/node/utils.js'
import { Client } from '../src/auth/client.ts'
import { startAccountsDc } from './support/accounts-dc.ts'
import { closeMtcute, mtcuteClientFor, mtcuteComplaints, MTCUTE_TEST } from './support/mtcute-client.ts'

/** The login token inside mtcute's `tg://login?token=<base64url>` URL. */
function tokenOf(url: string): Uint8Array {
  const m = /^tg:\/\/login\?token=([A-Za-z0-9_-]+={0,2})$/.exec(url)
  assert.ok(m, `not a login URL: ${url}`)
  return new Uint8Array(Buffer.from(m[1]!, 'base64url'))
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
  test(`mtcute: QR login accepted by our Client (${title})`, MTCUTE_TEST, async () => {
    const env = await startAccountsDc()
    if (password) env.accounts.addUser({ phone: phoneNumber, dcId: homeDc, code, password: { password } })
    const scanner = new Client(
      'scanner',
      env.clientOptions({ phoneNumber, phoneCode: code, ...(password ? { password } : {}) }),
    )
    const desktop = mtcuteClientFor(env.dc, { dcId: 2 })
    try {
      await scanner.start()
      const userId = scanner.userId!
      const urls: string[] = []
      let asked = 0
      const me = await desktop.start({
        qrCodeHandler: (url) => {
          urls.push(url)
          // The "phone" scans the code shown on the "desktop".
          void scanner
            .invoke<{ _: string }>({ _: 'auth.acceptLoginToken', token: tokenOf(url) })
            .then((auth) => assert.equal(auth._, 'authorization'))
        },
        password: async () => {
          asked++
          return password ?? ''
        },
      })
      assert.equal(urls.length, 1, 'one QR code, scanned at once')
      assert.equal(asked, password ? 1 : 0, 'the password is asked only when the account has 2FA')
      assert.equal(BigInt(me.id), userId)
      assert.equal(BigInt((await desktop.getMe()).id), userId)
      const session = readStringSession(await desktop.exportSession())
      assert.equal(
        session.primaryDcs.main.id,
        homeDc,
        homeDc === 2 ? 'no migration' : "mtcute switched to the user's DC",
      )
      const key = Buffer.from(session.authKey)
      const keyId = [...env.dc.dc(homeDc).keys].find(([, k]) => Buffer.from(k.authKey.key).equals(key))?.[0]
      assert.ok(keyId !== undefined, "the DC knows mtcute's key")
      assert.deepEqual(env.accounts.keyState(homeDc, keyId), { status: 'authorized', userId, rejection: null })
      assert.equal(env.accounts.sessionsOf(userId).length, 2, 'the phone and the desktop')
      assert.deepEqual(mtcuteComplaints(desktop), [], "mtcute found nothing wrong in the DC's answers")
    } finally {
      await closeMtcute(desktop)
      await scanner.stop()
      await env.stop()
    }
  })
}
