// Which workers are connected to the login queue: BullMQ names each worker's blocking connection after the
// queue (CLIENT SETNAME) and lists them with CLIENT LIST. A Redis that hides CLIENT LIST (some hosted ones)
// answers with a placeholder entry, which counts as "unknown", never as "none".
import type { Queue } from 'bullmq'

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
