// The coordinator: turns accounts into login jobs on the queue and follows them to their final states.
//
// Enqueueing: one job per account with an id derived from the account, so an account already queued (by this
// file twice, or by another run still in flight) is not queued again — this run follows that job instead, and
// reports `duplicate` if that other run authorizes it. Secrets go to the vault (keyed by job id) only for the
// jobs this run added, never for another run's: that job's secrets are its own, and its end deletes the entry.
// A job that needs secrets is added held (delayed) and promoted once they are written, so no worker runs it
// without them.
// Following: QueueEvents (a Redis stream: nothing is lost across reconnects) says when to look; the results the
// workers write into `<prefix>results:<run>` are the truth; a slow poll covers anything else. A job that is gone
// without a result (it stalled too often, someone removed it) ends as failed(<reason>).
import { ErrorCode, Job, Queue, QueueEvents } from 'bullmq'
import { duplicateRedis, type RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import {
  LOGIN_QUEUE,
  ROUTINE_PRIORITY,
  type FinalState,
  type LoginJobData,
  type LoginKind,
  type LoginResult,
} from '../queue/login-job.ts'
import { SecretVault } from '../queue/secret-vault.ts'
import { Keyring, type Sealer } from '../foundation/sealed-value.ts'
import { loadJobIds, type JobIds } from '../queue/job-ids.ts'
import { FarmRedisKeys, attachedKey, resultsKey, runKey, runsKey } from '../queue/redis-keys.ts'
import type { AccountSource, AccountSpec } from './accounts-file.ts'
import { newRunId, planJobs, type PlannedJob, type PlanOptions } from './account-jobs.ts'
import { FarmError } from './farm-error.ts'

/** Job options of every login job: removed when done (the result is in the run's hash), retried on crashes. */
export const LOGIN_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: true,
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  priority: ROUTINE_PRIORITY,
} as const

/** Runs are listed (for `gramfarm status`) this long. */
const RUN_TTL_SECONDS = 7 * 24 * 3600
const ADD_CHUNK = 1000
/** How often follow() looks for jobs that vanished without a result (a look per open job). */
const LOST_CHECK_MS = 2_000
/** …and no more often than this per open job: the look costs Redis an EXISTS per job (≤ 200 a second). */
const LOST_CHECK_MS_PER_JOB = 5
/**
 * A job that needs secrets waits this long in the delayed set unless promoted once they are written. Only a
 * coordinator that dies in between lets it run on its own (then without them, as it would have anyway).
 */
const SECRETS_HOLD_MS = 120_000

export interface RunAccount {
  readonly jobId: string
  readonly kind: LoginKind
  readonly account: string
  readonly accountKey: string
  readonly source: AccountSource | undefined
  /** The run whose job this account follows: this run, or one that queued the same account earlier. */
  readonly ownerRunId: string
}

export interface EnqueuedRun {
  readonly runId: string
  readonly accounts: readonly RunAccount[]
  /** Jobs this run added. */
  readonly added: number
  /** Accounts already queued by another run (followed, not added). */
  readonly attached: number
  /** Events-stream id before the first add: following starts there, so no event is missed. */
  readonly eventsFrom: string
  readonly enqueuedAt: number
}

/** Where an account of a run stands: its final state, or still pending (auth-errors.ts' AccountState is the state of an account on Telegram). */
export type RunAccountState = FinalState | 'pending'

export interface AccountResult {
  readonly account: string
  readonly kind: LoginKind
  readonly state: RunAccountState
  readonly jobId: string
  readonly userId?: string
  readonly dcId?: number
  /** The session's name in Redis storage (`<prefix>session:<name>`). */
  readonly session?: string
  readonly startedAt?: number
  readonly finishedAt?: number
  readonly source?: AccountSource
  /** E.g. which run's login this one shared. */
  readonly note?: string
  /** The run whose job this was, when another run's (this run followed it). */
  readonly runId?: string
  /** The error that ended the login and its causes, phones masked (from the worker's result). */
  readonly error?: string
}

export type ProgressPhase = 'queued' | 'running' | 'waiting'

export interface RunProgress {
  readonly total: number
  readonly done: number
  /** Final states so far, by state name (flood_wait(…) and failed(…) grouped by their prefix). */
  readonly byState: Readonly<Record<string, number>>
  readonly queued: number
  readonly running: number
  /** Waiting for a code, a password, a QR scan or a FLOOD_WAIT. */
  readonly waiting: number
  readonly elapsedMs: number
}

