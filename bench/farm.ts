// The farm end to end against the test DC (its own process: `gramfarm testdc`), on this machine:
//   1. accounts per second, 1,000 accounts without 2FA, then 1,000 of which half have 2FA (password from the
//      accounts file): gramfarm (coordinator + in-process worker, 2 threads, BullMQ, Redis) next to GramJS and to
//      stock mtcute, each logging the same accounts in from one process with the same concurrency; all rates count
//      the logins that ended authorized, over the time from the start to the last of them;
//   2. code → session latency: logins already waiting for their codes, codes published one at a time at a steady
//      rate; from the provider's publish (t0) to the worker's result (`finishedAt`, stamped once the session is
//      saved in Redis and the account recorded); p50/p99;
//   3. memory of pending logins: RSS of one `gramfarm worker` process (2 threads) holding 10,000 logins that wait
//      for codes, per login; and what they add to Redis, where a waiting login's state lives (the worker keeps
//      connected clients only as a bounded cache).
// Codes come from a provider in this process that reads the farm's code requests and answers with the test-number
// code (99966 X YYYY → XXXXX) at once. Knobs: FARM_BENCH_N (1000), FARM_BENCH_GRAMJS_N (= N),
// FARM_BENCH_MTCUTE_N (= FARM_BENCH_GRAMJS_N), FARM_BENCH_PENDING (10000), FARM_BENCH_LATENCY_N (300).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { Coordinator, type AccountResult } from '../src/farm/coordinator.ts'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { LOGIN_QUEUE } from '../src/queue/login-job.ts'
import { parseRsaPublicKey } from '../src/mtproto/crypto/rsa-keys.ts'
import { readTestDcEndpoint, type TestDcEndpoint } from '../src/testdc/testdc-endpoint.ts'
import { startFarmWorker } from '../src/worker/farm-worker.ts'
import { createRequire } from 'node:module'
import { closeMtcute, mtcuteClientFor } from '../test/support/mtcute-client.ts'
import { fmt } from './support/measure.ts'
import { BenchCodeProvider } from './support/bench-code-provider.ts'
import { commandDelta, cpuEfficiency, cryptoFloorMsPerLogin, redisCommandStats } from './support/farm-figures.ts'
import { measureClusterVsSingle } from './support/cluster-vs-single.ts'

const N = Number(process.env['FARM_BENCH_N'] ?? 1000)
const GRAMJS_N = Number(process.env['FARM_BENCH_GRAMJS_N'] ?? N)
const MTCUTE_N = Number(process.env['FARM_BENCH_MTCUTE_N'] ?? GRAMJS_N)
const PENDING = Number(process.env['FARM_BENCH_PENDING'] ?? 10_000)
const LATENCY_N = Number(process.env['FARM_BENCH_LATENCY_N'] ?? 300)
const CONCURRENCY = 256
const THREADS = 2
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const API = { apiId: 2040, apiHash: 'b18441a1ff607e10a989891a5462e627' }
const PASSWORD = 'bench two-factor password'
const FAST = { globalPerSec: 100_000, globalBurst: 100_000, perDcPerSec: 100_000, perDcBurst: 100_000 }
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname
const ROOT = new URL('..', import.meta.url).pathname

/** Test number n on DC dc (1-5): 99966 X YYYY. */
const phone = (dc: number, n: number): string => `99966${dc}${String(n).padStart(4, '0')}`
/** `count` test numbers from block `base`, round-robin over DCs 1..dcs. */
const phones = (base: number, count: number, dcs = 3): string[] =>
  Array.from({ length: count }, (_, i) => phone(1 + (i % dcs), base + Math.floor(i / dcs)))
const codeOf = (p: string): string => p[5]!.repeat(5)
const users = (list: readonly string[], password?: (p: string) => string | undefined): AccountSpec[] =>
  list.map((p, i) => ({
    kind: 'user',
    phone: p,
    ...(password?.(p) !== undefined ? { password: password(p)! } : {}),
    source: { file: 'bench', line: i + 1 },
  }))

