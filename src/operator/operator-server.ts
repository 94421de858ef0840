// `gramfarm serve`: the operator's HTTP server (fastify, logging through the farm's pino). Code callbacks
// (/v1/codes, /v1/passwords, the handler_api webhook), /healthz, /readyz, /metrics, the dashboard (/) and
// bull-board (/queues). Bound to 127.0.0.1 unless told
// otherwise: TLS and exposure are the business of a proxy in front.
import type { Sealer } from '../foundation/sealed-value.ts'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify'
import { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import { LOGIN_QUEUE, type LoginJobData } from '../queue/login-job.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { TokenChecker, type ServeTokens } from './bearer-tokens.ts'
import { registerCodeRoutes } from './code-routes.ts'
import { registerHealthRoutes } from './health-routes.ts'
import { OperatorHttpError } from './operator-http-error.ts'
import { RequestRateLimit, type RateLimitOptions } from './request-rate-limit.ts'
import { FarmMetrics } from './farm-metrics.ts'
import { registerDashboardRoutes } from './dashboard-routes.ts'
import type { OperatorContext } from './operator-context.ts'

export type { OperatorContext }

export interface OperatorServerOptions {
  /** A command connection owned by the caller. */
  readonly redis: RedisClient
  readonly prefix: string
  readonly tokens: ServeTokens
  /** The farm's keyring (sealed deliveries, keyed job ids); absent: clear. */
  readonly sealer?: Sealer
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0 (the OS picks). */
  readonly port?: number
  /** Largest request body (default 16 KiB: a code callback is a few hundred bytes). */
  readonly bodyLimit?: number
  /** Per remote address on /v1/ (default 120 a minute, bursts of 30). */
  readonly rateLimit?: RateLimitOptions
  readonly logger?: Logger
  /** More routes (metrics, dashboard) registered on the same server before it listens. */
  readonly extend?: (app: FastifyInstance, ctx: OperatorContext) => void | Promise<void>
}

/** What the routes share. */

export interface OperatorServer {
  readonly app: FastifyInstance
  /** http://host:port */
  readonly url: string
  readonly context: OperatorContext
  close(): Promise<void>
}

export const DEFAULT_BODY_LIMIT = 16 * 1024

export async function startOperatorServer(opts: OperatorServerOptions): Promise<OperatorServer> {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Request lines carry ?token= on webhooks: our own log lines name the route, never the URL.
    disableRequestLogging: true,
    // pino's Logger is fastify's logger (fastify's types only name a narrower interface for it).
    ...(opts.logger ? { loggerInstance: opts.logger.child({ component: 'serve' }) as FastifyBaseLogger } : {}),
    trustProxy: false,
  })
  const queue = new Queue<LoginJobData>(LOGIN_QUEUE, {
    connection: opts.redis,
    prefix: new FarmRedisKeys(opts.prefix).bullPrefix,
  })
  queue.on('error', () => undefined) // a command that fails surfaces in its route
  const metrics = new FarmMetrics(opts.redis, opts.prefix, queue)
  const context: OperatorContext = {
    redis: opts.redis,
    prefix: opts.prefix,
    queue,
    tokens: new TokenChecker(opts.tokens),
    logger: opts.logger,
    metrics,
  }
  const limit = new RequestRateLimit(opts.rateLimit ?? { perMinute: 120, burst: 30 })

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return
    const waitMs = limit.take(req.ip)
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)))
      throw new OperatorHttpError(429, 'rate-limited', `too many requests: try again in ${Math.ceil(waitMs / 1000)} s`)
    }
  })

  app.setErrorHandler((err: FastifyError | OperatorHttpError, req, reply) => {
    if (err instanceof OperatorHttpError)
      return reply.code(err.statusCode).send({ error: err.reason, message: err.message })
    // fastify's own refusals: a body too large, not JSON, an unsupported content type.
    const status =
      typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status < 500) {
      const reason =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'body-too-large'
          : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported-media-type'
            : err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
                err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
                err instanceof SyntaxError
              ? 'invalid-json'
              : 'bad-request'
      return reply.code(status).send({ error: reason, message: err.message })
    }
    opts.logger?.error({ err: { name: err.name, message: err.message }, route: req.routeOptions.url }, 'request failed')
    return reply.code(500).send({ error: 'internal', message: 'the request failed; see the server log' })
  })
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not-found', message: 'no such route' }))

  registerHealthRoutes(app, opts.redis, opts.prefix)
  registerCodeRoutes(app, {
    redis: opts.redis,
    prefix: opts.prefix,
    queue,
    tokens: context.tokens,
    logger: opts.logger,
    ...(opts.sealer ? { sealer: opts.sealer } : {}),
    onDelivery: (kind, status, via) => metrics.delivered(kind, status, via),
  })
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.render()))
  await registerDashboardRoutes(app, context)
  await opts.extend?.(app, context)

  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 })
  const url = address.replace('[::1]', 'localhost')
  return {
    app,
    url,
    context,
    close: async () => {
      await app.close()
      await queue.close()
    },
  }
}
