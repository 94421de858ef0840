// Client CPU of one 2FA login (auth.sendCode → auth.signIn → SESSION_PASSWORD_NEEDED → account.getPassword →
// SRP → auth.checkPassword) against the test DC running in another process, by gramfarm's Client, by GramJS and by
// stock mtcute (@mtcute/node: connect() + sendCode + signIn + checkPassword) in the same run, next to the floor: the login's unavoidable crypto timed alone (one native
// PBKDF2-HMAC-SHA512 of 100,000 iterations and three 2048-bit modexps).
// Both clients start from an auth key made beforehand (not timed), so the figures are the login's: the
// measured window is a fresh client connecting with that key and logging in (GramJS: connect() +
// signInUser(), which skips start()'s extra updates.getState; gramfarm: start()). After each login the key
// is logged out again (not timed) and the next login reuses it.
// CPU is process.cpuUsage() of this process (every thread, so the libuv pool running PBKDF2 counts).
import { createRequire } from 'node:module'
import { pbkdf2Sync } from 'node:crypto'
import { Client } from '../src/auth/client.ts'
import { MemorySessionStorage } from '../src/auth/storage/index.ts'
import { DcConnection } from '../src/mtproto/dc/dc-connection.ts'
import { DhGroup, TELEGRAM_DH_PRIME } from '../src/mtproto/crypto/dh.ts'
import { computeSrpCheck, srpPasswordHashAsync, type SrpAlgo } from '../src/mtproto/crypto/srp.ts'
import { randomBytes } from '../src/mtproto/crypto/random.ts'
import { rsaPublicKeyToPem } from '../src/mtproto/crypto/rsa-keys.ts'
import { closeMtcute, mtcuteClientFor, mtcuteDcOption } from '../test/support/mtcute-client.ts'
import { startRemoteTestDc } from './support/remote-testdc.ts'
import { fmt } from './support/measure.ts'

const require = createRequire(import.meta.url)
const LOGINS = Number(process.env['LOGIN_BENCH_N'] ?? 10)
const WARMUP = 2
const API = { apiId: 2040, apiHash: 'b18441a1ff607e10a989891a5462e627' }
const APP = {
  apiId: API.apiId,
  deviceModel: 'bench',
  systemVersion: 'bench',
  appVersion: '1',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
}
const HOME_DC = 2
const USER = {
  phone: '15550009999',
  dcId: HOME_DC,
  code: '24680',
  password: { password: 'correct horse battery staple', hint: 'horse' },
}

// The test DC process seeds the 2FA user (bench/support/testdc-process.ts reads TESTDC_ACCOUNTS).
process.env['TESTDC_ACCOUNTS'] = JSON.stringify({ users: [USER] })
const dc = await startRemoteTestDc()
delete process.env['TESTDC_ACCOUNTS']
const dcs = [1, 2, 3].map((id) => ({ id, host: dc.host, port: dc.portOf(id) }))

/** An auth key on the home DC, made by a key exchange now (outside every measured window). */
async function makeAuthKey(): Promise<Uint8Array> {
  const conn = new DcConnection({
    dcId: HOME_DC,
    host: dc.host,
    port: dc.portOf(HOME_DC),
    testMode: true,
    rsaKeys: [dc.publicKey],
    app: APP,
    reconnect: { maxAttempts: 0 },
  })
  await conn.connect()
  const key = conn.authKeyBytes!
  conn.close()
  return key
}

interface Cpu {
  /** Mean CPU milliseconds per run. */
  meanMs: number
  minMs: number
  maxMs: number
}

/** One thing to time: each run builds what it needs (untimed), then only `measured` is inside the CPU window. */
interface Subject {
  once(): Promise<{ measured: () => Promise<void>; after?: () => Promise<void> }>
  runs: number[]
}

const subject = (once: Subject['once']): Subject => ({ once, runs: [] })

/**
 * `warmup` untimed rounds, then `n` timed ones. A round runs every subject once, in turn, so load from other
 * processes on this machine falls on all of them alike rather than on whichever phase it coincided with.
 */
async function measureRounds(subjects: Subject[], n: number, warmup: number): Promise<Cpu[]> {
  for (let i = 0; i < warmup + n; i++) {
    for (const s of subjects) {
      const { measured, after } = await s.once()
      const c0 = process.cpuUsage()
      await measured()
      const c = process.cpuUsage(c0)
      await after?.()
      if (i >= warmup) s.runs.push((c.user + c.system) / 1000)
    }
  }
  return subjects.map(({ runs }) => ({
    meanMs: runs.reduce((a, b) => a + b, 0) / runs.length,
    minMs: Math.min(...runs),
    maxMs: Math.max(...runs),
  }))
}

