// End to end: accounts files → coordinator → BullMQ → worker → the local test DC over loopback → sessions in Redis,
// then out to .session files and a session-strings JSON. Every final state the test DC can produce is reached:
// authorized, needs_password, password_invalid, phone_invalid, banned, unregistered, code_timeout,
// flood_wait(N), duplicate, failed(…). Under a prefix of its own, on the Redis the test file gives (the machine's
// Redis in farm-e2e-onboarding.test.ts, a 3-master Redis Cluster in farm-e2e-cluster.test.ts).
import assert from 'node:assert/strict'
import { statSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Client } from '../src/auth/client.ts'
import { FileSessionStorage, RedisSessionStorage, SessionStringCodec } from '../src/auth/storage/index.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { QrScanDevices } from '../src/demo/qr-scan-device.ts'
import type { SessionStringsFile } from '../src/farm/session-export.ts'
import type { AccountResult } from '../src/farm/coordinator.ts'
import { publishCode, CodeChannelNames } from '../src/queue/code-channel.ts'
import { clientOptionsFor } from '../src/testdc/testdc-endpoint.ts'
import { sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { LOGIN_QUEUE, loginJobId } from '../src/queue/login-job.ts'
import { listKeys } from '../src/queue/redis-scan.ts'
import {
  API,
  sink,
  startFarm,
  startSocksProxy,
  type Farm,
  type FarmOptions,
  type SocksProxy,
} from './farm-e2e-harness.ts'

// Phones (test numbers: 99966 X YYYY lives on DC X, code XXXXX; seeded ones behave as the seed says).
const PLAIN = ['9996621101', '9996631102', '9996641103', '9996651104']
const VAULT_2FA = '9996621201'
const PROVIDER_2FA = '9996641202'
const NOBODY_2FA = '9996631203'
const WRONG_2FA = '9996621204'
const BANNED = '9996621301'
const INVALID = '9996609901'
const UNREGISTERED = '9996631401'
const LOST_SMS = '9996621501'
const EARLY_CODE = '9996631601' // its SMS is lost too: only the code published before the login asks can work
const QR_PHONE = '9996640777' // the "phone" that scans the QR code
const PROXIED = '9996621701' // through a SOCKS5 proxy with a password, with its own api_id/api_hash
const PROXY_AUTH = { username: 'farmer', password: 'proxy-pass-secret' }
const OWN_API_HASH = 'fedcba9876543210fedcba9876543210'
const BOT_TOKEN = '7200000001:AAFakeTokenForTestsOnly000000000001'
const UNKNOWN_BOT = '7200000002:AAFakeTokenForTestsOnly000000000002'

const SEED = {
  users: [
    { phone: VAULT_2FA, password: { password: 'in the vault', hint: 'v' } },
    { phone: PROVIDER_2FA, password: 'from the owner', passwordViaProvider: true },
    { phone: NOBODY_2FA, password: 'nobody knows' },
    { phone: WRONG_2FA, password: 'the real one' },
    { phone: BANNED, banned: true },
    { phone: UNREGISTERED, registered: false },
    { phone: LOST_SMS, dropCode: true },
    { phone: EARLY_CODE, dropCode: true },
  ],
  bots: [{ token: BOT_TOKEN, dcId: 3 }],
  invalidPhones: [INVALID],
}

// One sendCode per phone per hour: a second login of LOST_SMS gets FLOOD_WAIT_~3600.
const FLOOD = { max: 1, windowSeconds: 3600 }

const csv = `phone,password,device_model,system_version,app_version,lang_code
${PLAIN[0]},,iPhone 15,iOS 17.5,10.14.1,en
+${PLAIN[1]},,,,,
${VAULT_2FA},in the vault,Pixel 8,Android 14,10.14.1,de
${WRONG_2FA},a wrong guess,,,,
${PROVIDER_2FA},,,,,
${NOBODY_2FA},,,,,
`
const txt = [PLAIN[2], PLAIN[3], BANNED, INVALID, UNREGISTERED, LOST_SMS, EARLY_CODE].map((p) => `+${p}`).join('\n')
const json = JSON.stringify([
  { kind: 'bot', token: BOT_TOKEN },
  { kind: 'bot', token: UNKNOWN_BOT },
  { kind: 'qr', label: 'desk-1', deviceModel: 'Desktop' },
])

function byAccount(results: readonly AccountResult[]): Map<string, AccountResult> {
  return new Map(results.map((r) => [r.account, r]))
}

/** The onboarding suite on the farm `farmOptions` describe (its Redis, by default the machine's). */
export function onboardingSuite(farmOptions: Partial<FarmOptions> = {}, title = 'onboarding end to end'): void {
  describe(title, () => {
    let farm: Farm
    let socks: SocksProxy

    before(async () => {
      socks = await startSocksProxy(PROXY_AUTH)
      farm = await startFarm({
        tag: 'e2e-onboarding',
        seed: SEED,
        testDc: { registry: { sendCodeFlood: FLOOD } },
        ...farmOptions,
      })
      // Short waits: a login whose code or password never comes ends in a couple of seconds.
      await farm.startWorker({ threads: 2, codeTimeoutMs: 8000, recheckMs: 500, maxFloodWaitSeconds: 60 })
    })

    after(async () => {
      await farm.stop()
      await socks.close()
    })

    let results: Map<string, AccountResult>
    /** The proxied account's job data, as Redis held it while the job ran. */
    const proxiedJobData: string[] = []
    let sessionsDir: string
    let stringsFile: string
    let qr: QrScanDevices

    it('logs users, bots and a QR slot in, and every account ends in its state', async () => {
      qr = await QrScanDevices.start({
        redis: farm.redis,
        prefix: farm.prefix,
        endpoint: farm.testDc.endpoint,
        owners: [{ phone: QR_PHONE, code: '44444' }],
        delayMs: [50, 100],
      })
      // Before any login asks: the code for EARLY_CODE is parked and adopted by its request.
      assert.equal(
        (await publishCode(farm.redis, { phone: EARLY_CODE, code: '33333' }, { prefix: farm.prefix })).status,
        'pending',
      )
      const proxied = JSON.stringify([
        {
          kind: 'user',
          phone: PROXIED,
          proxy: `socks5://${PROXY_AUTH.username}:${PROXY_AUTH.password}@127.0.0.1:${socks.port}`,
          apiId: API.apiId,
          apiHash: OWN_API_HASH,
        },
      ])
      const specs = [
        ...parseAccounts(csv, { file: 'users.csv' }),
        ...parseAccounts(txt, { file: 'phones.txt' }),
        ...parseAccounts(json, { file: 'more.json' }),
        ...parseAccounts(proxied, { file: 'proxied.json' }),
      ]
      // Job data is removed with the job: look at it while the job lives.
      const jobKey = `${farm.prefix}bull:${LOGIN_QUEUE}:${loginJobId('user', PROXIED)}`
      const watch = setInterval(
        () =>
          void farm.redis.hget(jobKey, 'data').then((d) => {
            if (d) proxiedJobData.push(d)
          }),
        5,
      )
      sessionsDir = join(farm.dir, 'sessions')
      stringsFile = join(farm.dir, 'strings.json')
      const { outcome, exitCode } = await runOnboarding(farm.redis, farm.prefix, specs, {
        sessionsDir,
        sessionsJson: stringsFile,
        report: join(farm.dir, 'report'),
        progress: false,
        // A bound for a hung run, not a speed check (that is `npm run bench -- farm`): a loaded CI machine is slow.
        timeoutMs: 120_000,
        stdout: sink(),
        stderr: sink(),
      })
      clearInterval(watch)
      await qr.stop()
      assert.equal(outcome.timedOut, false)
      assert.equal(exitCode, 1, 'some accounts failed on purpose')
      results = byAccount(outcome.results)
      const expected: Record<string, string> = {
        [PLAIN[0]!]: 'authorized',
        [PLAIN[1]!]: 'authorized',
        [PLAIN[2]!]: 'authorized',
        [PLAIN[3]!]: 'authorized',
        [VAULT_2FA]: 'authorized',
        [PROVIDER_2FA]: 'authorized',
        [EARLY_CODE]: 'authorized',
        [NOBODY_2FA]: 'needs_password',
        [WRONG_2FA]: 'password_invalid',
        [BANNED]: 'banned',
        [INVALID]: 'phone_invalid',
        [UNREGISTERED]: 'unregistered',
        [LOST_SMS]: 'code_timeout',
        bot7200000001: 'authorized',
        bot7200000002: 'failed(token_invalid)',
        'desk-1': 'authorized',
        [PROXIED]: 'authorized',
      }
      assert.deepEqual(Object.fromEntries([...results].map(([a, r]) => [a, r.state])), expected)
      // The QR slot is the account of the phone that scanned it (which had to migrate the login to DC 4).
      const qrUser = qr.userIds[0]!
      assert.equal(results.get('desk-1')!.userId, qrUser.toString())
      assert.equal(results.get('desk-1')!.dcId, 4)
      // Users live where the test-number rule says; the 2FA ones too.
      assert.equal(results.get(PLAIN[3]!)!.dcId, 5)
      assert.equal(results.get(VAULT_2FA)!.dcId, 2)
      // The report says the same, without secrets.
      const report = readFileSync(join(farm.dir, 'report.json'), 'utf8')
      assert.ok(!report.includes('in the vault') && !report.includes(BOT_TOKEN.split(':')[1]!))
      assert.equal((JSON.parse(report) as { accounts: unknown[] }).accounts.length, 17)
      assert.ok(socks.tunnels() > 0, 'the proxied account went through its proxy')
    })

    it('authorized each account exactly once, and no code is left to be used again', async () => {
      for (const r of results.values()) {
        if (r.state !== 'authorized') continue
        const sessions = farm.testDc.accounts.sessionsOf(BigInt(r.userId!))
        // the QR user also has its own (scanning) session
        assert.equal(sessions.length, r.kind === 'qr' ? 2 : 1, `${r.account} has ${sessions.length} authorizations`)
      }
      const names = new CodeChannelNames(farm.prefix)
      for (const phone of [...PLAIN, VAULT_2FA, PROVIDER_2FA, EARLY_CODE]) {
        assert.deepEqual(
          await listKeys(farm.redis, `${names.codePrefix(phone)}*`),
          [],
          `codes of ${phone} were consumed`,
        )
        assert.equal(await farm.redis.exists(names.pendingCode(phone)), 0)
        assert.equal(await farm.redis.exists(names.password(phone)), 0, 'passwords are consumed too')
      }
      // The same code delivered again after the login (its attempt is over) is kept, and nothing uses it: the
      // account is done, so a new run of it ends as duplicate without asking Telegram for another code.
      const late = await publishCode(farm.redis, { phone: PLAIN[0]!, code: '22222' }, { prefix: farm.prefix })
      assert.equal(late.status, 'stored')
      const again = await runOnboarding(
        farm.redis,
        farm.prefix,
        parseAccounts(`${PLAIN[0]}\n`, { file: 'again.txt' }),
        {
          progress: false,
          stdout: sink(),
          stderr: sink(),
          timeoutMs: 10_000,
        },
      )
      assert.equal(again.outcome.results[0]!.state, 'duplicate')
      assert.equal(again.exitCode, 0, 'already authorized counts as done')
      assert.equal(farm.testDc.accounts.sessionsOf(BigInt(results.get(PLAIN[0]!)!.userId!)).length, 1)
      assert.equal(
        await farm.redis.get(names.code(PLAIN[0]!, late.attempt!)),
        '22222',
        'the stray code was not consumed by anyone',
      )
    })

    it('ends a second login of a phone inside its FLOOD_WAIT window as flood_wait(seconds)', async () => {
      const { outcome } = await runOnboarding(
        farm.redis,
        farm.prefix,
        parseAccounts(`${LOST_SMS}\n`, { file: 'retry.txt' }),
        { progress: false, stdout: sink(), stderr: sink(), timeoutMs: 10_000 },
      )
      assert.match(outcome.results[0]!.state, /^flood_wait\((\d+)\)$/)
      assert.ok(Number(/\d+/.exec(outcome.results[0]!.state)![0]) > 3000)
    })

    it('wrote .session files (0600) that hold the sessions Redis holds', async () => {
      const authorized = [...results.values()].filter((r) => r.state === 'authorized')
      for (const r of authorized) {
        const name = r.kind === 'qr' ? `qr-${r.account}` : r.account
        const path = join(sessionsDir, `${name}.session`)
        assert.ok(existsSync(path), `${path} exists`)
        assert.equal(statSync(path).mode & 0o777, 0o600)
        assert.equal(statSync(join(sessionsDir, `${name}.json`)).mode & 0o777, 0o600)
        const file = new FileSessionStorage({ workdir: sessionsDir, name })
        await file.open()
        const fromFile = await file.load()
        await file.close()
        const redisStorage = new RedisSessionStorage({
          redis: farm.redis,
          name: r.session!,
          keyPrefix: sessionKeyPrefix(farm.prefix),
        })
        await redisStorage.open()
        const fromRedis = await redisStorage.load()
        assert.ok(fromFile && fromRedis)
        assert.deepEqual(Buffer.from(fromFile.authKey), Buffer.from(fromRedis.authKey))
        assert.equal(fromFile.userId, BigInt(r.userId!))
        assert.equal(fromFile.dcId, r.dcId)
        assert.equal(fromFile.testMode, true)
      }
      const sidecar = JSON.parse(readFileSync(join(sessionsDir, `${PLAIN[0]}.json`), 'utf8')) as Record<string, unknown>
      assert.equal(sidecar['phone'], PLAIN[0])
      assert.equal(sidecar['device'], 'iPhone 15', 'the identity from the CSV is the one the session was made with')
    })

    it('wrote session strings that round-trip through SessionStringCodec and log in', async () => {
      assert.equal(statSync(stringsFile).mode & 0o777, 0o600)
      const doc = JSON.parse(readFileSync(stringsFile, 'utf8')) as SessionStringsFile
      const authorized = [...results.values()].filter((r) => r.state === 'authorized')
      assert.equal(doc.sessions.length, authorized.length)
      for (const s of doc.sessions) {
        const record = SessionStringCodec.import(s.session)
        assert.equal(SessionStringCodec.export(record), s.session, 'export(import(s)) === s')
        assert.equal(record.userId?.toString(), s.userId)
        assert.equal(record.dcId, s.dcId)
        assert.equal(record.isBot, s.kind === 'bot')
      }
      // A string is a working session: a Client started from it is that account, without logging in again.
      const bot = doc.sessions.find((s) => s.kind === 'bot')!
      const user = doc.sessions.find((s) => s.account === VAULT_2FA)!
      for (const s of [bot, user]) {
        const client = new Client('from-string', {
          ...API,
          sessionString: s.session,
          ...clientOptionsFor(farm.testDc.endpoint),
        })
        await client.start()
        assert.equal((await client.getMe()).id.toString(), s.userId)
        await client.stop()
      }
    })

    it('keeps no secret in job data, and cleans up the login bookkeeping', async () => {
      const keys = await listKeys(farm.redis, `${farm.prefix}*`)
      assert.deepEqual(
        keys.filter((k) => k.includes(':secret:') || k.includes(':login:') || /:qr:qr-/.test(k)),
        [],
        'vault entries, login hashes and QR keys are gone',
      )
      const secrets = ['in the vault', 'a wrong guess', BOT_TOKEN.split(':')[1]!, PROXY_AUTH.password, OWN_API_HASH]
      for (const k of keys.filter((k) => k.includes('bull:'))) {
        const type = await farm.redis.type(k)
        const dump =
          type === 'hash'
            ? JSON.stringify(await farm.redis.hgetall(k))
            : type === 'string'
              ? String(await farm.redis.get(k))
              : ''
        for (const secret of secrets) assert.ok(!dump.includes(secret), `no secret in ${k}`)
      }
      // The proxied account's job, seen while it ran: its proxy and api_hash were in the vault, not in the job.
      assert.ok(proxiedJobData.length > 0, 'the job was seen')
      for (const d of proxiedJobData)
        for (const secret of secrets) assert.ok(!d.includes(secret), `no secret in the job data: ${d}`)
      assert.ok(proxiedJobData.every((d) => !d.includes('socks5://')))
    })
  })
}