const plainA = phones(1000, N)
const plainB = phones(5000, N - Math.floor(N / 2))
const twoFaB = phones(8000, Math.floor(N / 2))
const latencyPhones = phones(4000, LATENCY_N)
// DCs 4 and 5 are not used by the phases above: up to 20,000 fresh numbers there.
const pendingPhones = Array.from({ length: PENDING }, (_, i) => phone(4 + (i % 2), Math.floor(i / 2)))

// ---- the test DC, in its own process, seeded with the 2FA accounts -----------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'gramfarm-bench-'))
const seedFile = join(dir, 'seed.json')
const endpointFile = join(dir, 'endpoint.json')
writeFileSync(seedFile, JSON.stringify({ users: twoFaB.map((p) => ({ phone: p, password: PASSWORD })) }))
const dcProc: ChildProcess = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    CLI,
    '--log-level',
    'warn',
    'testdc',
    '--quiet',
    '--accounts',
    seedFile,
    '--endpoint-file',
    endpointFile,
  ],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] },
)
const children: ChildProcess[] = [dcProc]
// However this ends (even stopped by a signal), no test DC or worker process outlives the bench.
const killChildren = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}
process.on('exit', killChildren)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killChildren()
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1))
  })
}
const t0 = performance.now()
while (!existsSync(endpointFile)) {
  if (dcProc.exitCode !== null) throw new Error('the test DC process exited')
  await new Promise((r) => setTimeout(r, 100))
}
const endpoint: TestDcEndpoint = readTestDcEndpoint(endpointFile)
console.log(
  `test DC up in its own process (${fmt((performance.now() - t0) / 1000, 1)} s, ${twoFaB.length} 2FA accounts seeded); node ${process.version}`,
)

const prefix = `{gramfarm-bench:${process.pid}}:`
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null })

// ---- the code provider: answers each request with the test-number code, or holds it -----------------------------
const provider = await BenchCodeProvider.start({ redis, prefix, codeOf })
const { publishedAt, held } = provider

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

// ---- gramfarm ----------------------------------------------------------------------------------------------------
/** The in-process worker's options, for these runs and the cluster ÷ single ones at the end. */
const WORKER_OPTIONS = {
  ...API,
  testDc: { dcs: endpoint.dcs, publicKeyPem: endpoint.publicKeyPem },
  threads: THREADS,
  concurrency: CONCURRENCY,
  sendCodeRate: FAST,
  codeTimeoutMs: 600_000,
  recheckMs: 15_000,
}
const worker = await startFarmWorker({ redis: { url: REDIS_URL }, prefix, ...WORKER_OPTIONS })
const coordinator = new Coordinator({ redis, prefix })

async function farmRun(
  specs: AccountSpec[],
): Promise<{ perSec: number; results: readonly AccountResult[]; seconds: number }> {
  const start = Date.now()
  const run = await coordinator.enqueue(specs)
  const outcome = await coordinator.follow(run, { timeoutMs: 30 * 60_000, pollMs: 200 })
  if (outcome.timedOut) throw new Error('the run did not finish')
  const bad = outcome.results.filter((r) => r.state !== 'authorized')
  if (bad.length > 0) {
    const byState = new Map<string, number>()
    for (const r of bad) byState.set(r.state, (byState.get(r.state) ?? 0) + 1)
    console.log(
      `  ! ${bad.length} of ${specs.length} logins did not end authorized: ${[...byState].map(([k, v]) => `${v} ${k}`).join(', ')}`,
    )
    const withPassword = new Set(specs.flatMap((s) => (s.kind === 'user' && s.password !== undefined ? [s.phone] : [])))
    for (const r of bad.slice(0, 10))
      console.log(`    ${r.account} (${withPassword.has(r.account) ? 'with' : 'without'} 2FA): ${r.state}`)
  }
  // Counted as GramJS's are: the logins that ended authorized, over the time to the last of them (its result saved).
  const authorized = outcome.results.filter((r) => r.state === 'authorized')
  const seconds = (Math.max(...authorized.map((r) => r.finishedAt!)) - start) / 1000
  return { perSec: authorized.length / seconds, results: authorized, seconds }
}

