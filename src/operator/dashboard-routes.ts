// The dashboard (`/`, polled `/dashboard.json`) and the queue internals through bull-board: read-only at
// `/queues` for anyone who can reach the server, and with its job actions (retry, remove, promote) at
// `/queues/admin` for an admin only — the token given once as `?token=` is kept in an HttpOnly cookie scoped to
// that path, since bull-board's page makes its own API calls and cannot send a bearer header.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { bearerOf } from './bearer-tokens.ts'
import { dashboardData } from './dashboard-data.ts'
import { dashboardPage } from './dashboard-page.ts'
import type { OperatorContext } from './operator-context.ts'

function isAdmin(ctx: OperatorContext, req: FastifyRequest): boolean {
  return ctx.tokens.allows('admin', bearerOf(req.headers.authorization))
}

const ADMIN_COOKIE = 'gramfarm_admin'
const ADMIN_BOARD = '/queues/admin'

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === ADMIN_COOKIE) return decodeURIComponent(v.join('='))
  }
  return undefined
}

export async function registerDashboardRoutes(app: FastifyInstance, ctx: OperatorContext): Promise<void> {
  const page = dashboardPage(ctx.prefix)
  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page),
  )
  app.get('/dashboard.json', async (req, reply) => {
    const data = await dashboardData(ctx.redis, ctx.prefix, ctx.queue, isAdmin(ctx, req))
    return reply.header('cache-control', 'no-store').send(data)
  })

  // The admin board first: its prefix is inside the read-only one's.
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      const query = req.query as Record<string, unknown> | undefined
      const given = typeof query?.token === 'string' ? query.token : undefined
      const token = given ?? bearerOf(req.headers.authorization) ?? cookieToken(req.headers.cookie)
      if (!ctx.tokens.allows('admin', token)) {
        return reply.code(401).send({
          error: 'unauthorized',
          message: 'the queue actions need an admin token (open /queues/admin?token=<admin token>)',
        })
      }
      if (given !== undefined) {
        reply.header(
          'set-cookie',
          `${ADMIN_COOKIE}=${encodeURIComponent(given)}; Path=${ADMIN_BOARD}; HttpOnly; SameSite=Strict`,
        )
      }
      return undefined
    })
    const admin = new FastifyAdapter()
    admin.setBasePath(ADMIN_BOARD)
    createBullBoard({ queues: [new BullMQAdapter(ctx.queue, { readOnlyMode: false })], serverAdapter: admin })
    await scope.register(admin.registerPlugin(), { prefix: ADMIN_BOARD })
  })

  const board = new FastifyAdapter()
  board.setBasePath('/queues')
  createBullBoard({ queues: [new BullMQAdapter(ctx.queue, { readOnlyMode: true })], serverAdapter: board })
  await app.register(board.registerPlugin(), { prefix: '/queues' })
}
