// Auth keys per second on one core against the test DC (running in another process), by gramfarm, by
// GramJS and by mtcute (stock @mtcute/node) in one run, next to the floor: the exchange's raw crypto alone (two 2048-bit modexps, one RSA
// public operation, one pq factorisation). Rates are per second of the client's own CPU time.
// Then RSS per idle connected client at 1,000 clients, gramfarm vs GramJS, each in a fresh process.
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { generatePrimeSync } from 'node:crypto'
import { DcConnection } from '../src/mtproto/dc/dc-connection.ts'
import { DhGroup, TELEGRAM_DH_PRIME } from '../src/mtproto/crypto/dh.ts'
import { rsaPublicRaw } from '../src/mtproto/crypto/rsa-pad.ts'
import { factorizePq } from '../src/mtproto/crypto/factorize.ts'
import { randomBytes } from '../src/mtproto/crypto/random.ts'
import { rsaPublicKeyToPem } from '../src/mtproto/crypto/rsa-keys.ts'
import { MemoryStorage } from '@mtcute/node'
import { authKeyStored, mtcuteClientFor } from '../test/support/mtcute-client.ts'
import { startRemoteTestDc } from './support/remote-testdc.ts'
import { fmt } from './support/measure.ts'

const require = createRequire(import.meta.url)
const KEYS = Number(process.env['AUTHKEY_BENCH_KEYS'] ?? 150)
const APP = {
  apiId: 1,
  deviceModel: 'bench',
  systemVersion: 'bench',
  appVersion: '1',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
}

const dc = await startRemoteTestDc()

/** Runs `n` sequential iterations and returns keys per CPU-second and per wall-second of this process. */
async function rate(n: number, once: () => Promise<void>): Promise<{ cpu: number; wall: number; cpuMsEach: number }> {
  for (let i = 0; i < 5; i++) await once() // warm-up
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await once()
  const wallS = (performance.now() - t0) / 1000
  const c = process.cpuUsage(cpu0)
  const cpuS = (c.user + c.system) / 1e6
  return { cpu: n / cpuS, wall: n / wallS, cpuMsEach: (cpuS * 1000) / n }
}

/** As rate(), but each iteration is built by `prepare` outside the timed window and only its returned run is timed. */
async function ratePrepared(
  n: number,
  prepare: () => () => Promise<void>,
): Promise<{ cpu: number; wall: number; cpuMsEach: number }> {
  for (let i = 0; i < 5; i++) await prepare()() // warm-up
  let cpuUs = 0
  let wallMs = 0
  for (let i = 0; i < n; i++) {
    const run = prepare()
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await run()
    wallMs += performance.now() - t0
    const c = process.cpuUsage(cpu0)
    cpuUs += c.user + c.system
  }
  const cpuS = cpuUs / 1e6
  return { cpu: n / cpuS, wall: n / (wallMs / 1000), cpuMsEach: (cpuS * 1000) / n }
}

// --- gramfarm: a DcConnection without a key connects, exchanges, and is closed
const ours = await rate(KEYS, async () => {
  const conn = new DcConnection({
    dcId: 2,
    host: dc.host,
    port: dc.portOf(2),
    testMode: true,
    rsaKeys: [dc.publicKey],
    app: APP,
    reconnect: { maxAttempts: 0 },
  })
  await conn.connect()
  conn.close()
})

// --- GramJS: its own connection class, plain sender and Authenticator.doAuthentication
const { ConnectionTCPFull } = require('telegram/network') as {
  ConnectionTCPFull: new (o: Record<string, unknown>) => { connect(): Promise<void>; disconnect(): Promise<void> }
}
const { MTProtoPlainSender } = require('telegram/network/MTProtoPlainSender') as {
  MTProtoPlainSender: new (c: unknown, log: unknown) => unknown
}
const { doAuthentication } = require('telegram/network/Authenticator') as {
  doAuthentication(s: unknown, log: unknown): Promise<unknown>
}
const { PromisedNetSockets, Logger } = require('telegram/extensions') as {
  PromisedNetSockets: unknown
  Logger: new (level: string) => unknown
}
const RSA = require('telegram/crypto/RSA') as { _serverKeys: Map<string, { n: unknown; e: number }> }
const bigInt = require('big-integer') as (s: string) => unknown
RSA._serverKeys.set(dc.publicKey.fingerprint.toString(), {
  n: bigInt(dc.publicKey.n.toString()),
  e: Number(dc.publicKey.e),
})
const log = new Logger('none')
const gramjs = await rate(Math.max(20, Math.floor(KEYS / 5)), async () => {
  const connection = new ConnectionTCPFull({
    ip: dc.host,
    port: dc.portOf(2),
    dcId: 2,
    loggers: log,
    proxy: undefined,
    socket: PromisedNetSockets,
    testServers: false,
  })
  await connection.connect()
  await doAuthentication(new MTProtoPlainSender(connection, log), log)
  await connection.disconnect()
})

