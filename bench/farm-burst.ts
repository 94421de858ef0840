// The farm under a burst, for its use of the machine and the urgency of codes (`npm run bench -- farm-burst`):
// the test DC in its own process, a Redis of its own (so INFO commandstats counts only this run), a worker in
// this process (2 threads), and a provider that answers every code request at once.
//   1. burst: FARM_BURST_N (1000) logins without 2FA enqueued at once; codes → session p50/p99 during it,
//      accounts/s, cpu_efficiency (crypto floor × logins ÷ wall × cores), the share of the CPU the run's own
//      processes used that went to that floor, and Redis commands per login;
//   2. codes under new logins: FARM_BURST_WAITING (200) logins wait for their codes; a burst of FARM_BURST_N new
//      logins starts and the waiting codes are delivered one every 10 ms meanwhile: their code → session p50/p99,
//      and how many new logins reached their code request while the codes flowed (none would mean starvation).
// Knobs: FARM_BURST_STARTS (the worker's startConcurrency), FARM_BURST_PROF=<dir> (--cpu-prof of the test DC;
// run the bench itself with `node --cpu-prof` for the worker's threads).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { Coordinator, type AccountResult } from '../src/farm/coordinator.ts'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { readTestDcEndpoint } from '../src/testdc/testdc-endpoint.ts'
import { startFarmWorker } from '../src/worker/farm-worker.ts'
import { startRedisServer } from '../test/support/redis-servers.ts'
import { fmt } from './support/measure.ts'
import { BenchCodeProvider } from './support/bench-code-provider.ts'
import { commandDelta, cpuEfficiency, cryptoFloorMsPerLogin, redisCommandStats } from './support/farm-figures.ts'

const N = Number(process.env['FARM_BURST_N'] ?? 1000)
const WAITING = Number(process.env['FARM_BURST_WAITING'] ?? 200)
const STARTS = process.env['FARM_BURST_STARTS'] ? Number(process.env['FARM_BURST_STARTS']) : undefined
const PROF = process.env['FARM_BURST_PROF']
const API = { apiId: 2040, apiHash: 'b18441a1ff607e10a989891a5462e627' }
const FAST = { globalPerSec: 100_000, globalBurst: 100_000, perDcPerSec: 100_000, perDcBurst: 100_000 }
const CLI = new URL('../src/cli/main.ts', import.meta.url).pathname
const ROOT = new URL('..', import.meta.url).pathname
const CLK_TCK = 100 // /proc/<pid>/stat's clock ticks per second on Linux

const phone = (dc: number, n: number): string => `99966${dc}${String(n).padStart(4, '0')}`
const phones = (base: number, count: number): string[] =>
  Array.from({ length: count }, (_, i) => phone(1 + (i % 3), base + Math.floor(i / 3)))
const codeOf = (p: string): string => p[5]!.repeat(5)
const users = (list: readonly string[]): AccountSpec[] =>
  list.map((p, i) => ({ kind: 'user', phone: p, source: { file: 'bench', line: i + 1 } }))
const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}
/** CPU seconds (user + system) a process has used so far. */
const cpuSecondsOf = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}
const ownCpuSeconds = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1e6
}

