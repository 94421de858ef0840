// `sessions check` and `sessions harden` as farm jobs: one job per stored session on the session queue (its id
// derived from the session and the operation, so a session already queued for the same operation is not queued
// twice), followed to its end through the results the workers write (`<prefix>session-results:<run>`). A given
// new 2FA password goes to the SecretVault under each job's id, never into the job's clear data.
import { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import { Keyring, type Sealer } from '../foundation/sealed-value.ts'
import { loadJobIds, type JobIds } from '../queue/job-ids.ts'
import type { LoginKind } from '../queue/login-job.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { SecretVault } from '../queue/secret-vault.ts'
import {
  SESSION_QUEUE,
  healthGroup,
  type HardenOptions,
  type SessionJobData,
  type SessionJobOp,
  type SessionJobResult,
} from '../queue/session-job.ts'
import { newRunId } from './account-jobs.ts'
import type { SessionRef } from './session-export.ts'

/** Session jobs are removed when done (the result is in the run's hash) and retried on passing trouble. */
export const SESSION_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: true,
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
} as const

/** Runs are listed this long, as login runs are. */
const RUN_TTL_SECONDS = 7 * 24 * 3600
/** Past this, a job holding a given password runs without it (only if the coordinator died before releasing it). */
const SECRETS_HOLD_MS = 120_000

export interface SessionRunAccount {
  readonly jobId: string
  readonly session: string
  readonly account: string
  readonly kind: LoginKind
}

export interface SessionRun {
  readonly runId: string
  readonly op: SessionJobOp
  readonly accounts: readonly SessionRunAccount[]
  readonly enqueuedAt: number
}

/** An account of a run: its result, or still pending (the follow timed out). */
export type SessionRunRow =
  SessionJobResult | (SessionRunAccount & { readonly op: SessionJobOp; readonly state: 'pending' })

export interface SessionRunOutcome {
  readonly runId: string
  readonly op: SessionJobOp
  readonly rows: readonly SessionRunRow[]
  readonly timedOut: boolean
  readonly interrupted: boolean
  readonly elapsedMs: number
}

export interface SessionRunProgress {
  readonly total: number
  readonly done: number
  readonly byState: Readonly<Record<string, number>>
  readonly elapsedMs: number
}

export interface SessionEnqueueOptions {
  readonly runId?: string
  /** harden: what to do (default: terminate others, defer when fresh, set a password where there is none). */
  readonly harden?: HardenOptions
  /** harden: the new 2FA password to set (generated per account when absent). */
  readonly password?: string
  readonly label?: string
}

export interface SessionFollowOptions {
  readonly timeoutMs?: number
  readonly pollMs?: number
  readonly signal?: AbortSignal
  onProgress?(progress: SessionRunProgress): void
}

const LOGIN_KINDS: ReadonlySet<string> = new Set(['user', 'bot', 'qr'])

export class SessionJobCoordinator {
  readonly queue: Queue<SessionJobData, SessionJobResult>
  private readonly redis: RedisClient
  private readonly prefix: string
  private readonly keys: FarmRedisKeys
  private readonly sealer: Sealer
  private readonly vault: SecretVault
  private readonly logger: Logger | undefined
  private jobIdsLoaded: Promise<JobIds> | undefined

  constructor(opts: { redis: RedisClient; prefix: string; sealer?: Sealer; logger?: Logger }) {
    this.redis = opts.redis
    this.prefix = opts.prefix
    this.keys = new FarmRedisKeys(opts.prefix)
    this.sealer = opts.sealer ?? Keyring.clear()
    this.vault = new SecretVault(opts.redis, opts.prefix, this.sealer)
    this.logger = opts.logger
    this.queue = new Queue<SessionJobData, SessionJobResult>(SESSION_QUEUE, {
      connection: opts.redis,
      prefix: this.keys.bullPrefix,
    })
    this.queue.on('error', (err) => this.logger?.debug({ err: { message: err.message } }, 'queue connection error'))
  }