const statsBeforeA = await redisCommandStats(redis)
const farmA = await farmRun(users(plainA))
const machineUse = await machineUseOf(farmA, statsBeforeA)
const saturated = farmA.results.map((r) => r.finishedAt! - publishedAt.get(r.account)!)
console.log(
  `gramfarm, ${N} accounts, no 2FA:        ${fmt(farmA.perSec, 1).padStart(7)} accounts/s (${fmt(farmA.seconds, 1)} s)`,
)
const twoFa = new Set(twoFaB)
const farmB = await farmRun(users([...twoFaB, ...plainB].sort(), (p) => (twoFa.has(p) ? PASSWORD : undefined)))
console.log(
  `gramfarm, ${N} accounts, half 2FA:     ${fmt(farmB.perSec, 1).padStart(7)} accounts/s (${fmt(farmB.seconds, 1)} s)`,
)

/**
 * The no-2FA run's use of the machine: CPU efficiency against the crypto floor (timed after the run, alone) and
 * the Redis commands it sent per authorized login (commandstats deltas: every client of this Redis counts, so
 * the figure is only clean on a Redis nobody else uses).
 */
async function machineUseOf(
  run: { results: readonly AccountResult[]; seconds: number },
  before: Map<string, number>,
): Promise<{ cpuEfficiency: number; redisCmdsPerLogin: number; floorMs: number }> {
  const delta = commandDelta(before, await redisCommandStats(redis))
  const floor = cryptoFloorMsPerLogin()
  const efficiency = cpuEfficiency(floor.total, run.results.length, run.seconds)
  const perLogin = delta.total / run.results.length
  console.log(
    `  crypto floor per login ${fmt(floor.total, 2)} ms (client ${fmt(floor.client, 2)}, DC ${fmt(floor.dc, 2)}): cpu_efficiency ${fmt(efficiency, 2)}; Redis ${fmt(perLogin, 1)} commands per login (${delta.byCommand
      .slice(0, 12)
      .map(([c, n]) => `${c} ${fmt(n / run.results.length, 1)}`)
      .join(', ')})`,
  )
  return { cpuEfficiency: efficiency, redisCmdsPerLogin: perLogin, floorMs: floor.total }
}

// code → session, with the logins already waiting and codes arriving at a steady rate
provider.holding = true
const latencyRun = await coordinator.enqueue(users(latencyPhones))
while (held.length < latencyPhones.length) await new Promise((r) => setTimeout(r, 50))
await new Promise((r) => setTimeout(r, 500)) // every job parked in the delayed set
const following = coordinator.follow(latencyRun, { timeoutMs: 10 * 60_000, pollMs: 200 })
const gapMs = 10
for (const req of held) {
  await provider.deliver(req)
  await new Promise((r) => setTimeout(r, gapMs))
}
provider.holding = false
const latencyOutcome = await following
if (latencyOutcome.timedOut) throw new Error('the latency run did not finish')
const latencyAuthorized = latencyOutcome.results.filter((r) => r.state === 'authorized')
if (latencyAuthorized.length < latencyPhones.length)
  console.log(
    `  ! ${latencyPhones.length - latencyAuthorized.length} of ${latencyPhones.length} latency logins did not end authorized (left out of the percentiles)`,
  )