// --- the floor: PBKDF2-HMAC-SHA512 ×100k (native) + three 2048-bit modexps (DhGroup, native), alone
const group = DhGroup.of(TELEGRAM_DH_PRIME, 3)
group.powG(randomBytes(256)) // builds the cached OpenSSL DH object (its ~300 ms DH_check) outside the timing
const salt = randomBytes(40)
const floor = subject(async () => ({
  measured: async () => {
    pbkdf2Sync(randomBytes(32), salt, 100_000, 64, 'sha512')
    const gA = group.powG(randomBytes(256))
    group.pow(gA, randomBytes(256))
    group.pow(gA, randomBytes(256))
  },
}))

// --- gramfarm's SRP step alone (what checkPassword computes), for the breakdown
const algo: SrpAlgo = { salt1: randomBytes(40), salt2: randomBytes(16), g: 3, p: TELEGRAM_DH_PRIME }
const srpB = group.powG(randomBytes(256))
const srpOnly = subject(async () => ({
  measured: async () => {
    const hash = await srpPasswordHashAsync(USER.password.password, algo)
    computeSrpCheck({ algo, srpB, srpId: 1n, passwordHash: hash })
  },
}))

// --- gramfarm: a fresh Client holding the key logs in with phone + code + password
const ourKey = await makeAuthKey()
let ourUserId = ''
const ours = subject(async () => {
  const storage = new MemorySessionStorage()
  await storage.open()
  await storage.save({ dcId: HOME_DC, authKey: ourKey, testMode: true, apiId: API.apiId, userId: null, isBot: null })
  const client = new Client('bench', {
    ...API,
    testMode: true,
    dcs,
    rsaKeys: [dc.publicKey],
    storage,
    phoneNumber: USER.phone,
    phoneCode: USER.code,
    password: USER.password.password,
  })
  return {
    measured: async () => {
      await client.start()
    },
    after: async () => {
      ourUserId = String(client.userId)
      await client.logOut()
    },
  }
})

// --- GramJS: the same login with its own client (layer 198), from a key it holds in a MemorySession
interface GramjsClient {
  connect(): Promise<unknown>
  disconnect(): Promise<void>
  destroy(): Promise<void>
  invoke(req: unknown): Promise<unknown>
  signInUser(creds: typeof API, params: Record<string, unknown>): Promise<{ id: { toString(): string } }>
}
const { TelegramClient, Api } = require('telegram') as {
  TelegramClient: new (s: unknown, id: number, hash: string, o: object) => GramjsClient
  Api: { auth: { LogOut: new () => unknown } }
}
const { MemorySession } = require('telegram/sessions') as {
  MemorySession: new () => {
    setDC(id: number, host: string, port: number): void
    setAuthKey(k: unknown, dcId?: number): void
  }
}
const { ConnectionTCPFull } = require('telegram/network') as {
  ConnectionTCPFull: new (o: Record<string, unknown>) => object
}
const { AuthKey } = require('telegram/crypto/AuthKey') as { AuthKey: new () => { setKey(b: Buffer): Promise<void> } }
const { Logger } = require('telegram/extensions') as { Logger: new (level: string) => unknown }
const RSA = require('telegram/crypto/RSA') as { _serverKeys: Map<string, { n: unknown; e: number }> }
const bigInt = require('big-integer') as (s: string) => unknown
RSA._serverKeys.set(dc.publicKey.fingerprint.toString(), {
  n: bigInt(dc.publicKey.n.toString()),
  e: Number(dc.publicKey.e),
})
class LocalTcpFull extends ConnectionTCPFull {
  constructor(o: Record<string, unknown>) {
    super({ ...o, port: dc.portOf(o['dcId'] as number) })
  }
}
const gramjsKey = await makeAuthKey()
let gramjsUserId = ''
const gramjs = subject(async () => {
  const session = new MemorySession()
  session.setDC(HOME_DC, dc.host, dc.portOf(HOME_DC))
  const key = new AuthKey()
  await key.setKey(Buffer.from(gramjsKey))
  session.setAuthKey(key, HOME_DC)
  const client = new TelegramClient(session, API.apiId, API.apiHash, {
    connection: LocalTcpFull,
    connectionRetries: 1,
    autoReconnect: false,
    baseLogger: new Logger('none'),
  })
  return {
    measured: async () => {
      await client.connect()
      const user = await client.signInUser(API, {
        phoneNumber: USER.phone,
        phoneCode: async () => USER.code,
        password: async () => USER.password.password,
        onError: async (err: unknown) => {
          throw err
        },
      })
      gramjsUserId = user.id.toString()
    },
    after: async () => {
      await client.invoke(new Api.auth.LogOut())
      await client.disconnect()
      await client.destroy()
    },
  }
})