  private jobIds(): Promise<JobIds> {
    this.jobIdsLoaded ??= loadJobIds(this.redis, this.prefix, this.sealer)
    return this.jobIdsLoaded
  }

  async enqueue(refs: readonly SessionRef[], op: SessionJobOp, opts: SessionEnqueueOptions = {}): Promise<SessionRun> {
    const runId = opts.runId ?? newRunId()
    const jobIds = await this.jobIds()
    const enqueuedAt = Date.now()
    const seen = new Set<string>()
    const accounts: SessionRunAccount[] = []
    for (const r of refs) {
      if (seen.has(r.name)) continue
      seen.add(r.name)
      accounts.push({
        jobId: jobIds.ofSession(op, r.name),
        session: r.name,
        account: r.account,
        kind: (LOGIN_KINDS.has(r.kind) ? r.kind : 'user') as LoginKind,
      })
    }
    await this.redis
      .multi()
      .zadd(this.keys.sessionRuns, enqueuedAt, runId)
      .zremrangebyscore(this.keys.sessionRuns, '-inf', enqueuedAt - RUN_TTL_SECONDS * 1000)
      .exec()
    const held = op === 'harden' && opts.password !== undefined && opts.password !== ''
    await this.queue.addBulk(
      accounts.map((a) => ({
        name: op,
        data: {
          op,
          session: a.session,
          account: a.account,
          kind: a.kind,
          runId,
          ...(op === 'harden' && opts.harden ? { harden: opts.harden } : {}),
        },
        opts: { jobId: a.jobId, ...SESSION_JOB_OPTIONS, ...(held ? { delay: SECRETS_HOLD_MS } : {}) },
      })),
    )
    if (held) {
      for (const a of accounts) {
        await this.vault.put(a.jobId, { password: opts.password! })
        await this.queue
          .getJob(a.jobId)
          .then((job) => job?.promote())
          .catch(() => undefined) // no longer delayed: it runs with its secret
      }
    }
    this.logger?.info({ runId, op, sessions: accounts.length }, 'session jobs enqueued')
    return { runId, op, accounts, enqueuedAt }
  }

  /** Follows a run until every session has a result, the timeout passes, or the signal aborts. */
  async follow(run: SessionRun, opts: SessionFollowOptions = {}): Promise<SessionRunOutcome> {
    const started = Date.now()
    const key = this.keys.sessionResults(run.runId)
    const results = new Map<string, SessionJobResult>()
    const deadline = opts.timeoutMs !== undefined ? started + opts.timeoutMs : Number.POSITIVE_INFINITY
    const pollMs = opts.pollMs ?? 500
    let reported = -1
    for (;;) {
      const open = run.accounts.filter((a) => !results.has(a.account))
      if (open.length > 0) {
        const values = await this.redis.hmget(key, ...open.map((a) => a.account))
        open.forEach((a, i) => {
          const json = values[i]
          if (typeof json !== 'string') return
          const r = JSON.parse(json) as SessionJobResult
          // A result of this run's job only (a later run's job of the same session writes under its own run).
          if (r.op === run.op && r.session === a.session) results.set(a.account, r)
        })
      }
      if (results.size !== reported && opts.onProgress) {
        reported = results.size
        const byState: Record<string, number> = {}
        for (const r of results.values()) byState[healthGroup(r.state)] = (byState[healthGroup(r.state)] ?? 0) + 1
        opts.onProgress({ total: run.accounts.length, done: results.size, byState, elapsedMs: Date.now() - started })
      }
      if (results.size === run.accounts.length || Date.now() >= deadline || opts.signal?.aborted) break
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
    const complete = results.size === run.accounts.length
    const interrupted = !complete && opts.signal?.aborted === true
    return {
      runId: run.runId,
      op: run.op,
      rows: run.accounts.map((a) => results.get(a.account) ?? { ...a, op: run.op, state: 'pending' as const }),
      timedOut: !complete && !interrupted,
      interrupted,
      elapsedMs: Date.now() - started,
    }
  }

  async close(): Promise<void> {
    await this.queue.close()
  }
}
