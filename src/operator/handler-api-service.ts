// `gramfarm provider handler-api`: the bundled handler_api bridge as a long-lived service. It rents numbers when
// asked (recording activation ↔ phone in Redis, so the webhook route and any later process find them), answers
// the farm's code requests for them by polling the vendor, and settles each activation once its login has ended:
// completed when the account was authorized, cancelled (refunded) when the login gave up.
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import { maskPhone } from '../foundation/logger.ts'
import { CodeProviderClient } from '../queue/code-channel.ts'
import {
  HandlerApiProvider,
  runHandlerApiBridge,
  type HandlerApiBridge,
} from '../queue/providers/handler-api-provider.ts'
import type { LoginResult } from '../queue/login-job.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'

export interface HandlerApiServiceOptions {
  readonly redis: RedisClient
  readonly prefix: string
  readonly baseUrl: string
  readonly apiKey: string
  readonly service?: string
  readonly country: number
  readonly maxPrice?: number
  readonly logger?: Logger
  /** How often ended logins are looked for (default 5 s). */
  readonly settleEveryMs?: number
  /** Vendor polling interval (default the bridge's, 5 s). */
  readonly pollIntervalMs?: number
  readonly blockMs?: number
}

/** How many recent runs' results are searched for an activation's login. */
const RUNS_SEARCHED = 20

export interface HandlerApiService {
  readonly provider: HandlerApiProvider
  /** Rents `count` numbers; returns their phones (E.164 digits). */
  rent(count: number): Promise<string[]>
  /** Looks once for ended logins and settles their activations (complete or cancel); returns how many. */
  settle(): Promise<{ completed: number; cancelled: number }>
  stop(): Promise<void>
}

export function startHandlerApiService(opts: HandlerApiServiceOptions): HandlerApiService {
  const keys = new FarmRedisKeys(opts.prefix)
  const phones = keys.smsPhones
  const provider = new HandlerApiProvider({
    baseUrl: opts.baseUrl,
    apiKey: opts.apiKey,
    ...(opts.service ? { service: opts.service } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  })
  const channel = new CodeProviderClient({
    redis: opts.redis,
    prefix: opts.prefix,
    ...(opts.logger ? { logger: opts.logger } : {}),
  })
  const bridge: HandlerApiBridge = runHandlerApiBridge({
    provider,
    channel,
    activationFor: async (phone) => (await opts.redis.hget(phones, phone)) ?? undefined,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
    ...(opts.blockMs !== undefined ? { blockMs: opts.blockMs } : {}),
  })

  const settle = async (): Promise<{ completed: number; cancelled: number }> => {
    const open = await opts.redis.hgetall(phones)
    const entries = Object.entries(open)
    if (entries.length === 0) return { completed: 0, cancelled: 0 }
    const runs = await opts.redis.zrevrange(keys.runs, 0, RUNS_SEARCHED - 1)
    let completed = 0
    let cancelled = 0
    for (const [phone, activationId] of entries) {
      let result: LoginResult | null = null
      for (const run of runs) {
        const json = await opts.redis.hget(keys.results(run), phone)
        if (json !== null) {
          result = JSON.parse(json) as LoginResult
          break
        }
      }
      if (result === null) continue // not ended (or not enqueued yet)
      const ok = result.state === 'authorized' || result.state === 'duplicate'
      try {
        if (ok) await provider.complete(activationId)
        else await provider.cancel(activationId)
      } catch (err) {
        opts.logger?.warn({ err, activationId, phone: maskPhone(phone) }, 'could not settle the activation; will retry')
        continue
      }
      await opts.redis.multi().hdel(phones, phone).hdel(keys.smsActivations, activationId).exec()
      if (ok) completed++
      else cancelled++
      opts.logger?.info(
        { activationId, phone: maskPhone(phone), state: result.state, action: ok ? 'complete' : 'cancel' },
        'activation settled',
      )
    }
    return { completed, cancelled }
  }

  let settling: Promise<unknown> = Promise.resolve()
  const timer = setInterval(() => {
    settling = settle().catch((err: unknown) => opts.logger?.warn({ err }, 'settling activations failed'))
  }, opts.settleEveryMs ?? 5_000)

  return {
    provider,
    async rent(count) {
      const out: string[] = []
      for (let i = 0; i < count; i++) {
        const r = await provider.getNumber(opts.country, undefined, opts.maxPrice)
        await opts.redis
          .multi()
          .hset(phones, r.phone, r.activationId)
          .hset(keys.smsActivations, r.activationId, r.phone)
          .exec()
        out.push(r.phone)
      }
      return out
    },
    settle,
    async stop() {
      clearInterval(timer)
      await settling
      await bridge.stop()
    },
  }
}
