// What every route of the operator's server shares: its own module, so route modules and the server that
// registers them do not import each other.
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import type { LoginJobData } from '../queue/login-job.ts'
import type { TokenChecker } from './bearer-tokens.ts'
import type { FarmMetrics } from './farm-metrics.ts'

export interface OperatorContext {
  readonly redis: RedisClient
  readonly prefix: string
  readonly queue: Queue<LoginJobData>
  readonly tokens: TokenChecker
  readonly logger: Logger | undefined
  readonly metrics: FarmMetrics
}
