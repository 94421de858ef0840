// Worker heartbeats: each worker process keeps a key under the farm's prefix (short TTL, refreshed every few
// seconds) saying who it is and what it runs, and adds its id to an index set so readers need no SCAN. A worker
// that dies stops refreshing and its key expires; readers drop its id from the index then. Unlike BullMQ's list
// of connected clients, this works on a Redis that hides CLIENT LIST and says how many threads each worker has.
import type { RedisClient } from './redis-connection.ts'
import type { FarmRedisKeys } from './redis-keys.ts'

/** How often a worker refreshes its heartbeat. */
export const HEARTBEAT_EVERY_MS = 5_000
/** How long a heartbeat lives unrefreshed: three missed beats and the worker counts as gone. */
export const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_EVERY_MS
/** The index set outlives its last worker by a day (readers prune it anyway). */
const INDEX_TTL_MS = 24 * 3600_000

export interface WorkerHeartbeat {
  /** `<host>:<pid>:<random>`: unique per worker process. */
  readonly id: string
  readonly host: string
  readonly pid: number
  /** piscina threads running the login steps. */
  readonly threads: number
  /** Login steps the process runs at once at most. */
  readonly concurrency: number
  /** Login steps running now. */
  readonly activeJobs: number
  /** Whether the worker takes jobs (false once it is closing). */
  readonly running: boolean
  /** Unix ms. */
  readonly startedAt: number
  /** Unix ms of this beat (the worker's clock). */
  readonly beatAt: number
  /** gramfarm's version. */
  readonly version: string
}

function parsed(json: string | null): WorkerHeartbeat | null {
  if (json === null) return null
  try {
    const b = JSON.parse(json) as Partial<WorkerHeartbeat>
    return typeof b.id === 'string' && typeof b.threads === 'number' ? (b as WorkerHeartbeat) : null
  } catch {
    return null
  }
}

/** Writes (refreshes) one heartbeat. */
export async function writeHeartbeat(
  redis: RedisClient,
  keys: FarmRedisKeys,
  beat: WorkerHeartbeat,
  ttlMs = HEARTBEAT_TTL_MS,
): Promise<void> {
  // Separate commands, not a MULTI: the two keys need not share a Cluster slot.
  await Promise.all([
    redis.set(keys.worker(beat.id), JSON.stringify(beat), 'PX', ttlMs),
    redis.sadd(keys.workers, beat.id).then(() => redis.pexpire(keys.workers, INDEX_TTL_MS)),
  ])
}

/** A worker going down says so at once, rather than counting as alive until its heartbeat expires. */
export async function removeHeartbeat(redis: RedisClient, keys: FarmRedisKeys, workerId: string): Promise<void> {
  await Promise.all([redis.del(keys.worker(workerId)), redis.srem(keys.workers, workerId)])
}

/** The workers alive now (their heartbeat has not expired), by id; ids whose heartbeat is gone leave the index. */
export async function readHeartbeats(redis: RedisClient, keys: FarmRedisKeys): Promise<WorkerHeartbeat[]> {
  const ids = await redis.smembers(keys.workers)
  const beats = await Promise.all(ids.map(async (id) => ({ id, beat: parsed(await redis.get(keys.worker(id))) })))
  const gone = beats.filter((b) => b.beat === null).map((b) => b.id)
  if (gone.length > 0) await redis.srem(keys.workers, ...gone)
  return beats
    .flatMap((b) => (b.beat === null ? [] : [b.beat]))
    .sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id))
}
