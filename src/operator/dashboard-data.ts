// What the dashboard shows, read from Redis at each poll: the latest runs and their progress by state, the
// logins waiting for a code, a password or a QR scan (and for how long), FLOOD_WAITs per DC (the current one and
// the seconds summed), sendCode pacing (counts and rates a minute, global and per DC), the workers alive by their
// heartbeats and their threads, recent failures with their reasons, the except_ids registry's size. Phones are
// masked unless the viewer is an admin.
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import { maskPhone } from '../foundation/logger.ts'
import { farmWorkers } from '../farm/worker-presence.ts'
import { readFloodWaits, type DcFloodWait } from '../queue/flood-waits.ts'
import { readSendCodeRates, type SendCodeRates } from '../queue/send-code-rates.ts'
import { readFarmStats } from '../queue/farm-stats.ts'
import { stateName } from '../queue/farm-stats.ts'
import type { LoginJobData, LoginResult } from '../queue/login-job.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'

export interface DashboardRun {
  readonly runId: string
  readonly label: string | null
  readonly total: number
  readonly finished: number
  readonly byState: Readonly<Record<string, number>>
}

export interface DashboardData {
  readonly at: string
  readonly runs: readonly DashboardRun[]
  readonly waiting: readonly { account: string; kind: string; step: string; waitingS: number }[]
  /** DC id → FLOOD_WAIT seconds summed (kept for scripts; floodWaits has the same and the current wait). */
  readonly floodWaitSeconds: Readonly<Record<string, number>>
  /** DC id → the current FLOOD_WAIT there (until when, seconds left) and the seconds summed. */
  readonly floodWaits: Readonly<Record<string, DcFloodWait>>
  /** auth.sendCode slots since the farm began: granted, paced:<global|dc|penalty>. */
  readonly sendCode: Readonly<Record<string, number>>
  /** The same as rates a minute over the last minutes, global and per DC. */
  readonly sendCodeRates: SendCodeRates
  /** Workers alive (their heartbeats). */
  readonly workers: number
  /** Their piscina threads, summed. */
  readonly threads: number
  readonly workerList: readonly {
    id: string
    host: string
    pid: number
    threads: number
    activeJobs: number
    concurrency: number
    running: boolean
    version: string
    upS: number
    beatAgoS: number
  }[]
  /** Connections BullMQ lists on the login queue (null: Redis hides its client list). */
  readonly connectedToQueue: number | null
  readonly recentFailures: readonly {
    account: string
    kind: string
    state: string
    error: string | null
    runId: string
    finishedAt: string
  }[]
  readonly exceptIds: number
  readonly phonesMasked: boolean
}

const RUNS_SHOWN = 10
const WAITING_SHOWN = 200
const FAILURES_SHOWN = 20
const WAIT_STEPS: ReadonlySet<string> = new Set(['wait_code', 'wait_password', 'wait_qr'])

export async function dashboardData(
  redis: RedisClient,
  prefix: string,
  queue: Queue<LoginJobData>,
  admin: boolean,
): Promise<DashboardData> {
  const keys = new FarmRedisKeys(prefix)
  const shown = (kind: string, account: string): string => (kind === 'user' && !admin ? maskPhone(account) : account)
  const runIds = await redis.zrevrange(keys.runs, 0, RUNS_SHOWN - 1)
  const failures: DashboardData['recentFailures'][number][] = []
  const runs = await Promise.all(
    runIds.map(async (runId): Promise<DashboardRun> => {
      const [info, results] = await Promise.all([redis.hgetall(keys.run(runId)), redis.hvals(keys.results(runId))])
      const byState: Record<string, number> = {}
      for (const json of results) {
        let r: LoginResult
        try {
          r = JSON.parse(json) as LoginResult
        } catch {
          continue
        }
        const state = stateName(r.state)
        byState[state] = (byState[state] ?? 0) + 1
        if (state !== 'authorized' && state !== 'duplicate') {
          failures.push({
            account: shown(r.kind, r.account),
            kind: r.kind,
            state: r.state,
            error: r.error ?? null,
            runId,
            finishedAt: new Date(r.finishedAt).toISOString(),
          })
        }
      }
      return { runId, label: info.label ?? null, total: Number(info.total ?? 0), finished: results.length, byState }
    }),
  )
  const now = Date.now()
  const jobs = await queue.getJobs(['delayed', 'active', 'waiting', 'prioritized'], 0, WAITING_SHOWN - 1)
  const waiting = jobs
    .filter((j) => j?.data && WAIT_STEPS.has(j.data.step))
    .map((j) => ({
      account: shown(j.data.kind, j.data.account),
      kind: j.data.kind,
      step: j.data.step,
      waitingS: Math.max(0, Math.round((now - (j.data.codeWaitSince ?? j.processedOn ?? j.timestamp)) / 1000)),
    }))
  const [stats, presence, exceptIds, floodWaits, sendCodeRates] = await Promise.all([
    readFarmStats(redis, keys.stats),
    farmWorkers(redis, prefix, queue),
    redis.scard(keys.exceptIds.authorizedIds),
    readFloodWaits(redis, keys.stats),
    readSendCodeRates(redis, keys.stats, now),
  ])
  failures.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
  return {
    at: new Date(now).toISOString(),
    runs,
    waiting,
    floodWaitSeconds: stats.floodWait,
    floodWaits,
    sendCode: stats.sendCode,
    sendCodeRates,
    workers: presence.alive.length,
    threads: presence.alive.reduce((n, w) => n + w.threads, 0),
    workerList: presence.alive.map((w) => ({
      id: w.id,
      host: w.host,
      pid: w.pid,
      threads: w.threads,
      activeJobs: w.activeJobs,
      concurrency: w.concurrency,
      running: w.running,
      version: w.version,
      upS: Math.max(0, Math.round((now - w.startedAt) / 1000)),
      beatAgoS: Math.max(0, Math.round((now - w.beatAt) / 1000)),
    })),
    connectedToQueue: presence.connected,
    recentFailures: failures.slice(0, FAILURES_SHOWN),
    exceptIds,
    phonesMasked: !admin,
  }
}
