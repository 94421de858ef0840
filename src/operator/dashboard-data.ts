// What the dashboard shows, read from Redis at each poll: the latest runs and their progress by state, the
// logins waiting for a code, a password or a QR scan (and for how long), FLOOD_WAIT seconds per DC, sendCode
// pacing, workers connected, recent failures with their reasons, the except_ids registry's size. Phones are
// masked unless the viewer is an admin.
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import { maskPhone } from '../foundation/logger.ts'
import { connectedWorkers } from '../farm/worker-presence.ts'
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
  readonly floodWaitSeconds: Readonly<Record<string, number>>
  readonly sendCode: Readonly<Record<string, number>>
  readonly workers: number | null
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
  const jobs = await queue.getJobs(['delayed', 'active', 'waiting'], 0, WAITING_SHOWN - 1)
  const waiting = jobs
    .filter((j) => j?.data && WAIT_STEPS.has(j.data.step))
    .map((j) => ({
      account: shown(j.data.kind, j.data.account),
      kind: j.data.kind,
      step: j.data.step,
      waitingS: Math.max(0, Math.round((now - (j.data.codeWaitSince ?? j.processedOn ?? j.timestamp)) / 1000)),
    }))
  const [stats, presence, exceptIds] = await Promise.all([
    readFarmStats(redis, keys.stats),
    connectedWorkers(queue).catch(() => ({ workers: null })),
    redis.scard(keys.exceptIds.authorizedIds),
  ])
  failures.sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
  return {
    at: new Date(now).toISOString(),
    runs,
    waiting,
    floodWaitSeconds: stats.floodWait,
    sendCode: stats.sendCode,
    workers: presence.workers === null ? null : presence.workers.length,
    recentFailures: failures.slice(0, FAILURES_SHOWN),
    exceptIds,
    phonesMasked: !admin,
  }
}