// --- mtcute: the same login with its own methods (layer 227), from a key imported into a fresh client's session.
// connect() + sendCode + signIn (SESSION_PASSWORD_NEEDED) + checkPassword: like GramJS's signInUser, without
// start()'s getMe probe. After each login (not timed) it logs out and the next login reuses the key.
const mtcuteDc = { host: dc.host, portOf: dc.portOf, publicKey: { pem: rsaPublicKeyToPem(dc.publicKey) } }
const mtcuteKey = await makeAuthKey()
let mtcuteUserId = ''
const mtcute = subject(async () => {
  const client = mtcuteClientFor(mtcuteDc, { dcId: HOME_DC, ...API })
  const home = mtcuteDcOption(mtcuteDc, HOME_DC)
  await client.importSession({ authKey: mtcuteKey, primaryDcs: { main: home, media: home } })
  return {
    measured: async () => {
      await client.connect()
      const sent = await client.sendCode({ phone: USER.phone })
      if (!('phoneCodeHash' in sent)) throw new Error('mtcute: sendCode logged in without a code')
      try {
        await client.signIn({ phone: USER.phone, phoneCodeHash: sent.phoneCodeHash, phoneCode: USER.code })
        throw new Error('mtcute: signIn did not ask for the password')
      } catch (err) {
        if ((err as { text?: string }).text !== 'SESSION_PASSWORD_NEEDED') throw err
      }
      mtcuteUserId = String((await client.checkPassword(USER.password.password)).id)
    },
    after: async () => {
      await client.logOut()
      await closeMtcute(client)
    },
  }
})
// One untimed login first: while the DC cannot serve mtcute (e.g. refuses its layer), the bench says why and goes on
// without it instead of failing.
let mtcuteFailure: string | undefined
try {
  const probe = await mtcute.once()
  await probe.measured()
  await probe.after?.()
} catch (err) {
  mtcuteFailure = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
const subjects = mtcuteFailure === undefined ? [floor, srpOnly, ours, gramjs, mtcute] : [floor, srpOnly, ours, gramjs]
const [floorCpu, srpCpu, oursCpu, gramjsCpu, mtcuteCpu] = (await measureRounds(subjects, LOGINS, WARMUP)) as [
  Cpu,
  Cpu,
  Cpu,
  Cpu,
  Cpu | undefined,
]
dc.stop()
if (!ourUserId || ourUserId !== gramjsUserId)
  throw new Error(`the two clients logged in as different users (${ourUserId} vs ${gramjsUserId})`)
if (mtcuteCpu && mtcuteUserId !== ourUserId)
  throw new Error(`mtcute logged in as another user (${mtcuteUserId} vs ${ourUserId})`)

const row = (name: string, c: Cpu, note: string): string =>
  `  ${name.padEnd(30)} ${fmt(c.meanMs, 2).padStart(8)} ms  (min ${fmt(c.minMs, 2)}, max ${fmt(c.maxMs, 2)})  ${note}`
console.log(
  `client CPU per 2FA login (mean of ${LOGINS} rounds after ${WARMUP} warm-up; test DC in another process; auth key made beforehand), node ${process.version}`,
)
console.log(row('floor', floorCpu, 'PBKDF2-HMAC-SHA512 ×100k + 3 × 2048-bit modexp, native, alone'))
console.log(row('gramfarm SRP step alone', srpCpu, 'srpPasswordHashAsync + computeSrpCheck'))
console.log(row('gramfarm Client.start()', oursCpu, `${fmt(oursCpu.meanMs / floorCpu.meanMs, 3)}× the floor`))
console.log(
  row(
    'GramJS connect + signInUser',
    gramjsCpu,
    `${fmt(gramjsCpu.meanMs / floorCpu.meanMs, 3)}× the floor; gramfarm is ${fmt(gramjsCpu.meanMs / oursCpu.meanMs, 2)}× faster`,
  ),
)
if (mtcuteCpu)
  console.log(
    row(
      'mtcute connect + sendCode…',
      mtcuteCpu,
      `${fmt(mtcuteCpu.meanMs / floorCpu.meanMs, 3)}× the floor; gramfarm is ${fmt(mtcuteCpu.meanMs / oursCpu.meanMs, 2)}× faster`,
    ),
  )
else console.log(`  mtcute                         could not log in to the test DC, left out: ${mtcuteFailure}`)
console.log(
  JSON.stringify({
    bench: 'login',
    ratios: {
      srp_vs_floor: Number((oursCpu.meanMs / floorCpu.meanMs).toFixed(3)),
      login_vs_gramjs: Number((gramjsCpu.meanMs / oursCpu.meanMs).toFixed(3)),
      vs_mtcute: mtcuteCpu ? Number((mtcuteCpu.meanMs / oursCpu.meanMs).toFixed(3)) : null,
    },
    cpu_ms_per_login: {
      gramfarm: Number(oursCpu.meanMs.toFixed(2)),
      gramjs: Number(gramjsCpu.meanMs.toFixed(2)),
      mtcute: mtcuteCpu ? Number(mtcuteCpu.meanMs.toFixed(2)) : null,
    },
    ...(mtcuteFailure !== undefined ? { mtcute_failure: mtcuteFailure } : {}),
  }),
)
