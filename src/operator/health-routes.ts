// /healthz (the process answers) and /readyz (Redis answers and at least one worker is connected to the queue):
// what a load balancer or an orchestrator asks before sending traffic or declaring the farm up.
import type { FastifyInstance } from 'fastify'
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import { connectedWorkers } from '../farm/worker-presence.ts'

/** A PING slower than this counts as Redis not answering. */
const REDIS_PROBE_MS = 1_000

/** Resolves with `p`'s value, or rejects after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)),
    ),
  ])
}

export interface Readiness {
  readonly ready: boolean
  readonly redis: 'ok' | 'down'
  readonly redisMs: number | null
  /** Workers connected to the login queue; null when Redis does not say (or is down). */
  readonly workers: number | null
}

export async function readiness(redis: RedisClient, queue: Queue): Promise<Readiness> {
  const started = performance.now()
  try {
    await within(redis.ping(), REDIS_PROBE_MS, 'PING')
  } catch {
    return { ready: false, redis: 'down', redisMs: null, workers: null }
  }
  const redisMs = Math.round((performance.now() - started) * 10) / 10
  const { workers } = await within(connectedWorkers(queue), REDIS_PROBE_MS, 'CLIENT LIST').catch(() => ({
    workers: null,
  }))
  // A Redis that hides its client list cannot tell: ready on Redis alone rather than never.
  const count = workers === null ? null : workers.length
  return { ready: count === null || count > 0, redis: 'ok', redisMs, workers: count }
}

export function registerHealthRoutes(app: FastifyInstance, redis: RedisClient, queue: Queue): void {
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness(redis, queue)
    return reply.code(r.ready ? 200 : 503).send(r)
  })
}