export interface RunOutcome {
  readonly runId: string
  readonly results: readonly AccountResult[]
  /** The run did not finish within the timeout (or was interrupted): `pending` rows are still queued. */
  readonly timedOut: boolean
  readonly interrupted: boolean
  readonly elapsedMs: number
}

export interface FollowOptions {
  onProgress?(progress: RunProgress): void
  /** Give up following after this long (the jobs stay queued). */
  timeoutMs?: number
  signal?: AbortSignal
  /** Safety-net poll of the results (default 1000 ms). */
  pollMs?: number
}

export interface CoordinatorOptions {
  /** A command connection owned by the caller. */
  readonly redis: RedisClient
  readonly prefix: string
  readonly logger?: Logger
  /** Seals the vault's secrets under the master key (absent: stored in clear). */
  readonly sealer?: Sealer
}

export interface EnqueueOptions extends Omit<PlanOptions, 'runId'> {
  readonly runId?: string
  /** What the run came from, for `gramfarm status` (e.g. the file name). */
  readonly label?: string
}

/** `failed(ACCESS_TOKEN_INVALID)` → `failed`, for grouping. */
export function stateGroup(state: string): string {
  const paren = state.indexOf('(')
  return paren < 0 ? state : state.slice(0, paren)
}

/** A run id already given to another run: its jobs and results would be taken for this run's. */
export class RunIdInUseError extends FarmError {
  override readonly name = 'RunIdInUseError'
  constructor(readonly runId: string) {
    super(`run id ${runId} is already used: pick another --run-id`)
  }
}

function needsSecrets(job: PlannedJob): boolean {
  return Object.values(job.secrets).some((v) => typeof v === 'string' && v !== '')
}

export class Coordinator {
  readonly queue: Queue<LoginJobData, LoginResult>
  readonly prefix: string
  private readonly redis: RedisClient
  private readonly vault: SecretVault
  private readonly sealer: Sealer
  private jobIdsLoaded: Promise<JobIds> | undefined
  private readonly logger: Logger | undefined

  constructor(opts: CoordinatorOptions) {
    this.redis = opts.redis
    this.prefix = opts.prefix
    this.logger = opts.logger
    this.queue = new Queue<LoginJobData, LoginResult>(LOGIN_QUEUE, {
      connection: opts.redis,
      prefix: new FarmRedisKeys(opts.prefix).bullPrefix,
    })
    // Connection trouble is ioredis' to ride out (reconnects); commands that fail surface where they are awaited.
    this.queue.on('error', (err) => this.logger?.debug({ err: { message: err.message } }, 'queue connection error'))
    this.sealer = opts.sealer ?? Keyring.clear()
    this.vault = new SecretVault(opts.redis, opts.prefix, this.sealer)
  }

  /** Plans and enqueues accounts (validated specs from loadAccountsFile). */
  async enqueue(specs: readonly AccountSpec[], opts: EnqueueOptions = {}): Promise<EnqueuedRun> {
    const runId = opts.runId ?? newRunId()
    const jobIds = opts.jobIds ?? (await this.jobIds())
    return this.enqueueJobs(planJobs(specs, { ...opts, runId, jobIds }), runId, opts.label)
  }

  /** The farm's job ids (keyed with a master key), loaded once. */
  jobIds(): Promise<JobIds> {
    this.jobIdsLoaded ??= loadJobIds(this.redis, this.prefix, this.sealer)
    return this.jobIdsLoaded
  }

