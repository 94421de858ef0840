// A run as Redis remembers it, for `gramfarm status` (the coordinator that followed it may be long gone): its
// record, the results workers wrote under its id, and — for accounts it followed in another run's job — the
// results under that run's id (workers write a job's result under the run that added it).
import type { Redis } from 'ioredis'
import type { LoginResult } from '../queue/login-job.ts'
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
}

/** The run's status, or null when Redis knows no such run (never enqueued, or expired). */
export async function readRunStatus(redis: Redis, prefix: string, runId: string): Promise<RunStatus | null> {
  const [meta, own, attached] = await Promise.all([
    redis.hgetall(runKey(prefix, runId)), redis.hvals(resultsKey(prefix, runId)), redis.hgetall(attachedKey(prefix, runId)),
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
  }
}
