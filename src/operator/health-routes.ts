// /healthz (the process answers) and /readyz (Redis answers and at least one worker's heartbeat is alive): what a
// load balancer or an orchestrator asks before sending traffic or declaring the farm up.
import type { FastifyInstance } from 'fastify'
import type { RedisClient } from '../queue/redis-connection.ts'
import { farmWorkers } from '../farm/worker-presence.ts'

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
  /** Workers whose heartbeat is alive; null when Redis is down. */
  readonly workers: number | null
  /** Their piscina threads, summed. */
  readonly threads: number | null
}

export async function readiness(redis: RedisClient, prefix: string): Promise<Readiness> {
  const started = performance.now()
  try {
    await within(redis.ping(), REDIS_PROBE_MS, 'PING')
  } catch {
    return { ready: false, redis: 'down', redisMs: null, workers: null, threads: null }
  }
  const redisMs = Math.round((performance.now() - started) * 10) / 10
  const alive = await within(farmWorkers(redis, prefix), REDIS_PROBE_MS, 'heartbeats')
    .then((w) => w.alive)
    .catch(() => null)
  if (alive === null) return { ready: false, redis: 'ok', redisMs, workers: null, threads: null }
  const threads = alive.reduce((n, w) => n + w.threads, 0)
  return { ready: alive.length > 0, redis: 'ok', redisMs, workers: alive.length, threads }
}

export function registerHealthRoutes(app: FastifyInstance, redis: RedisClient, prefix: string): void {
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness(redis, prefix)
    return reply.code(r.ready ? 200 : 503).send(r)
  })
}