  /** Enqueues planned jobs (all of one run). */
  async enqueueJobs(jobs: readonly PlannedJob[], runId: string, label?: string): Promise<EnqueuedRun> {
    const enqueuedAt = Date.now()
    const eventsFrom = await this.eventsTail()
    // A job is this run's when its data.runId says so: a run id used twice would make another run's jobs look ours.
    if ((await this.redis.hsetnx(runKey(this.prefix, runId), 'createdAt', enqueuedAt)) !== 1)
      throw new RunIdInUseError(runId)
    await this.redis
      .multi()
      .zadd(runsKey(this.prefix), enqueuedAt, runId)
      .zremrangebyscore(runsKey(this.prefix), '-inf', enqueuedAt - RUN_TTL_SECONDS * 1000)
      .hset(runKey(this.prefix, runId), { total: jobs.length, ...(label ? { label } : {}) })
      .expire(runKey(this.prefix, runId), RUN_TTL_SECONDS)
      .exec()
    for (let i = 0; i < jobs.length; i += ADD_CHUNK) await this.add(jobs.slice(i, i + ADD_CHUNK))
    let owners = await this.ownersOf(jobs)
    const vanished = jobs.filter((_, i) => owners[i] === null)
    if (vanished.length > 0) {
      // Finished and removed between our add (which found it queued) and now: queue it again for this run.
      await this.add(vanished)
      const again = await this.ownersOf(vanished)
      const byId = new Map(vanished.map((j, i) => [j.jobId, again[i] ?? runId]))
      owners = owners.map((o, i) => o ?? byId.get(jobs[i]!.jobId) ?? runId)
    }
    await this.releaseWithSecrets(jobs.filter((j, i) => owners[i] === runId && needsSecrets(j)))
    const accounts: RunAccount[] = jobs.map((j, i) => ({
      jobId: j.jobId,
      kind: j.data.kind,
      account: j.data.account,
      accountKey: j.data.accountKey,
      source: j.source,
      ownerRunId: owners[i] ?? runId,
    }))
    const attachedTo = accounts.filter((a) => a.ownerRunId !== runId)
    if (attachedTo.length > 0) {
      // Their results land under the owning run's id: `gramfarm status --run` looks there for these.
      const key = attachedKey(this.prefix, runId)
      await this.redis
        .multi()
        .hset(key, Object.fromEntries(attachedTo.map((a) => [a.account, a.ownerRunId])))
        .expire(key, RUN_TTL_SECONDS)
        .exec()
    }
    const attached = attachedTo.length
    this.logger?.info({ runId, accounts: accounts.length, added: accounts.length - attached, attached }, 'run enqueued')
    return { runId, accounts, added: accounts.length - attached, attached, eventsFrom, enqueuedAt }
  }

  /** Adds jobs (a no-op for an id already queued); those that need secrets are held until they are written. */
  private async add(jobs: readonly PlannedJob[]): Promise<void> {
    await this.queue.addBulk(
      jobs.map((j) => ({
        name: j.data.kind,
        data: j.data,
        opts: { jobId: j.jobId, ...LOGIN_JOB_OPTIONS, ...(needsSecrets(j) ? { delay: SECRETS_HOLD_MS } : {}) },
      })),
    )
  }