const latencies = latencyAuthorized.map((r) => r.finishedAt! - publishedAt.get(r.account)!)
const p50 = percentile(latencies, 50)
const p99 = percentile(latencies, 99)
console.log(
  `code → session saved, ${LATENCY_N} waiting logins, a code every ${gapMs} ms: p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms, max ${fmt(Math.max(...latencies), 1)} ms`,
)
console.log(
  `  (under the ${N}-account burst above, where codes queue behind other logins' key exchanges: p50 ${fmt(percentile(saturated, 50))} ms, p99 ${fmt(percentile(saturated, 99))} ms)`,
)
await worker.close()

// ---- GramJS: the same accounts, same concurrency, one process ------------------------------------------------------
// Pointed at the test DC as test/support/gramjs-client.ts does (a connection class fixing the port per DC, our
// key in its RSA table, a MemorySession), with GramJS's logger silenced from the constructor on.
interface GramjsLogin {
  connect(): Promise<boolean>
  disconnect(): Promise<void>
  destroy(): Promise<void>
  signInUser(creds: typeof API, params: Record<string, unknown>): Promise<unknown>
}
const require = createRequire(import.meta.url)
const { TelegramClient } = require('telegram') as {
  TelegramClient: new (s: unknown, id: number, hash: string, o: object) => GramjsLogin
}
const { MemorySession } = require('telegram/sessions') as {
  MemorySession: new () => { setDC(id: number, host: string, port: number): void }
}
const { ConnectionTCPFull } = require('telegram/network') as {
  ConnectionTCPFull: new (o: Record<string, unknown>) => object
}
const { Logger } = require('telegram/extensions') as { Logger: new (level: string) => unknown }
const RSA = require('telegram/crypto/RSA') as { _serverKeys: Map<string, { n: unknown; e: number }> }
const bigInt = require('big-integer') as (s: string) => unknown
const serverKey = parseRsaPublicKey(endpoint.publicKeyPem)
RSA._serverKeys.set(serverKey.fingerprint.toString(), { n: bigInt(serverKey.n.toString()), e: Number(serverKey.e) })
const portOf = new Map(endpoint.dcs.map((d) => [d.id, d.port]))
class LocalTcpFull extends ConnectionTCPFull {
  constructor(o: Record<string, unknown>) {
    super({ ...o, port: portOf.get(o['dcId'] as number) })
  }
}
const silent = new Logger('none')
function gramjsClient(dcId: number): GramjsLogin {
  const session = new MemorySession()
  session.setDC(dcId, endpoint.dcs[0]!.host, portOf.get(dcId)!)
  // connectionRetries: GramJS's default (5). It keeps a 255-byte auth key when g_ab has a leading zero byte (1 key in
  // 256; test/thirdparty-gramjs-handshake.test.ts), fails its own dh_gen_ok check and needs the retry.
  return new TelegramClient(session, API.apiId, API.apiHash, {
    connection: LocalTcpFull,
    connectionRetries: 5,
    autoReconnect: false,
    receiveUpdates: false,
    baseLogger: silent,
  })
}

/** One library's login of one account: `run` logs in (throws if it did not), `close` lets go of the client. */
interface LibraryLogin {
  run(): Promise<void>
  close(): Promise<void>
}

