// The farm's stored session health for `gramfarm status`: what the last `sessions check` found per session
// (FarmRedisKeys.sessionHealth), counted by state, with the oldest and newest check.
import type { RedisClient } from '../queue/redis-connection.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { healthGroup, type SessionHealth } from '../queue/session-job.ts'

export interface SessionHealthSummary {
  /** Sessions with a stored check. */
  readonly checked: number
  /** Sessions per state (`flood_wait(…)`, `failed(…)` grouped by name). */
  readonly states: Readonly<Record<string, number>>
  /** ISO times of the oldest and newest check, null when none. */
  readonly oldestCheck: string | null
  readonly newestCheck: string | null
}

/** Every session's stored health, by session name (records that do not parse are left out). */
export async function readSessionHealth(redis: RedisClient, prefix: string): Promise<Map<string, SessionHealth>> {
  const raw = await redis.hgetall(new FarmRedisKeys(prefix).sessionHealth)
  const out = new Map<string, SessionHealth>()
  for (const [name, json] of Object.entries(raw)) {
    try {
      const h = JSON.parse(json) as SessionHealth
      if (typeof h.state === 'string' && typeof h.checkedAt === 'number') out.set(name, h)
    } catch {
      // not ours to fix here
    }
  }
  return out
}

export function summarizeSessionHealth(health: ReadonlyMap<string, SessionHealth>): SessionHealthSummary {
  const states: Record<string, number> = {}
  let oldest = Number.POSITIVE_INFINITY
  let newest = 0
  for (const h of health.values()) {
    states[healthGroup(h.state)] = (states[healthGroup(h.state)] ?? 0) + 1
    oldest = Math.min(oldest, h.checkedAt)
    newest = Math.max(newest, h.checkedAt)
  }
  return {
    checked: health.size,
    states,
    oldestCheck: health.size > 0 ? new Date(oldest).toISOString() : null,
    newestCheck: health.size > 0 ? new Date(newest).toISOString() : null,
  }
}
