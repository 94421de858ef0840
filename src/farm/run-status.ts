// A run as Redis remembers it, for `gramfarm status` (the coordinator that followed it may be long gone): its
// record, the results workers wrote under its id, and — for accounts it followed in another run's job — the
// results under that run's id (workers write a job's result under the run that added it).
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { LoginJobData, LoginKind, LoginResult } from '../queue/login-job.ts'
import { attachedKey, resultsKey, runKey } from '../queue/redis-keys.ts'
import { stateGroup } from './coordinator.ts'

export interface RunStatusAccount extends LoginResult {
  /** The run whose job this account followed (its login was that run's). */
  readonly followedRun?: string
}

export interface RunStatus {
  readonly runId: string
  readonly createdAt: string
  readonly label: string | null
  readonly total: number
  readonly finished: number
  readonly states: Readonly<Record<string, number>>
  readonly accounts: readonly RunStatusAccount[]
  /** Accounts it follows in other runs' jobs (their results are under those runs). */
  readonly attachedAccounts: readonly string[]
}

/**
 * What a run's unfinished account waits for: its turn (queued), a step in progress (running), its SMS code, its
 * 2FA password, a phone to scan its QR code, or the end of a FLOOD_WAIT Telegram imposed.
 */
export type PendingWait = 'queued' | 'running' | 'code' | 'password' | 'qr_scan' | 'flood_wait'

export interface PendingAccount {
  readonly account: string
  readonly kind: LoginKind
  readonly waitingFor: PendingWait
  /** Seconds until the wait ends by itself: a FLOOD_WAIT's end, or the code/QR deadline. */
  readonly secondsLeft?: number
}

/** Jobs of the queue looked at, at most, for a run's pending accounts (the queue holds every run's jobs). */
const PENDING_SCAN_LIMIT = 50_000
const PENDING_PAGE = 1_000

/** What the job of a pending account waits for, from its step (the state lives in the job's data). */
export function pendingWaitOf(
  data: LoginJobData,
  active: boolean,
  now = Date.now(),
): Omit<PendingAccount, 'account' | 'kind'> {
  const left = (until: number): number => Math.max(0, Math.ceil((until - now) / 1000))
  if ((data.floodUntil ?? 0) > now) return { waitingFor: 'flood_wait', secondsLeft: left(data.floodUntil!) }
  const deadline = data.deadline > 0 ? { secondsLeft: left(data.deadline) } : {}
  switch (data.step) {
    case 'wait_code':
    case 'resend_code':
      return { waitingFor: 'code', ...deadline }
    case 'wait_password':
      return { waitingFor: 'password', ...deadline }
    case 'wait_qr':
      return { waitingFor: 'qr_scan', ...deadline }
    default:
      return { waitingFor: active ? 'running' : 'queued' }
  }
}

/**
 * The run's accounts still in the queue and what each waits for: its own jobs, and those of accounts it follows
 * in another run's job (`attachedAccounts`). Finished ones are in readRunStatus.
 */
export async function readPendingAccounts(
  queue: Queue<LoginJobData>,
  runId: string,
  attachedAccounts: ReadonlySet<string> = new Set(),
): Promise<PendingAccount[]> {
  const pending: PendingAccount[] = []
  const now = Date.now()
  for (const state of ['active', 'waiting', 'prioritized', 'delayed'] as const) {
    for (let start = 0; start < PENDING_SCAN_LIMIT; start += PENDING_PAGE) {
      const jobs = await queue.getJobs([state], start, start + PENDING_PAGE - 1, true)
      for (const job of jobs) {
        const data = job?.data
        if (!data || (data.runId !== runId && !attachedAccounts.has(data.account))) continue
        pending.push({ account: data.account, kind: data.kind, ...pendingWaitOf(data, state === 'active', now) })
      }
      if (jobs.length < PENDING_PAGE) break
    }
  }
  return pending
}

/** The run's status, or null when Redis knows no such run (never enqueued, or expired). */
export async function readRunStatus(redis: RedisClient, prefix: string, runId: string): Promise<RunStatus | null> {
  const [meta, own, attached] = await Promise.all([
    redis.hgetall(runKey(prefix, runId)),
    redis.hvals(resultsKey(prefix, runId)),
    redis.hgetall(attachedKey(prefix, runId)),
  ])
  if (Object.keys(meta).length === 0 && own.length === 0) return null
  const accounts: RunStatusAccount[] = own.map((v) => JSON.parse(v) as LoginResult)
  const byOwner = new Map<string, string[]>()
  for (const [account, owner] of Object.entries(attached)) byOwner.set(owner, [...(byOwner.get(owner) ?? []), account])
  for (const [owner, list] of byOwner) {
    const values = await redis.hmget(resultsKey(prefix, owner), ...list)
    for (const json of values) {
      if (json === null) continue
      // As the coordinator reports it: another run's authorization is a duplicate here, and its session not ours.
      const { session: _session, ...r } = JSON.parse(json) as LoginResult
      accounts.push({ ...r, state: r.state === 'authorized' ? 'duplicate' : r.state, followedRun: owner })
    }
  }
  const states: Record<string, number> = {}
  for (const r of accounts) states[stateGroup(r.state)] = (states[stateGroup(r.state)] ?? 0) + 1
  return {
    runId,
    createdAt: meta['createdAt'] ? new Date(Number(meta['createdAt'])).toISOString() : '',
    label: meta['label'] ?? null,
    total: Number(meta['total'] ?? accounts.length),
    finished: accounts.length,
    states,
    accounts,
    attachedAccounts: Object.keys(attached),
  }
}