/** Logs `list` in with one library from this process, CONCURRENCY at a time, as GramJS and mtcute are run. */
async function libraryRun(
  label: string,
  list: readonly string[],
  login: (p: string) => LibraryLogin,
): Promise<{ perSec: number; seconds: number; succeeded: number }> {
  const start = performance.now()
  let next = 0
  let failed = 0
  let finished = 0
  let succeeded = 0
  let lastSuccess = start
  let firstFailure: string | undefined
  const progress = setInterval(
    () =>
      process.stderr.write(
        `  ${label}: ${finished}/${list.length} after ${fmt((performance.now() - start) / 1000)} s\n`,
      ),
    15_000,
  )
  const one = async (p: string): Promise<void> => {
    const client = login(p)
    let timer: NodeJS.Timeout | undefined
    const watchdog = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error('login took over 120 s')), 120_000)
    })
    try {
      await Promise.race([watchdog, client.run()])
      succeeded++
      lastSuccess = performance.now()
    } catch (err) {
      failed++
      firstFailure ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    } finally {
      clearTimeout(timer)
      finished++
      await client.close().catch(() => undefined)
    }
  }
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, list.length) }, async () => {
      while (next < list.length) await one(list[next++]!)
    }),
  )
  clearInterval(progress)
  // A login that hangs (neither library has an overall timeout) must not count as time spent logging the others in.
  if (failed > 0)
    console.log(
      `  ! ${failed} of ${list.length} ${label} logins failed or hung (cut at 120 s; first: ${firstFailure}); the rate counts the ${succeeded} that succeeded, up to the last of them`,
    )
  const seconds = (lastSuccess - start) / 1000
  return { perSec: succeeded / seconds, seconds, succeeded }
}

function gramjsRun(
  list: readonly string[],
  password: (p: string) => string | undefined,
): Promise<{ perSec: number; seconds: number }> {
  return libraryRun('GramJS', list, (p) => {
    // Started on the phone's own DC, as gramfarm does for test numbers: no PHONE_MIGRATE for either.
    const client = gramjsClient(Number(p[5]))
    return {
      run: async () => {
        // connect() resolves false (it does not throw) when every attempt failed; invoking then would wait forever.
        if ((await client.connect()) === false) throw new Error('GramJS could not connect')
        await client.signInUser(API, {
          phoneNumber: p,
          phoneCode: async () => codeOf(p),
          password: async () => password(p) ?? '',
          onError: async (err: Error) => {
            throw err
          },
        })
      },
      close: async () => {
        await client.disconnect().catch(() => undefined)
        await client.destroy()
      },
    }
  })
}

const gramjsA = await gramjsRun(plainA.slice(0, GRAMJS_N), () => undefined)
console.log(
  `GramJS,   ${GRAMJS_N} of those accounts, no 2FA:   ${fmt(gramjsA.perSec, 1).padStart(7)} accounts/s (${fmt(gramjsA.seconds, 1)} s)`,
)
const mixed = [...twoFaB.slice(0, Math.floor(GRAMJS_N / 2)), ...plainB.slice(0, GRAMJS_N - Math.floor(GRAMJS_N / 2))]
const gramjsB = await gramjsRun(mixed, (p) => (twoFa.has(p) ? PASSWORD : undefined))
console.log(
  `GramJS,   ${GRAMJS_N} of those accounts, half 2FA: ${fmt(gramjsB.perSec, 1).padStart(7)} accounts/s (${fmt(gramjsB.seconds, 1)} s)`,
)
const ratioA = farmA.perSec / gramjsA.perSec
const ratioB = farmB.perSec / gramjsB.perSec
console.log(`gramfarm vs GramJS: ${fmt(ratioA, 2)}× without 2FA, ${fmt(ratioB, 2)}× with half 2FA`)