const dir = mkdtempSync(join(tmpdir(), 'gramfarm-burst-'))
const children: ChildProcess[] = []
const killChildren = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}
process.on('exit', () => {
  killChildren()
  rmSync(dir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

// ---- a Redis of this run's own: commandstats then count nobody else's commands -------------------------------
// (stopAfterTest false: this is no test; the exit handler kills it and removes its directory)
const redisServer = await startRedisServer({ args: ['--save', '', '--appendonly', 'no'], stopAfterTest: false })
const redisProc = redisServer.process
children.push(redisProc)
process.on('exit', () => rmSync(redisServer.dir, { recursive: true, force: true }))
const REDIS_URL = redisServer.url
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null })

// ---- the test DC, its own process -------------------------------------------------------------------------------
const endpointFile = join(dir, 'endpoint.json')
const dcProc = spawn(
  process.execPath,
  [
    ...(PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : []),
    '--import',
    'tsx',
    CLI,
    '--log-level',
    'warn',
    'testdc',
    '--quiet',
    '--endpoint-file',
    endpointFile,
  ],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
)
children.push(dcProc)
while (!existsSync(endpointFile)) {
  if (dcProc.exitCode !== null) throw new Error('the test DC process exited')
  await new Promise((r) => setTimeout(r, 100))
}
const endpoint = readTestDcEndpoint(endpointFile)

// ---- the provider ------------------------------------------------------------------------------------------------
const prefix = `{gramfarm-burst}:` // hash-tagged, as the farm wraps every prefix
const provider = await BenchCodeProvider.start({ redis, prefix, codeOf })
const { publishedAt, requestedAt, held } = provider

const worker = await startFarmWorker({
  redis: { url: REDIS_URL },
  prefix,
  ...API,
  testDc: { dcs: endpoint.dcs, publicKeyPem: endpoint.publicKeyPem },
  threads: 2,
  concurrency: 256,
  ...(STARTS !== undefined ? { startConcurrency: STARTS } : {}),
  sendCodeRate: FAST,
  codeTimeoutMs: 600_000,
  recheckMs: 15_000,
})
const coordinator = new Coordinator({ redis, prefix })
const authorizedOf = (results: readonly AccountResult[]): AccountResult[] =>
  results.filter((r) => r.state === 'authorized')

// A few logins first: modules compiled, DH objects built, before anything is timed.
{
  const warm = await coordinator.enqueue(users(phones(9000, 30)))
  await coordinator.follow(warm, { timeoutMs: 5 * 60_000, pollMs: 200 })
}

// ---- 1. the burst --------------------------------------------------------------------------------------------------
const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
const statsBefore = await redisCommandStats(redis)
const cpu0 = { own: ownCpuSeconds(), dc: cpuSecondsOf(dcProc.pid!), redis: cpuSecondsOf(redisProc.pid!) }
const start = Date.now()
const burst = await coordinator.follow(await coordinator.enqueue(users(phones(1000, N))), {
  timeoutMs: 10 * 60_000,
  pollMs: 200,
})
const done = authorizedOf(burst.results)
const wall = (Math.max(...done.map((r) => r.finishedAt!)) - start) / 1000
const cpu = {
  own: ownCpuSeconds() - cpu0.own,
  dc: cpuSecondsOf(dcProc.pid!) - cpu0.dc,
  redis: cpuSecondsOf(redisProc.pid!) - cpu0.redis,
}
const delta = commandDelta(statsBefore, await redisCommandStats(redis))
const burstLatency = done.map((r) => r.finishedAt! - publishedAt.get(r.account)!)
const floor = cryptoFloorMsPerLogin()
const efficiency = cpuEfficiency(floor.total, done.length, wall)
const cpuTotal = cpu.own + cpu.dc + cpu.redis
const ownShare = (floor.total * done.length) / 1000 / cpuTotal
console.log(`burst of ${N} logins (load ${load1}; startConcurrency ${STARTS ?? 'default'}):`)
console.log(
  `  ${done.length} authorized in ${fmt(wall, 1)} s (${fmt(done.length / wall, 1)}/s); code → session p50 ${fmt(percentile(burstLatency, 50))} ms, p99 ${fmt(percentile(burstLatency, 99))} ms, max ${fmt(Math.max(...burstLatency))} ms`,
)
console.log(
  `  CPU per login: worker+coordinator ${fmt((cpu.own * 1000) / done.length, 1)} ms, DC ${fmt((cpu.dc * 1000) / done.length, 1)} ms, Redis ${fmt((cpu.redis * 1000) / done.length, 1)} ms; crypto floor ${fmt(floor.total, 2)} ms (client ${fmt(floor.client, 2)}, DC ${fmt(floor.dc, 2)})`,
)
console.log(
  `  cpu_efficiency ${fmt(efficiency, 2)} (floor × logins ÷ wall × cores); floor ÷ CPU the run's processes used ${fmt(ownShare, 2)}`,
)
console.log(
  `  Redis: ${fmt(delta.total / done.length, 1)} commands per login: ${delta.byCommand.map(([c, n]) => `${c} ${fmt(n / done.length, 1)}`).join(', ')}`,
)

// ---- 2. codes of waiting logins while a burst of new ones starts ----------------------------------------------------
provider.holding = true
const waitingPhones = phones(4000, WAITING)
const waitingRun = await coordinator.enqueue(users(waitingPhones))
while (held.length < WAITING) await new Promise((r) => setTimeout(r, 50))
await new Promise((r) => setTimeout(r, 500))
const waitingDone = coordinator.follow(waitingRun, { timeoutMs: 10 * 60_000, pollMs: 200 })
const newPhones = phones(6000, N)
const newSet = new Set(newPhones)
const newRun = await coordinator.enqueue(users(newPhones))
await new Promise((r) => setTimeout(r, 300)) // the new logins' first steps are under way
const flowStart = Date.now()
const toDeliver = held.splice(0)
for (const req of toDeliver) {
  await provider.deliver(req)
  await new Promise((r) => setTimeout(r, 10))
}
const flowEnd = Date.now()
const newRequestedDuringFlow = [...requestedAt].filter(
  ([p, t]) => newSet.has(p) && t >= flowStart && t <= flowEnd,
).length
const waitingOut = await waitingDone
provider.holding = false
for (const req of held.splice(0)) void provider.deliver(req)
const newOut = await coordinator.follow(newRun, { timeoutMs: 10 * 60_000, pollMs: 200 })
const waitingLatency = authorizedOf(waitingOut.results).map((r) => r.finishedAt! - publishedAt.get(r.account)!)
console.log(
  `codes of ${WAITING} waiting logins, one every 10 ms while ${N} new logins start: code → session p50 ${fmt(percentile(waitingLatency, 50))} ms, p99 ${fmt(percentile(waitingLatency, 99))} ms; ${newRequestedDuringFlow} new logins reached their code request during the ${fmt((flowEnd - flowStart) / 1000, 1)} s of codes; ${authorizedOf(newOut.results).length}/${N} new logins authorized`,
)

await worker.close()
await coordinator.close()
await provider.close()
redis.disconnect()
console.log(
  JSON.stringify({
    bench: 'farm-burst',
    logins_per_s: Number((done.length / wall).toFixed(1)),
    code_to_session_p99_ms_burst: Number(percentile(burstLatency, 99).toFixed(1)),
    code_to_session_p99_ms_under_starts: Number(percentile(waitingLatency, 99).toFixed(1)),
    cpu_efficiency: Number(efficiency.toFixed(2)),
    floor_share_of_own_cpu: Number(ownShare.toFixed(2)),
    redis_cmds_per_login: Number((delta.total / done.length).toFixed(1)),
    worker_cpu_ms_per_login: Number(((cpu.own * 1000) / done.length).toFixed(1)),
    dc_cpu_ms_per_login: Number(((cpu.dc * 1000) / done.length).toFixed(1)),
    redis_cpu_ms_per_login: Number(((cpu.redis * 1000) / done.length).toFixed(1)),
    new_logins_progressing_during_codes: newRequestedDuringFlow,
  }),
)
if (PROF) {
  // The DC writes its --cpu-prof only when it exits by itself: a SIGTERM, then a moment for the file.
  dcProc.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 3000))
}
killChildren()
