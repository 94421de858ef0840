// The session jobs' BullMQ worker, beside the login worker in every `gramfarm worker` process and on the same
// piscina threads. Paced like logins: BullMQ's rate limiter (kept in Redis, so it holds across every worker of the
// farm) lets at most `ratePerSec` session jobs start per second, so a check of ten thousand sessions does not
// open ten thousand connections to Telegram at once. A job that must wait (the 24-hour rule, a FLOOD_WAIT it sits
// out) goes to the delayed set holding no lock, as login steps do. Each result is written with the session's
// health (or hardening) record in one MULTI: what `status` shows is what the report says.
import { DelayedError, Worker, type Job } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Piscina } from 'piscina'
import type { Logger } from 'pino'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { SESSION_QUEUE, type SessionJobData, type SessionJobResult } from '../queue/session-job.ts'
import type { SessionTask, SessionThreadOutcome } from './session-jobs/session-thread.ts'

/** A run's results are kept this long (a week), as login results are. */
export const SESSION_RESULTS_TTL_SECONDS = 7 * 24 * 3600
/** Session jobs started per second across the farm, by default. */
export const DEFAULT_SESSION_JOB_RATE = 5

export interface SessionJobWorkerOptions {
  readonly connection: RedisClient
  readonly pool: Piscina
  readonly prefix: string
  readonly logger?: Logger
  readonly concurrency?: number
  /** Session jobs started per second across the farm (default 5). */
  readonly ratePerSec?: number
  readonly lockDurationMs?: number
  readonly stalledIntervalMs?: number
}

/**
 * BullMQ's Worker with a way down when its own close() hangs (after a Redis outage): see farm-worker.ts'
 * LoginQueueWorker, the same for this queue.
 */
export class SessionQueueWorker extends Worker<SessionJobData, SessionJobResult> {
  /** Stops what close() would stop after its wait: job fetching, the stalled checker and lock renewal. */
  async stopTimers(): Promise<void> {
    void this.pause(true).catch(() => undefined)
    await this.lockManager.close()
  }
}

/** A job's failure as the thread reported it: BullMQ retries it. */
class SessionJobStepError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly reason?: string,
    readonly causes: readonly string[] = [],
  ) {
    super(message)
  }
}

/** Writes a result, and the session's health or hardening record with it. */
export async function saveSessionResult(
  redis: RedisClient,
  prefix: string,
  runId: string,
  result: SessionJobResult,
): Promise<void> {
  const keys = new FarmRedisKeys(prefix)
  const results = keys.sessionResults(runId)
  const multi = redis
    .multi()
    .hset(results, result.account, JSON.stringify(result))
    .expire(results, SESSION_RESULTS_TTL_SECONDS)
  if (result.health) multi.hset(keys.sessionHealth, result.session, JSON.stringify(result.health))
  if (result.hardening) multi.hset(keys.sessionHardening, result.session, JSON.stringify(result.hardening))
  await multi.exec()
}

/** BullMQ's limiter for `ratePerSec` jobs a second (below one: one job every 1/rate seconds). */
export function limiterOf(ratePerSec: number): { max: number; duration: number } {
  if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new RangeError('ratePerSec must be positive')
  return ratePerSec >= 1
    ? { max: Math.round(ratePerSec), duration: 1000 }
    : { max: 1, duration: Math.round(1000 / ratePerSec) }
}

export function startSessionJobWorker(opts: SessionJobWorkerOptions): SessionQueueWorker {
  const { connection, pool, prefix } = opts
  const failedResult = (job: Job<SessionJobData>, reason: string, error: string): SessionJobResult => {
    const state = `failed(${reason})` as const
    const at = Date.now()
    const base = { state, runId: job.data.runId, error }
    return {
      account: job.data.account,
      kind: job.data.kind,
      session: job.data.session,
      op: job.data.op,
      state,
      startedAt: job.timestamp,
      finishedAt: at,
      ...(job.data.op === 'check' ? { health: { ...base, checkedAt: at } } : { hardening: { ...base, at } }),
    }
  }

  const processor = async (job: Job<SessionJobData, SessionJobResult>, token?: string): Promise<SessionJobResult> => {
    const task: SessionTask = { jobId: job.id!, data: job.data, startedAt: job.timestamp }
    let out: SessionThreadOutcome
    try {
      out = (await pool.run(task, { name: 'runSessionJob' })) as SessionThreadOutcome
      if (out.kind === 'error') throw new SessionJobStepError(out.name, out.message, out.reason, out.causes)
    } catch (err) {
      // Passing trouble: BullMQ retries; after the last attempt the run still gets a result, never a lost job.
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const reason = (err instanceof SessionJobStepError ? err.reason : undefined) ?? (err as Error).name ?? 'Error'
        const causes = err instanceof SessionJobStepError && err.causes.length > 0 ? err.causes : [String(err)]
        const result = failedResult(job, reason, causes.join(' <- ').slice(0, 500))
        await saveSessionResult(connection, prefix, job.data.runId, result).catch(() => undefined)
        opts.logger?.warn({ jobId: job.id, op: job.data.op, state: result.state }, 'session job failed')
      }
      throw err
    }
    if (out.kind === 'final') {
      await saveSessionResult(connection, prefix, job.data.runId, out.result)
      opts.logger?.info(
        { jobId: job.id, op: job.data.op, state: out.result.state, ms: out.result.finishedAt - out.result.startedAt },
        'session job finished',
      )
      return out.result
    }
    await job.updateData({ ...job.data, ...out.data })
    await job.moveToDelayed(Date.now() + Math.max(0, out.delayMs), token)
    opts.logger?.info({ jobId: job.id, op: job.data.op, delayMs: out.delayMs }, 'session job waits')
    throw new DelayedError()
  }

  const worker = new SessionQueueWorker(SESSION_QUEUE, processor, {
    connection,
    prefix: new FarmRedisKeys(prefix).bullPrefix,
    concurrency: opts.concurrency ?? 64,
    limiter: limiterOf(opts.ratePerSec ?? DEFAULT_SESSION_JOB_RATE),
    maxStalledCount: 3,
    lockDuration: opts.lockDurationMs ?? 60_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
  })
  worker.on('error', (err) =>
    opts.logger?.error({ err: { name: err.name, message: err.message } }, 'session worker error'),
  )
  return worker
}