// ---- mtcute: the same accounts, same concurrency, one process ------------------------------------------------------
// Stock @mtcute/node pointed at the test DC as test/support/mtcute-client.ts does (the DC's key in its key table, the
// phone's DC as its first DC, a memory storage); each login is mtcute's own start({ phone, code, password }). Its
// updates manager is turned off (`updates: false`): the client is dropped right after the login, so fetching update
// state would only cost mtcute time.
const mtcuteDc = {
  host: endpoint.dcs[0]!.host,
  portOf: (id: number) => portOf.get(id)!,
  publicKey: { pem: endpoint.publicKeyPem },
}
// A login cut at 120 s is closed under mtcute's feet; mtcute's start() then throws "Client is destroyed" from a
// callback outside any promise we hold, which would end the whole bench without its JSON line. Those, and only
// those, are counted and ignored.
let mtcuteDestroyedThrows = 0
process.on('uncaughtException', (err) => {
  if (err instanceof Error && err.message === 'Client is destroyed') {
    mtcuteDestroyedThrows++
    return
  }
  throw err
})
function mtcuteRun(
  list: readonly string[],
  password: (p: string) => string | undefined,
): Promise<{ perSec: number; seconds: number; succeeded: number }> {
  return libraryRun('mtcute', list, (p) => {
    const client = mtcuteClientFor(mtcuteDc, { dcId: Number(p[5]), ...API, extra: { updates: false } })
    return {
      run: async () => {
        await client.start({
          phone: p,
          code: async () => codeOf(p),
          password: async () => password(p) ?? '',
          codeSentCallback: () => {},
        })
      },
      close: () => closeMtcute(client),
    }
  })
}
const mtcuteA = await mtcuteRun(plainA.slice(0, MTCUTE_N), () => undefined)
console.log(
  `mtcute,   ${MTCUTE_N} of those accounts, no 2FA:   ${fmt(mtcuteA.perSec, 1).padStart(7)} accounts/s (${fmt(mtcuteA.seconds, 1)} s)`,
)
const mixedMtcute = [
  ...twoFaB.slice(0, Math.floor(MTCUTE_N / 2)),
  ...plainB.slice(0, MTCUTE_N - Math.floor(MTCUTE_N / 2)),
]
const mtcuteB = await mtcuteRun(mixedMtcute, (p) => (twoFa.has(p) ? PASSWORD : undefined))
console.log(
  `mtcute,   ${MTCUTE_N} of those accounts, half 2FA: ${fmt(mtcuteB.perSec, 1).padStart(7)} accounts/s (${fmt(mtcuteB.seconds, 1)} s)`,
)
if (mtcuteDestroyedThrows > 0)
  console.log(`  (mtcute threw "Client is destroyed" ${mtcuteDestroyedThrows}× from logins cut at 120 s and closed)`)
/** gramfarm's rate over mtcute's; null when no mtcute login succeeded (the DC could not serve it). */
const mtcuteRatio = (ours: number, theirs: { perSec: number; succeeded: number }): number | null =>
  theirs.succeeded > 0 ? Number((ours / theirs.perSec).toFixed(2)) : null
const ratioMtcuteA = mtcuteRatio(farmA.perSec, mtcuteA)
const ratioMtcuteB = mtcuteRatio(farmB.perSec, mtcuteB)
console.log(`gramfarm vs mtcute: ${ratioMtcuteA ?? 'n/a'}× without 2FA, ${ratioMtcuteB ?? 'n/a'}× with half 2FA`)

