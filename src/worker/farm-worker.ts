// `gramfarm worker`: a BullMQ worker whose login steps run on a piscina pool of threads, each thread running
// many clients at once. A job that must wait (an SMS code, a 2FA password, a QR scan, a FLOOD_WAIT) is moved
// to the delayed set with its step recorded ("step job" pattern): it holds no lock while it waits and any
// worker resumes it. A delivered code promotes the waiting job at once, so codes are used within
// milliseconds, not at the next poll.
import { Piscina } from 'piscina'
import { Worker, Queue, DelayedError, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { LOGIN_QUEUE, loginJobId, type LoginJobData, type LoginResult } from '../queue/login-job.ts'
import type { StepOutcome } from './login-step-runner.ts'
import type { LoginTask } from './login-thread.ts'
import type { FarmWorkerConfig } from './worker-config.ts'

export interface FarmWorkerOptions extends FarmWorkerConfig {
  /** piscina threads (default 2). */
  threads?: number
  /** Jobs one worker process runs at once (each a short async step; default 256). */
  concurrency?: number
  logger?: Logger
}

export interface FarmWorker {
  readonly worker: Worker<LoginJobData, LoginResult>
  readonly pool: Piscina
  /** Resolves when every started step has finished and the connections are closed. */
  close(): Promise<void>
}

/** Where results go: one hash per coordinator run, account → JSON. */
export function resultsKey(prefix: string, runId: string): string {
  return `${prefix}results:${runId}`
}

export async function startFarmWorker(opts: FarmWorkerOptions): Promise<FarmWorker> {
  const prefix = opts.prefix
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null })
  const pool = new Piscina({
    filename: new URL('./login-thread.ts', import.meta.url).href,
    workerData: { ...opts, logger: undefined } satisfies FarmWorkerConfig & { logger: undefined },
    minThreads: opts.threads ?? 2,
    maxThreads: opts.threads ?? 2,
    // Threads keep client sockets and timers between tasks: they must not park, nor end when idle.
    atomics: 'disabled',
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: Math.ceil((opts.concurrency ?? 256) / (opts.threads ?? 2)),
  })
  const queue = new Queue<LoginJobData, LoginResult>(LOGIN_QUEUE, { connection, prefix: `${prefix}bull` })

  const processor = async (job: Job<LoginJobData, LoginResult>, token?: string): Promise<LoginResult> => {
    const task: LoginTask = { jobId: job.id!, data: job.data, startedAt: job.timestamp }
    const outcome = (await pool.run(task)) as StepOutcome
    if (outcome.kind === 'final') {
      await connection.hset(resultsKey(prefix, job.data.runId), job.data.account, JSON.stringify(outcome.result))
      opts.logger?.info({ jobId: job.id, account: job.data.account, state: outcome.result.state }, 'login finished')
      return outcome.result
    }
    await job.updateData({ ...job.data, ...outcome.data })
    if (outcome.delayMs <= 0) {
      // Run again right away (a new code to wait for): back to the delayed set with no delay.
      await job.moveToDelayed(Date.now(), token)
    } else {
      await job.moveToDelayed(Date.now() + outcome.delayMs, token)
    }
    throw new DelayedError()
  }

  const worker = new Worker<LoginJobData, LoginResult>(LOGIN_QUEUE, processor, {
    connection, prefix: `${prefix}bull`, concurrency: opts.concurrency ?? 256, lockDuration: 60_000, maxStalledCount: 3,
  })
  worker.on('failed', (job, err) => opts.logger?.warn({ jobId: job?.id, err: { name: err.name, message: err.message } }, 'login step failed'))
  worker.on('error', (err) => opts.logger?.error({ err: { name: err.name, message: err.message } }, 'worker error'))

  // A delivered code or password promotes its waiting job (any worker may do it; promoting twice is harmless).
  const subscriber = new Redis(opts.redisUrl, { maxRetriesPerRequest: null })
  await subscriber.subscribe(`${prefix}code:delivered`, `${prefix}password:delivered`)
  subscriber.on('message', (_channel: string, message: string) => {
    let phone: string | undefined
    try {
      phone = (JSON.parse(message) as { phone?: string }).phone
    } catch {
      return
    }
    if (!phone) return
    void queue.getJob(loginJobId('user', phone)).then(async (job) => {
      if (job && (await job.isDelayed())) await job.promote()
    }).catch(() => undefined)
  })

  return {
    worker,
    pool,
    close: async () => {
      await worker.close()
      await subscriber.quit().catch(() => undefined)
      await queue.close()
      await pool.destroy()
      await connection.quit().catch(() => undefined)
    },
  }
}