  /** Writes the secrets of held jobs of this run, then lets them run. */
  private async releaseWithSecrets(jobs: readonly PlannedJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += ADD_CHUNK) {
      const chunk = jobs.slice(i, i + ADD_CHUNK)
      await Promise.all(chunk.map((j) => this.vault.put(j.jobId, j.secrets)))
      await Promise.all(chunk.map((j) => this.promote(j.jobId)))
    }
  }

  private async promote(jobId: string): Promise<void> {
    try {
      await new Job(this.queue, '', {}, {}, jobId).promote()
    } catch (err) {
      // No longer delayed (the hold ran out, or a code delivery promoted it already): it runs, with its secrets.
      if ((err as { code?: unknown }).code !== ErrorCode.JobNotInState) throw err
    }
  }

  /** The newest id of the queue's events stream ('0-0' when empty). */
  private async eventsTail(): Promise<string> {
    const last = await this.redis.xrevrange(this.queue.keys.events!, '+', '-', 'COUNT', 1)
    return last[0]?.[0] ?? '0-0'
  }

  /** Which run each job belongs to (its data.runId), or null when the job is gone. */
  private async ownersOf(jobs: readonly PlannedJob[]): Promise<(string | null)[]> {
    const pipe = this.redis.pipeline()
    for (const j of jobs) pipe.hget(this.queue.toKey(j.jobId), 'data')
    const replies = (await pipe.exec()) ?? []
    return replies.map(([err, json]) => {
      if (err || typeof json !== 'string') return null
      try {
        return (JSON.parse(json) as Partial<LoginJobData>).runId ?? null
      } catch {
        return null
      }
    })
  }

  /** Follows a run until every account has a final state, the timeout passes, or the signal aborts. */
  async follow(run: EnqueuedRun, opts: FollowOptions = {}): Promise<RunOutcome> {
    const started = Date.now()
    const byJob = new Map(run.accounts.map((a) => [a.jobId, a]))
    const results = new Map<string, AccountResult>()
    const phase = new Map<string, ProgressPhase>()
    const failedReasons = new Map<string, string>()
    const missing = new Map<string, number>()
    const eventsConnection = duplicateRedis(this.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true })
    eventsConnection.on('error', () => undefined)
    const events = new QueueEvents(LOGIN_QUEUE, {
      connection: eventsConnection,
      prefix: new FarmRedisKeys(this.prefix).bullPrefix,
      lastEventId: run.eventsFrom,
      blockingTimeout: 5000,
    })
    events.on('error', (err) => this.logger?.debug({ err: { message: (err as Error).message } }, 'queue events error'))

    let finish: (() => void) | undefined
    const finished = new Promise<void>((resolve) => (finish = resolve))
    let reconciling: Promise<void> | null = null
    let again = false
    let lastLostCheck = Date.now()

    const progress = (): void => {
      if (!opts.onProgress) return
      const byState: Record<string, number> = {}
      for (const r of results.values()) byState[stateGroup(r.state)] = (byState[stateGroup(r.state)] ?? 0) + 1
      let running = 0
      let waiting = 0
      for (const [jobId, p] of phase) {
        if (results.has(jobId)) continue
        if (p === 'running') running++
        else if (p === 'waiting') waiting++
      }
      const total = run.accounts.length
      opts.onProgress({
        total,
        done: results.size,
        byState,
        running,
        waiting,
        queued: total - results.size - running - waiting,
        elapsedMs: Date.now() - started,
      })
    }

    const settle = (acc: RunAccount, r: LoginResult | null, fallback?: FinalState): void => {
      if (results.has(acc.jobId)) return
      const shared = acc.ownerRunId !== run.runId
      const state: FinalState =
        r === null ? (fallback ?? 'failed(lost)') : shared && r.state === 'authorized' ? 'duplicate' : r.state
      results.set(acc.jobId, {
        account: acc.account,
        kind: acc.kind,
        state,
        jobId: acc.jobId,
        ...(r?.userId !== undefined ? { userId: r.userId } : {}),
        ...(r?.dcId !== undefined ? { dcId: r.dcId } : {}),
        ...(r?.session !== undefined && !shared ? { session: r.session } : {}),
        ...(r ? { startedAt: r.startedAt, finishedAt: r.finishedAt } : {}),
        ...(acc.source ? { source: acc.source } : {}),
        ...(shared
          ? {
              note: `${r?.state === 'authorized' ? 'authorized' : 'followed'} by run ${acc.ownerRunId}`,
              runId: acc.ownerRunId,
            }
          : {}),
        ...(r?.error !== undefined ? { error: r.error } : {}),
      })
    }

    const reconcileOnce = async (): Promise<void> => {
      const open = run.accounts.filter((a) => !results.has(a.jobId))
      const byOwner = new Map<string, RunAccount[]>()
      for (const a of open) {
        const list = byOwner.get(a.ownerRunId) ?? []
        list.push(a)
        byOwner.set(a.ownerRunId, list)
      }
      for (const [owner, list] of byOwner) {
        const values = await this.redis.hmget(resultsKey(this.prefix, owner), ...list.map((a) => a.account))
        list.forEach((a, i) => {
          const json = values[i]
          if (typeof json === 'string') settle(a, JSON.parse(json) as LoginResult)
        })
      }
      // Now and then: a job that no longer exists and left no result will never give one. (A look per job: not on
      // every event of a run of thousands.)
      if (Date.now() - lastLostCheck >= Math.max(LOST_CHECK_MS, open.length * LOST_CHECK_MS_PER_JOB)) {
        lastLostCheck = Date.now()
        const still = run.accounts.filter((a) => !results.has(a.jobId))
        if (still.length > 0) {
          const pipe = this.redis.pipeline()
          for (const a of still) pipe.exists(this.queue.toKey(a.jobId))
          const exists = (await pipe.exec()) ?? []
          const gone = still.filter((_, i) => exists[i]?.[1] === 0)
          for (const a of still) if (!gone.includes(a)) missing.delete(a.jobId)
          if (gone.length > 0) {
            // One more look at the results: a job removes itself only after its result is written.
            for (const a of gone) {
              const json = await this.redis.hget(resultsKey(this.prefix, a.ownerRunId), a.account)
              if (json !== null) settle(a, JSON.parse(json) as LoginResult)
              else {
                const n = (missing.get(a.jobId) ?? 0) + 1
                missing.set(a.jobId, n)
                if (n >= 2) settle(a, null, `failed(${failedReasons.get(a.jobId) ?? 'lost'})`)
              }
            }
          }
        }
      }
    }

    const reconcile = (): void => {
      if (reconciling) {
        again = true
        return
      }
      reconciling = reconcileOnce()
        .catch((err: unknown) =>
          this.logger?.debug({ err: { message: (err as Error).message } }, 'results look failed; will retry'),
        )
        .finally(() => {
          reconciling = null
          progress()
          if (results.size === run.accounts.length) finish?.()
          else if (again) {
            again = false
            reconcile()
          }
        })
    }

    const mark = (jobId: string, p: ProgressPhase): void => {
      if (!byJob.has(jobId) || results.has(jobId)) return
      phase.set(jobId, p)
      progress()
    }
    // 'waiting': back in the wait list (e.g. released once its secrets were written, or a delay ran out).
    events.on('waiting', ({ jobId }) => mark(jobId, 'queued'))
    events.on('active', ({ jobId }) => mark(jobId, 'running'))
    events.on('delayed', ({ jobId }) => mark(jobId, 'waiting'))
    // A completed job's result is written before it completes: one look for it, not a look at every open job.
    // Should that write be gone while the completion is not (the farm's Redis failed over between the two: the
    // result was acknowledged by the old primary only, the completion ran on the new one, and removed the job),
    // the completion's own event still carries the result, written with the completion in one script.
    const settleOne = (acc: RunAccount, returned: LoginResult | null): void => {
      void this.redis
        .hget(resultsKey(this.prefix, acc.ownerRunId), acc.account)
        .then((json) => {
          const result = json !== null ? (JSON.parse(json) as LoginResult) : returned
          if (result === null) return reconcile()
          settle(acc, result)
          progress()
          if (results.size === run.accounts.length) finish?.()
        })
        .catch(() => reconcile())
    }
    events.on('completed', ({ jobId, returnvalue }) => {
      const acc = byJob.get(jobId)
      if (acc && !results.has(jobId)) settleOne(acc, loginResultOf(returnvalue, acc))
    })
    events.on('failed', ({ jobId, failedReason }) => {
      if (!byJob.has(jobId)) return
      failedReasons.set(jobId, String(failedReason).replace(/[()]/g, '').slice(0, 80))
      reconcile()
    })

    const poll = setInterval(reconcile, opts.pollMs ?? 1000)
    const timeout = opts.timeoutMs !== undefined ? setTimeout(() => finish?.(), opts.timeoutMs) : undefined
    const onAbort = (): void => finish?.()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    reconcile()
    progress()
    try {
      await finished
      if (reconciling) await reconciling
    } finally {
      clearInterval(poll)
      clearTimeout(timeout)
      opts.signal?.removeEventListener('abort', onAbort)
      await events.close().catch(() => undefined)
      eventsConnection.disconnect()
    }
    const complete = results.size === run.accounts.length
    const ordered = run.accounts.map(
      (a) =>
        results.get(a.jobId) ?? {
          account: a.account,
          kind: a.kind,
          state: 'pending' as const,
          jobId: a.jobId,
          ...(a.source ? { source: a.source } : {}),
        },
    )
    const interrupted = !complete && opts.signal?.aborted === true
    return {
      runId: run.runId,
      results: ordered,
      timedOut: !complete && !interrupted,
      interrupted,
      elapsedMs: Date.now() - started,
    }
  }

  async close(): Promise<void> {
    await this.queue.close()
  }
}

/** A login job's return value (its completion event's, JSON) as the result of `acc`'s login, or null. */
function loginResultOf(returnvalue: unknown, acc: RunAccount): LoginResult | null {
  let value: unknown = returnvalue
  try {
    if (typeof value === 'string') value = JSON.parse(value)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null) return null
  const r = value as Partial<LoginResult>
  if (r.account !== acc.account || typeof r.state !== 'string') return null
  if (typeof r.startedAt !== 'number' || typeof r.finishedAt !== 'number') return null
  return r as LoginResult
}
