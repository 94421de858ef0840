// `gramfarm worker`: a BullMQ worker whose login steps run on a piscina pool of threads, each thread running
// many clients at once. A job that must wait (an SMS code, a 2FA password, a QR scan, a FLOOD_WAIT) is moved
// to the delayed set with its step recorded ("step job" pattern): it holds no lock while it waits and any
// worker resumes it. A delivered code promotes the waiting job at once, so codes are used within
// milliseconds, not at the next poll.
import { randomBytes } from 'node:crypto'
import { BroadcastChannel } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { Worker, Queue, DelayedError, WaitingError, type Job } from 'bullmq'
import { openRedis } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import { FarmRedisKeys, qrScannedChannel, resultsKey } from '../queue/redis-keys.ts'
import {
  LOGIN_QUEUE,
  codeAttemptId,
  ROUTINE_PRIORITY,
  URGENT_PRIORITY,
  type LoginJobData,
  type LoginResult,
} from '../queue/login-job.ts'
import { JobIds, loadJobIds } from '../queue/job-ids.ts'
import { keyringFromSpec, warnOnceIfClear } from '../foundation/master-key-source.ts'
import { SealedValueError } from '../foundation/sealed-value.ts'
import { jobLogger, setPhoneMaskKey } from '../foundation/logger.ts'
import { adoptPhoneMaskKey } from '../queue/phone-mask-key.ts'
import type { StepOutcome } from './login-step-runner.ts'
import type { LoginTask, LoginThreadRole, ThreadOutcome } from './login-thread.ts'
import type { FarmWorkerConfig } from './worker-config.ts'
import { recordCodeWait, recordLogin } from '../queue/farm-stats.ts'
import type { WorkerMetrics } from './worker-metrics.ts'
import { startSessionJobWorker } from './session-job-worker.ts'
import { StartGate, STARTS_PER_THREAD } from './start-gate.ts'
import { WorkerHeartbeatWriter } from './worker-heartbeat.ts'

export interface FarmWorkerOptions extends FarmWorkerConfig {
  /** piscina threads that start logins (key exchange, sendCode) and run session jobs (default 2). */
  threads?: number
  /**
   * piscina threads that only finish logins — a code, a password or a QR scan arrived, or a wait is rechecked
   * (default 1). A start step's key exchange holds its thread's event loop for milliseconds at a time; a code on
   * such a thread would wait behind every one of them, so finishing steps never share a thread with starts.
   */
  finishThreads?: number
  /** Jobs one worker process runs at once (each a short async step; default 256). */
  concurrency?: number
  /**
   * First steps of logins (key exchange, sendCode) one worker process runs at once (default 8 per thread): the
   * rest of its concurrency stays free for the steps that finish logins.
   */
  startConcurrency?: number
  /** BullMQ lock of a running step (default 60 s): a crashed worker's step runs elsewhere after about this long. */
  lockDurationMs?: number
  /** How often stalled steps are looked for (default 30 s). */
  stalledIntervalMs?: number
  /** How long close() waits for the steps in progress before forcing the worker down (default 35 s). */
  closeGraceMs?: number
  logger?: Logger
  /** This process's own metrics (`gramfarm worker --metrics-port`). */
  metrics?: WorkerMetrics
  /** Session jobs (`sessions check|harden`) started per second across the farm (default 5). */
  sessionJobRate?: number
  /** How often the worker's heartbeat in Redis is refreshed (default 5 s; it lives three times as long). */
  heartbeatEveryMs?: number
}

export interface FarmWorker {
  readonly worker: Worker<LoginJobData, LoginResult>
  readonly pool: Piscina
  /** The threads of the steps that finish logins (FarmWorkerOptions.finishThreads). */
  readonly finishPool: Piscina
  /** This process's id in its heartbeat (`<host>:<pid>:<random>`). */
  readonly id: string
  /** Resolves when every started step has finished and the connections are closed. */
  close(): Promise<void>
}

/** A run's results are kept this long after its last one (a week). */
export const RESULTS_TTL_SECONDS = 7 * 24 * 3600

/** Steps a job runs in a row without going through the delayed set, when what it waits for is already there. */
const MAX_STEPS_IN_PLACE = 3

/** How long close() waits for the steps in progress before it forces the worker down. */
const CLOSE_GRACE_MS = 35_000