// --- mtcute: a TelegramClient on an empty memory session connects and runs its key exchange, timed until the key is
// in its storage (mtcute has no public key-exchange call of its own). Building the client (storage, managers) is left
// out of the timing, which can only favour mtcute.
const mtcuteDc = { host: dc.host, portOf: dc.portOf, publicKey: { pem: rsaPublicKeyToPem(dc.publicKey) } }
const mtcute = await ratePrepared(Math.max(20, Math.floor(KEYS / 2)), () => {
  const storage = new MemoryStorage()
  const client = mtcuteClientFor(mtcuteDc, { dcId: 2, storage })
  const keyMade = authKeyStored(storage, 2)
  return async () => {
    await client.connect()
    await keyMade
    await client.destroy()
  }
})

// --- the floor: the exchange's unavoidable client crypto, timed alone
const group = DhGroup.of(TELEGRAM_DH_PRIME, 3)
const gA = group.powG(randomBytes(256))
const rsaInput = randomBytes(256)
rsaInput[0] = 0 // below the modulus
const pqs = Array.from(
  { length: 64 },
  () => generatePrimeSync(31, { bigint: true }) * generatePrimeSync(31, { bigint: true }),
)
let k = 0
const floor = await rate(KEYS * 2, async () => {
  const b = randomBytes(256)
  group.powG(b)
  group.pow(gA, b)
  rsaPublicRaw(dc.publicKey, rsaInput)
  factorizePq(pqs[k++ % pqs.length]!)
})
dc.stop()

console.log(`auth keys per CPU-second of the client (test DC in another process), node ${process.version}`)
console.log(
  `  gramfarm   ${fmt(ours.cpu, 1).padStart(8)} keys/s  (${fmt(ours.cpuMsEach, 2)} ms CPU each, ${fmt(ours.wall, 1)} keys/s wall)`,
)
console.log(
  `  GramJS     ${fmt(gramjs.cpu, 1).padStart(8)} keys/s  (${fmt(gramjs.cpuMsEach, 2)} ms CPU each, ${fmt(gramjs.wall, 1)} keys/s wall)`,
)
console.log(
  `  mtcute     ${fmt(mtcute.cpu, 1).padStart(8)} keys/s  (${fmt(mtcute.cpuMsEach, 2)} ms CPU each, ${fmt(mtcute.wall, 1)} keys/s wall)`,
)
console.log(
  `  floor      ${fmt(floor.cpu, 1).padStart(8)} keys/s  (${fmt(floor.cpuMsEach, 2)} ms: 2 modexps + RSA public op + pq factorisation)`,
)

// --- RSS per idle connected client, each library in a fresh process
interface IdleFigures {
  perClientKb: number
  marginalKb: number
  heapPlusExternalKbEach: number
  clients: number
}
function rssChild(lib: 'gramfarm' | 'gramjs'): IdleFigures {
  const out = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', new URL('./support/idle-clients.ts', import.meta.url).pathname, lib],
    { encoding: 'utf8', timeout: 300_000 },
  )
  const last = out.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(last) as IdleFigures
  } catch {
    throw new Error(`idle-clients ${lib} failed: ${out.stderr.slice(-2000)}`)
  }
}
const rssOurs = rssChild('gramfarm')
const rssGramjs = rssChild('gramjs')
console.log(`idle connected clients (${rssOurs.clients} each, one process per library):`)
console.log(
  `  RSS per client         gramfarm ${fmt(rssOurs.perClientKb, 1)} KB   GramJS ${fmt(rssGramjs.perClientKb, 1)} KB`,
)
console.log(
  `  RSS, second half only  gramfarm ${fmt(rssOurs.marginalKb, 1)} KB   GramJS ${fmt(rssGramjs.marginalKb, 1)} KB  (growth once the process is warm)`,
)
console.log(
  `  JS heap + external     gramfarm ${fmt(rssOurs.heapPlusExternalKbEach, 1)} KB   GramJS ${fmt(rssGramjs.heapPlusExternalKbEach, 1)} KB`,
)

const round = (x: number): number => Math.round(x * 100) / 100
console.log(
  JSON.stringify({
    bench: 'authkey',
    ratios: {
      vs_gramjs: round(ours.cpu / gramjs.cpu),
      vs_mtcute: round(ours.cpu / mtcute.cpu),
      vs_floor: round(floor.cpu / ours.cpu),
    },
    keys_per_cpu_s: {
      gramfarm: round(ours.cpu),
      gramjs: round(gramjs.cpu),
      mtcute: round(mtcute.cpu),
      floor: round(floor.cpu),
    },
    rss_kb_per_idle_client: {
      gramfarm: round(rssOurs.perClientKb),
      gramjs: round(rssGramjs.perClientKb),
      ratio: round(rssOurs.perClientKb / rssGramjs.perClientKb),
    },
    marginal_rss_kb_per_idle_client: {
      gramfarm: round(rssOurs.marginalKb),
      gramjs: round(rssGramjs.marginalKb),
      ratio: round(rssOurs.marginalKb / rssGramjs.marginalKb),
    },
    heap_kb_per_idle_client: {
      gramfarm: round(rssOurs.heapPlusExternalKbEach),
      gramjs: round(rssGramjs.heapPlusExternalKbEach),
    },
  }),
)