// ---- memory: one worker process holding PENDING logins that wait for their codes ----------------------------------
function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : Number.NaN
}
provider.holding = true
held.length = 0
const workerProc = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    CLI,
    '--redis-url',
    REDIS_URL,
    '--prefix',
    prefix,
    '--testdc',
    endpointFile,
    '--log-level',
    'info',
    'worker',
    '--threads',
    String(THREADS),
    '--concurrency',
    String(CONCURRENCY),
    '--recheck',
    '3600',
    '--code-timeout',
    '7200',
    '--send-code-rate',
    '100000:100000,100000:100000',
  ],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
)
children.push(workerProc)
let workerLog = ''
workerProc.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()))
while (!workerLog.includes('worker ready')) {
  if (workerProc.exitCode !== null) throw new Error(`worker exited: ${workerLog}`)
  await new Promise((r) => setTimeout(r, 100))
}
await new Promise((r) => setTimeout(r, 1000))
async function redisUsedBytes(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN)
}
const rssBefore = rssKb(workerProc.pid!)
const redisBefore = await redisUsedBytes()
const queue = new Queue(LOGIN_QUEUE, { connection: redis, prefix: `${prefix}bull` })
const pendStart = performance.now()
const pendingRun = await coordinator.enqueue(users(pendingPhones))
const pendDeadline = Date.now() + 15 * 60_000
for (;;) {
  const c = await queue.getJobCounts('delayed', 'active', 'waiting', 'prioritized')
  if (c['delayed'] === PENDING && c['active'] === 0 && c['waiting'] === 0) break
  // A login that ended (failed) instead of waiting would keep the count below PENDING forever.
  const ended = await redis.hlen(`${prefix}results:${pendingRun.runId}`)
  if (ended > 0 || Date.now() > pendDeadline)
    throw new Error(
      `pending logins: ${ended} ended instead of waiting, ${JSON.stringify(c)} after ${fmt((performance.now() - pendStart) / 1000)} s`,
    )
  await new Promise((r) => setTimeout(r, 500))
}
const pendSeconds = (performance.now() - pendStart) / 1000
await new Promise((r) => setTimeout(r, 2000))
const rssAfter = rssKb(workerProc.pid!)
const perPending = (rssAfter - rssBefore) / PENDING
const redisPerPending = ((await redisUsedBytes()) - redisBefore) / 1024 / PENDING
console.log(
  `pending logins: ${PENDING} waiting for codes in one worker process (2 threads, up to 512 connected clients cached per thread): RSS ${fmt(rssBefore / 1024)} MB → ${fmt(rssAfter / 1024)} MB, ${fmt(perPending, 1)} KB each; Redis +${fmt(redisPerPending, 1)} KB each (${fmt(PENDING / pendSeconds)} sendCode/s to get there)`,
)
workerProc.kill('SIGKILL')
await queue.close()

// ---- the same farm on a 3-master Redis Cluster and on one Redis (bench/support/cluster-vs-single.ts) -------------
// Fresh numbers per run: blocks 2000, 6000, 7000 and 3000 on DCs 1-3 are used by no phase above.
const CLUSTER_N = Number(process.env['FARM_BENCH_CLUSTER_N'] ?? Math.min(N, 3000))
const clusterVsSingle = await measureClusterVsSingle({
  single: { url: REDIS_URL },
  accounts: CLUSTER_N,
  phonesOf: (run, count) => phones([2000, 6000, 7000, 3000][run]!, count),
  codeOf,
  worker: WORKER_OPTIONS,
})
console.log(
  `Redis Cluster (3 masters) vs one Redis, ${CLUSTER_N} accounts per run, no 2FA: ${clusterVsSingle.runs.map((r) => `${r.target} ${fmt(r.perSec, 1)}/s`).join(', ')} → ${fmt(clusterVsSingle.clusterPerSec, 1)} vs ${fmt(clusterVsSingle.singlePerSec, 1)} accounts/s, ${clusterVsSingle.ratio.toFixed(2)}×`,
)

// ---- the end ----------------------------------------------------------------------------------------------------
await coordinator.close()
await provider.close()
await deleteKeysUnder(redis, prefix)
redis.disconnect()
dcProc.kill('SIGTERM')
rmSync(dir, { recursive: true, force: true })
console.log(
  JSON.stringify({
    bench: 'farm',
    ratios: {
      vs_gramjs: Number(ratioA.toFixed(2)),
      vs_gramjs_2fa: Number(ratioB.toFixed(2)),
      vs_mtcute: ratioMtcuteA,
      vs_mtcute_2fa: ratioMtcuteB,
    },
    pending_rss_kb_each: Number(perPending.toFixed(1)),
    pending_redis_kb_each: Number(redisPerPending.toFixed(1)),
    code_to_session_p99_ms: Number(p99.toFixed(1)),
    code_to_session_p99_ms_burst: Number(percentile(saturated, 99).toFixed(1)),
    cpu_efficiency: Number(machineUse.cpuEfficiency.toFixed(2)),
    redis_cmds_per_login: Number(machineUse.redisCmdsPerLogin.toFixed(1)),
    cluster_vs_single: Number(clusterVsSingle.ratio.toFixed(2)),
  }),
)