/** Whether `p` settles (either way) within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ])
  clearTimeout(timer)
  return settled
}

/**
 * BullMQ's Worker with a way down when its own close() hangs. After a Redis outage, close() can wait for ever
 * on its blocking connection (parked in `reconnecting`, it never emits the `end` close waits for); a second
 * close(true) only returns that same promise, so the lock-renewal timer, which close() stops after that wait,
 * would keep the process alive for ever.
 */
class LoginQueueWorker extends Worker<LoginJobData, LoginResult> {
  /** Stops what close() would stop after its wait: job fetching, the stalled checker and lock renewal. */
  async stopTimers(): Promise<void> {
    // Not awaited: pause() waits for nothing with doNotWaitActive, but its trace may; its flag is set at once.
    void this.pause(true).catch(() => undefined)
    await this.lockManager.close()
  }
}

/** A step's failure as the thread reported it (its class name kept, phones masked): BullMQ retries the step. */
class LoginStepError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly reason?: string,
    readonly causes: readonly string[] = [],
    threadStack?: string,
  ) {
    super(message)
    if (threadStack !== undefined) this.stack = threadStack
  }
}

/** The report's `error` of a step failure: its cause chain on one line (bounded: it goes into Redis and reports). */
function errorText(err: unknown): string {
  const causes =
    err instanceof LoginStepError && err.causes.length > 0
      ? err.causes
      : [`${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`]
  const text = causes.join(' <- ')
  return text.length > 500 ? `${text.slice(0, 499)}…` : text
}

/** States that are not a failure of the login (anything else ends it without an authorization). */
const SUCCESS_STATES: ReadonlySet<string> = new Set(['authorized', 'duplicate'])

/** Sitting out a FLOOD_WAIT: a delivered code must not wake the job early (it would only be told to wait again). */
function floodWaiting(data: LoginJobData): boolean {
  return (data.floodUntil ?? 0) > Date.now()
}

/**
 * Resolves when `count` messages that `counts` accepts have come on the BroadcastChannel `name` (one per thread),
 * or after `timeoutMs`; `send` is posted once the channel listens.
 */
