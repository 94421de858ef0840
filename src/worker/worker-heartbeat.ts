// The heartbeat a worker process keeps in Redis while it runs (src/queue/worker-heartbeats.ts has the format):
// written at start, refreshed every few seconds, removed when the worker closes. A beat that fails (Redis away)
// is skipped; the key expires by itself if beats stop for good.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { RedisClient } from '../queue/redis-connection.ts'
import { packageVersion } from '../foundation/package-version.ts'
import type { FarmRedisKeys } from '../queue/redis-keys.ts'
import {
  HEARTBEAT_EVERY_MS,
  HEARTBEAT_TTL_MS,
  removeHeartbeat,
  writeHeartbeat,
  type WorkerHeartbeat,
} from '../queue/worker-heartbeats.ts'

export interface HeartbeatSource {
  readonly threads: number
  readonly concurrency: number
  /** Login steps running now. */
  activeJobs(): number
  /** Whether the worker takes jobs. */
  running(): boolean
}

/** A new worker id: host, pid and a random part (two workers of one pid, as tests start them, stay apart). */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
}

export class WorkerHeartbeatWriter {
  readonly id = newWorkerId()
  private readonly startedAt = Date.now()
  private timer: NodeJS.Timeout | undefined
  private beating: Promise<void> | undefined

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: FarmRedisKeys,
    private readonly source: HeartbeatSource,
    private readonly everyMs = HEARTBEAT_EVERY_MS,
    private readonly ttlMs = Math.max(HEARTBEAT_TTL_MS, 3 * everyMs),
  ) {}

  /** What the next beat says. */
  beat(): WorkerHeartbeat {
    return {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      threads: this.source.threads,
      concurrency: this.source.concurrency,
      activeJobs: this.source.activeJobs(),
      running: this.source.running(),
      startedAt: this.startedAt,
      beatAt: Date.now(),
      version: packageVersion(),
    }
  }

  /**
   * Writes the first beat (awaited, so the worker counts as seen once start() returns, unless Redis does not answer
   * within `firstBeatMs`: a worker may start before its Redis) and keeps beating.
   */
  async start(firstBeatMs = 5_000): Promise<void> {
    this.timer = setInterval(() => void this.once(), this.everyMs)
    this.timer.unref()
    let bound: NodeJS.Timeout | undefined
    await Promise.race([this.once(), new Promise<void>((resolve) => (bound = setTimeout(resolve, firstBeatMs)))])
    clearTimeout(bound)
  }

  /** One beat, unless the last one still waits for Redis. */
  private once(): Promise<void> {
    this.beating ??= writeHeartbeat(this.redis, this.keys, this.beat(), this.ttlMs)
      .catch(() => undefined)
      .finally(() => (this.beating = undefined))
    return this.beating
  }

  /** Stops beating and removes the heartbeat (bounded: a Redis that is away keeps nothing waiting). */
  async stop(boundMs = 2_000): Promise<void> {
    clearInterval(this.timer)
    let bound: NodeJS.Timeout | undefined
    await Promise.race([
      removeHeartbeat(this.redis, this.keys, this.id).catch(() => undefined),
      new Promise<void>((resolve) => (bound = setTimeout(resolve, boundMs))),
    ])
    clearTimeout(bound)
  }
}
