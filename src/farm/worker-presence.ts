// Which workers the farm has: the heartbeats each worker process keeps in Redis (src/queue/worker-heartbeats.ts:
// id, host, threads, jobs running), and the connections BullMQ sees on the login queue — it names each worker's
// blocking connection after the queue (CLIENT SETNAME) and lists them with CLIENT LIST. A Redis that hides CLIENT
// LIST (some hosted ones) answers with a placeholder entry, which counts as "unknown", never as "none".
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { readHeartbeats, type WorkerHeartbeat } from '../queue/worker-heartbeats.ts'

export type { WorkerHeartbeat }

export interface ConnectedWorker {
  /** The connection's address as Redis sees it (host:port of the worker process). */
  readonly addr: string
  /** Seconds since that connection was made. */
  readonly ageS: number
  /** Seconds since its last command (a waiting worker blocks for a few seconds at a time). */
  readonly idleS: number
}

export interface WorkerPresence {
  /** null: Redis does not let us list clients, so whether workers are connected is not known. */
  readonly workers: readonly ConnectedWorker[] | null
}

/** The workers connected to `queue`'s login queue now. */
export async function connectedWorkers(queue: Pick<Queue, 'getWorkers'>): Promise<WorkerPresence> {
  const list = await queue.getWorkers()
  if (list.some((w) => w.addr === undefined && typeof w.name === 'string' && w.name.includes('does not support')))
    return { workers: null }
  return {
    workers: list.map((w) => ({ addr: String(w.addr ?? ''), ageS: Number(w.age ?? 0), idleS: Number(w.idle ?? 0) })),
  }
}

/** The workers alive by their heartbeats (threads, jobs, version), beside BullMQ's count of connections. */
export interface FarmWorkers {
  readonly alive: readonly WorkerHeartbeat[]
  /** Connections BullMQ lists on the login queue; null when Redis hides CLIENT LIST (or was not asked). */
  readonly connected: number | null
}

/** The workers of the farm under `prefix`: their heartbeats, and (given the queue) BullMQ's connection count. */
export async function farmWorkers(
  redis: RedisClient,
  prefix: string,
  queue?: Pick<Queue, 'getWorkers'>,
): Promise<FarmWorkers> {
  const [alive, connected] = await Promise.all([
    readHeartbeats(redis, new FarmRedisKeys(prefix)),
    queue
      ? connectedWorkers(queue)
          .then((p) => (p.workers === null ? null : p.workers.length))
          .catch(() => null)
      : Promise.resolve(null),
  ])
  return { alive, connected }
}