function threadReplies(
  name: string,
  count: number,
  timeoutMs: number,
  counts: (data: unknown) => boolean,
  send?: unknown,
): Promise<void> {
  const channel = new BroadcastChannel(name)
  return new Promise<void>((resolve) => {
    let seen = 0
    const done = (): void => {
      clearTimeout(timer)
      channel.close()
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    channel.onmessage = (m) => {
      if (counts((m as { data?: unknown }).data) && ++seen >= count) done()
    }
    if (send !== undefined) channel.postMessage(send)
  })
}

/** Asks every thread to close its step runner; resolves when `count` have said so, or after `timeoutMs`. */
function closeThreadRunners(name: string, count: number, timeoutMs: number): Promise<void> {
  return threadReplies(name, count, timeoutMs, (data) => (data as { closed?: unknown } | undefined)?.closed === true, {
    close: true,
  })
}

/** Threads load their modules and connect before the worker takes jobs; past this, it starts anyway. */
const THREAD_READY_TIMEOUT_MS = 60_000

/** Resolves when `count` threads have said they are ready on `name` (or after the timeout). */
function threadsReady(name: string, count: number): Promise<void> {
  return threadReplies(name, count, THREAD_READY_TIMEOUT_MS, () => true)
}

/** The threads' module beside this one: login-thread.ts under tsx (development), login-thread.js in dist/. */
const LOGIN_THREAD_MODULE = new URL(
  import.meta.url.endsWith('.ts') ? './login-thread.ts' : './login-thread.js',
  import.meta.url,
).href

export async function startFarmWorker(opts: FarmWorkerOptions): Promise<FarmWorker> {
  const prefix = opts.prefix
  // The farm's job ids (keyed with a master key): a worker whose key cannot open the farm's job-id secret has
  // another master key than the farm, and refuses to start (SealedValueError naming the key id) before taking a job.
  // requireEncryption without a master key: MasterKeyError here, before a thread or a job.
  const keyring = keyringFromSpec(opts.keyring)
  // Said once, at start (as an onboarding does): without a master key this worker stores secrets in clear.
  const startLogger = opts.logger
  if (startLogger) warnOnceIfClear(keyring, (m) => startLogger.warn(m))
  // An account that connects with gramfarm's own default identity is easy to tell from a real app: said once each.
  const identityWarned = new Set<string>()
  let jobIds = JobIds.plain
  const keyRedis = openRedis(opts.redis, { purpose: 'worker-keys', maxRetriesPerRequest: 1 })
  let maskKey: string
  try {
    if (keyring.encrypting) jobIds = await loadJobIds(keyRedis, prefix, keyring)
    // The farm's key of masked phones, for this process and its threads (their logs and errors).
    maskKey = await adoptPhoneMaskKey(keyRedis, prefix, keyring).catch((err: unknown) => {
      if (err instanceof SealedValueError) throw err
      // Redis not there yet (the worker waits for it): a key of this process, nobody can reverse its tags.
      opts.logger?.warn({ err: { name: (err as Error).name } }, "the farm's phone-mask key could not be read")
      const own = process.env.GRAMFARM_MASK_KEY || randomBytes(32).toString('hex')
      setPhoneMaskKey(own)
      return own
    })
  } finally {
    keyRedis.disconnect()
  }
  const threads = opts.threads ?? 2
  const finishThreads = Math.max(1, opts.finishThreads ?? 1)
  const readyChannel = `gramfarm-threads-${process.pid}-${randomBytes(6).toString('hex')}`
  const closeChannel = `${readyChannel}-close`
  const ready = threadsReady(readyChannel, threads + finishThreads)
  const connection = openRedis(opts.redis, { purpose: 'worker', maxRetriesPerRequest: null })
  const loginPool = (role: LoginThreadRole, count: number): Piscina =>
    new Piscina({
      filename: LOGIN_THREAD_MODULE,
      workerData: { ...threadConfig(opts), readyChannel, closeChannel, maskKey, role },
      minThreads: count,
      maxThreads: count,
      // Threads keep client sockets and timers between tasks: they must not park, nor end when idle.
      atomics: 'disabled',
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: Math.ceil((opts.concurrency ?? 256) / count),
    })
  const pool = loginPool('start', threads)
  const finishPool = loginPool('finish', finishThreads)
  await ready
  const queue = new Queue<LoginJobData, LoginResult>(LOGIN_QUEUE, {
    connection,
    prefix: new FarmRedisKeys(prefix).bullPrefix,
  })
  queue.on('error', (err) =>
    opts.logger?.warn({ err: { name: err.name, message: err.message } }, 'queue connection error'),
  )

  const names = new FarmRedisKeys(prefix).codeChannel
  const stats = new FarmRedisKeys(prefix).stats
  const saveResult = async (data: LoginJobData, result: LoginResult, endsCodeWait = false): Promise<void> => {
    const key = resultsKey(prefix, data.runId)
    const seconds = Math.max(0, result.finishedAt - result.startedAt) / 1000
    // The farm's counters go with the result (one MULTI), so /metrics counts what the reports hold; so does the
    // code wait the login ended, if it did.
    const multi = connection.multi().hset(key, data.account, JSON.stringify(result)).expire(key, RESULTS_TTL_SECONDS)
    recordLogin(multi, stats, result.kind, result.state, seconds)
    const waited = endsCodeWait ? codeWaitSeconds(data, null, result) : null
    if (waited !== null) recordCodeWait(multi, stats, waited)
    await multi.exec()
    opts.metrics?.login(result.kind, result.state, seconds)
    if (waited !== null) opts.metrics?.codeWaited(waited)
  }

  /** A login that waited for its code and got past that wait (not by running out of time): how long it waited. */
  const codeWaitSeconds = (data: LoginJobData, next: LoginJobData | null, final: LoginResult | null): number | null => {
    if (data.step !== 'wait_code' || data.codeWaitSince === undefined) return null
    if (next?.step === 'wait_code' || final?.state === 'code_timeout') return null
    return Math.max(0, Date.now() - data.codeWaitSince) / 1000
  }
  const codeWaitEnded = async (data: LoginJobData, next: LoginJobData): Promise<void> => {
    const seconds = codeWaitSeconds(data, next, null)
    if (seconds === null) return
    const multi = connection.multi()
    recordCodeWait(multi, stats, seconds)
    await multi.exec().catch(() => undefined)
    opts.metrics?.codeWaited(seconds)
  }

  /** A job that ends without a runner outcome: its result, and the runner's cleanup of what the login left. */
  const endOutsideRunner = async (
    job: Job<LoginJobData, LoginResult>,
    state: LoginResult['state'],
    error?: string,
  ): Promise<void> => {
    const task: LoginTask = { jobId: job.id!, data: job.data, startedAt: job.timestamp }
    await saveResult(job.data, {
      account: job.data.account,
      kind: job.data.kind,
      state,
      startedAt: job.timestamp,
      finishedAt: Date.now(),
      ...(error !== undefined ? { error } : {}),
    }).catch(() => undefined)
    await pool
      .run(task, { name: 'cleanupLogin' })
      .catch((err: unknown) =>
        opts.logger?.warn({ jobId: job.id, err: { name: (err as Error).name } }, 'cleanup of a failed login failed'),
      )
  }

  const starts = new StartGate(opts.startConcurrency ?? threads * STARTS_PER_THREAD)
  /**
   * A step on its threads: a login's first step on the start threads once the start gate lets it in; every later
   * step on the finishing threads, which no key exchange keeps busy.
   */
  const runStep = (task: LoginTask): Promise<ThreadOutcome> =>
    task.data.step === 'start'
      ? starts.run(() => pool.run(task) as Promise<ThreadOutcome>)
      : (finishPool.run(task) as Promise<ThreadOutcome>)

  // BullMQ takes jobs while it has free slots, the urgent ones first, then routine ones (new logins). Once the
  // process holds as many first steps as it should, a first step it takes goes back to the head of the queue
  // (another worker may start it) and the worker takes jobs one at a time: one more when a job it took runs, when
  // a first step lets go of the gate, or when something is delivered. Otherwise first steps waiting for the gate
  // would fill every slot, and a code that arrives would wait for one of them to end; and taking back a full
  // window of first steps at each release would only hand them back again.
  const configuredConcurrency = opts.concurrency ?? 256
  let inProgress = 0
  let throttled = false
  const takeOneMore = (): void => {
    if (!throttled) return
    const next = Math.min(configuredConcurrency, inProgress + 1)
    if (worker.concurrency !== next) worker.concurrency = next
  }
  starts.onRelease = takeOneMore
  // BullMQ counts in its window what it still finishes after a step (e.g. a move stuck across a Redis outage),
  // which inProgress does not: one more slot a second, so a window that such leftovers fill never stays shut.
  const widen = setInterval(() => {
    if (throttled && worker.concurrency < configuredConcurrency) worker.concurrency = worker.concurrency + 1
  }, 1_000)
  widen.unref()
  const processor = async (job: Job<LoginJobData, LoginResult>, token?: string): Promise<LoginResult> => {
    inProgress++
    try {
      if (job.data.step === 'start' && starts.full) {
        throttled = true
        worker.concurrency = Math.max(1, inProgress - 1)
        await job.moveToWait(token)
        throw new WaitingError()
      }
      takeOneMore()
      return await runJob(job, token)
    } finally {
      inProgress--
    }
  }

  const runJob = async (job: Job<LoginJobData, LoginResult>, token?: string): Promise<LoginResult> => {
    const log = opts.logger ? jobLogger(opts.logger, job) : undefined
    // A step whose awaited value is already there when it ends (a code delivered while its request went out, a
    // password delivered while the code was checked) goes on in the same job, on the finishing threads: no trip
    // through the delayed set (four BullMQ scripts and as many round trips). Bounded, so a job lets go of its slot.
    for (let inPlace = 0; ; inPlace++) {
      const data = job.data
      const outcome = await runOneStep(job, log)
      if (outcome.kind === 'final') {
        await saveResult(data, outcome.result, true)
        const { state, error } = outcome.result
        const ms = outcome.result.finishedAt - outcome.result.startedAt
        if (SUCCESS_STATES.has(state)) log?.info({ state, ms }, 'login finished')
        else log?.warn({ state, ms, ...(error !== undefined ? { error } : {}) }, 'login failed')
        return outcome.result
      }
      const next: LoginJobData = { ...data, ...outcome.data }
      await codeWaitEnded(data, next)
      // A new wait for a code starts its clock (a FLOOD_WAIT pause within it does not).
      if (next.step === 'wait_code' && data.step !== 'wait_code') next.codeWaitSince = Date.now()
      await job.updateData(next)
      if (inPlace < MAX_STEPS_IN_PLACE && (await deliveredWhileActive(next))) {
        log?.debug({ step: next.step }, 'login goes on: what it waits for is here')
        continue
      }
      // An urgent step (woken by a delivery) is over: the next wake-up is routine unless a delivery makes it urgent.
      if (job.priority === URGENT_PRIORITY) await job.changePriority({ priority: ROUTINE_PRIORITY })
      // delayMs 0: run again right away (a new code to wait for), through the delayed set.
      await job.moveToDelayed(Date.now() + Math.max(0, outcome.delayMs), token)
      log?.debug({ step: next.step, delayMs: outcome.delayMs }, 'login waits')
      // A code (or password) delivered while this step ran found the job active, so its promotion was a no-op:
      // look for it now that the job is delayed (a delivery after this look promotes the delayed job).
      if (await deliveredWhileActive(next)) await wakeUrgent(job)
      throw new DelayedError()
    }
  }

  /** One step of the job as it stands (job.data) on its threads; a failure that is not a login outcome throws. */
  const runOneStep = async (job: Job<LoginJobData, LoginResult>, log: Logger | undefined): Promise<StepOutcome> => {
    const task: LoginTask = { jobId: job.id!, data: job.data, startedAt: job.timestamp }
    try {
      const out = await runStep(task)
      opts.metrics?.step(out.kind === 'error' ? 'error' : out.kind === 'final' ? 'final' : 'wait')
      if (out.kind === 'error') throw new LoginStepError(out.name, out.message, out.reason, out.causes, out.stack)
      if (out.defaultIdentity && !identityWarned.has(job.data.accountKey)) {
        identityWarned.add(job.data.accountKey)
        log?.warn(
          'account connects with the library default identity (gramfarm 0.1.0): configure identity or its device fields',
        )
      }
      return out
    } catch (err) {
      // Not a login outcome (the runner maps those): a thread or Redis failure. BullMQ retries the step; after
      // the last attempt the coordinator still gets a result rather than a job that vanished.
      // A DC that could not be reached or went silent is named so (failed(dc_unreachable), failed(timeout)).
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const state =
          `failed(${(err instanceof LoginStepError ? err.reason : undefined) ?? (err as Error).name ?? 'Error'})` as const
        // The operator's line: the final state and why, with the whole cause chain and the thread's stack.
        log?.warn(
          {
            state,
            attempts: job.attemptsMade + 1,
            causes: err instanceof LoginStepError ? err.causes : undefined,
            stack: (err as Error).stack,
          },
          'login failed',
        )
        await endOutsideRunner(job, state, errorText(err))
      }
      throw err
    }
  }

  /**
   * Something arrived for a job: its next step runs now, before routine ones. The priority change moves a job
   * whose own delay ran out (queued behind new logins) to the head; a delayed one is promoted; a running one
   * finds it when it looks (deliveredWhileActive), and its next wake-up is urgent.
   */
  const wakeUrgent = async (job: Job<LoginJobData, LoginResult>): Promise<void> => {
    await job.changePriority({ priority: URGENT_PRIORITY }).catch(() => undefined)
    await job.promote().catch(() => undefined)
  }

  const deliveredWhileActive = async (data: LoginJobData): Promise<boolean> => {
    if (data.kind !== 'user' || floodWaiting(data)) return false
    if (data.step === 'wait_code') return (await connection.exists(names.code(data.account, codeAttemptId(data)))) === 1
    if (data.step === 'wait_password') return (await connection.exists(names.password(data.account))) === 1
    return false
  }

  const worker = new LoginQueueWorker(LOGIN_QUEUE, processor, {
    connection,
    prefix: new FarmRedisKeys(prefix).bullPrefix,
    concurrency: opts.concurrency ?? 256,
    maxStalledCount: 3,
    lockDuration: opts.lockDurationMs ?? 60_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
  })
  worker.on('failed', (job, err) => {
    opts.logger?.warn({ jobId: job?.id, err: { name: err.name, message: err.message } }, 'login step failed')
    // Failed without running (stalled more than maxStalledCount): the processor never saw it.
    if (job && err.name === 'UnrecoverableError') void endOutsideRunner(job, 'failed(stalled)', errorText(err))
  })
  worker.on('error', (err) => opts.logger?.error({ err: { name: err.name, message: err.message } }, 'worker error'))
  const sessionWorker = startSessionJobWorker({
    connection,
    pool,
    prefix,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.sessionJobRate !== undefined ? { ratePerSec: opts.sessionJobRate } : {}),
    ...(opts.lockDurationMs !== undefined ? { lockDurationMs: opts.lockDurationMs } : {}),
    ...(opts.stalledIntervalMs !== undefined ? { stalledIntervalMs: opts.stalledIntervalMs } : {}),
  })

  connection.on('error', (err: Error) =>
    opts.logger?.warn({ err: { name: err.name, message: err.message } }, 'redis connection error'),
  )

  // A delivered code or password, or a scanned QR, promotes its waiting job (any worker may do it; promoting
  // twice is harmless).
  const subscriber = openRedis(opts.redis, { purpose: 'worker-subscriber', maxRetriesPerRequest: null })
  subscriber.on('error', (err: Error) =>
    opts.logger?.warn({ err: { name: err.name, message: err.message } }, 'redis subscriber error'),
  )
  await subscriber.subscribe(names.deliveredChannel, names.passwordDeliveredChannel, qrScannedChannel(prefix))
  const promote = (jobId: string): void => {
    void queue
      .getJob(jobId)
      .then(async (job) => {
        if (job && !floodWaiting(job.data)) await wakeUrgent(job)
        takeOneMore()
      })
      .catch(() => undefined)
  }
  subscriber.on('message', (channel: string, message: string) => {
    let note: { phone?: unknown; jobId?: unknown }
    try {
      note = JSON.parse(message) as { phone?: unknown; jobId?: unknown }
    } catch {
      return
    }
    if (channel === qrScannedChannel(prefix)) {
      if (typeof note.jobId === 'string') promote(note.jobId)
    } else if (typeof note.phone === 'string') promote(jobIds.of('user', note.phone))
  })

  let closing: Promise<void> | undefined
  const heartbeat = new WorkerHeartbeatWriter(
    connection,
    new FarmRedisKeys(prefix),
    {
      // What the operator set (--threads), as the dashboard and /readyz have always counted it.
      threads,
      concurrency: opts.concurrency ?? 256,
      activeJobs: () => inProgress,
      running: () => closing === undefined && worker.isRunning(),
    },
    ...(opts.heartbeatEveryMs !== undefined ? [opts.heartbeatEveryMs] : []),
  )
  await heartbeat.start()

  return {
    worker,
    pool,
    finishPool,
    id: heartbeat.id,
    // Idempotent: a second close() waits for the first. Graceful (the steps in progress finish), but bounded:
    // after a lost Redis, BullMQ's close can wait forever on its blocking connection; then it is forced.
    close: () =>
      (closing ??= (async () => {
        clearInterval(widen)
        const graceMs = opts.closeGraceMs ?? CLOSE_GRACE_MS
        const graceful = await settlesWithin(Promise.all([worker.close(), sessionWorker.close()]), graceMs)
        if (!graceful) {
          opts.logger?.warn({ graceMs }, 'worker did not stop in time; forcing it')
          await worker.stopTimers()
          await sessionWorker.stopTimers()
        }
        // Gone from the dashboard and /readyz at once, not when the heartbeat expires.
        await heartbeat.stop(graceful ? 2_000 : 500)
        // Forced means Redis is not answering: a QUIT would only wait out its bound, and a disconnect's wait for
        // `end` may never see one (the sockets are gone either way).
        if (graceful) await settlesWithin(subscriber.quit(), 2_000)
        subscriber.disconnect()
        if (!graceful || !(await settlesWithin(queue.close(), 2_000))) {
          await settlesWithin(
            Promise.all([graceful || worker.disconnect(), graceful || sessionWorker.disconnect(), queue.disconnect()]),
            1_000,
          )
        }
        await closeThreadRunners(closeChannel, threads + finishThreads, 5_000)
        await Promise.all([pool.destroy(), finishPool.destroy()])
        if (graceful) await settlesWithin(connection.quit(), 2_000)
        connection.disconnect()
      })()),
  }
}

/** What the threads get (structured-clonable: no logger, no metrics). */
function threadConfig(opts: FarmWorkerOptions): FarmWorkerConfig {
  const {
    logger: _logger,
    metrics: _metrics,
    threads: _threads,
    finishThreads: _finishThreads,
    concurrency: _concurrency,
    startConcurrency: _starts,
    lockDurationMs: _lock,
    stalledIntervalMs: _stalled,
    closeGraceMs: _grace,
    sessionJobRate: _sessionJobRate,
    heartbeatEveryMs: _heartbeat,
    ...config
  } = opts
  return config
}
