// The dashboard (`/`, polled `/dashboard.json`) and the queue internals through bull-board at `/queues`
// (read-only: retrying, removing or promoting jobs by hand would race the workers' own bookkeeping).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { bearerOf } from './bearer-tokens.ts'
import { dashboardData } from './dashboard-data.ts'
import { dashboardPage } from './dashboard-page.ts'
import type { OperatorContext } from './operator-server.ts'

function isAdmin(ctx: OperatorContext, req: FastifyRequest): boolean {
  return ctx.tokens.allows('admin', bearerOf(req.headers.authorization))
}

export async function registerDashboardRoutes(app: FastifyInstance, ctx: OperatorContext): Promise<void> {
  const page = dashboardPage(ctx.prefix)
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page))
  app.get('/dashboard.json', async (req, reply) => {
    const data = await dashboardData(ctx.redis, ctx.prefix, ctx.queue, isAdmin(ctx, req))
    return reply.header('cache-control', 'no-store').send(data)
  })

  const board = new FastifyAdapter()
  board.setBasePath('/queues')
  createBullBoard({ queues: [new BullMQAdapter(ctx.queue, { readOnlyMode: true })], serverAdapter: board })
  await app.register(board.registerPlugin(), { prefix: '/queues' })
}
