// A code provider for the local test DC: it receives the codes the test DC "sends" (the registry's onCode hook)
// and, like an SMS service would, delivers them through the code channel after a realistic delay. It also plays
// the owners who hand their 2FA password over when the farm asks (`password:requests`), and loses the SMS of the
// phones the seed says never get one.
import { duplicateRedis, type RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import type { AccountRegistry, CodeDelivery } from '../testdc/accounts/index.ts'
import {
  CodeChannelNames,
  CodeProviderClient,
  type CodeRequestMessage,
  type PasswordRequestMessage,
} from '../queue/code-channel.ts'
import { maskPhone } from '../foundation/logger.ts'
import type { TestDcSeed } from './testdc-seed.ts'
import type { Sealer } from '../foundation/sealed-value.ts'

export interface SimulatedProviderOptions {
  /** Command connection owned by the caller (a subscriber is made from it). */
  readonly redis: RedisClient
  readonly prefix: string
  /** Delivery delay range in ms (default 50–800). */
  readonly delayMs?: readonly [number, number]
  readonly seed?: Pick<TestDcSeed, 'providerPasswords' | 'droppedCodes'>
  readonly logger?: Logger
  /** Seals the codes and passwords it delivers (the farm's keyring). */
  readonly sealer?: Sealer
  /** Every code the test DC sends, and what became of it (`gramfarm testdc` prints them). */
  readonly onCode?: (delivery: CodeDelivery, outcome: 'delivered' | 'dropped' | 'ignored') => void
}

export interface ProviderStats {
  codesDelivered: number
  /** Codes delivered again because the farm asked again after a failover of its Redis. */
  codesRedelivered: number
  codesDropped: number
  passwordsDelivered: number
}

export class SimulatedCodeProvider {
  readonly stats: ProviderStats = { codesDelivered: 0, codesRedelivered: 0, codesDropped: 0, passwordsDelivered: 0 }
  private readonly client: CodeProviderClient
  private readonly names: CodeChannelNames
  private readonly timers = new Set<NodeJS.Timeout>()
  private subscriber: RedisClient | null = null
  private stopped = false
  /** The last code each phone was sent, read again when the farm asks again after a failover of its Redis. */
  private readonly lastCodes = new Map<string, string>()

  constructor(private readonly opts: SimulatedProviderOptions) {
    this.client = new CodeProviderClient({
      redis: opts.redis,
      prefix: opts.prefix,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.sealer ? { sealer: opts.sealer } : {}),
    })
    this.names = new CodeChannelNames(opts.prefix)
  }

  private delay(): number {
    const [min, max] = this.opts.delayMs ?? [50, 800]
    return Math.round(min + Math.random() * Math.max(0, max - min))
  }

  private later(fn: () => Promise<unknown>): void {
    if (this.stopped) return
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn().catch((err: unknown) =>
        this.opts.logger?.warn({ err: { message: (err as Error).message } }, 'simulated provider could not deliver'),
      )
    }, this.delay())
    this.timers.add(t)
  }

  /** Receive the codes `accounts` sends. */
  attach(accounts: AccountRegistry): void {
    accounts.onCode = (d) => this.onCode(d)
  }

  onCode(d: CodeDelivery): void {
    if (d.type === 'email' || this.stopped) {
      this.opts.onCode?.(d, 'ignored')
      return
    }
    if (this.opts.seed?.droppedCodes.has(d.phone)) {
      this.stats.codesDropped++
      this.opts.onCode?.(d, 'dropped')
      return
    }
    this.opts.onCode?.(d, 'delivered')
    this.lastCodes.set(d.phone, d.code)
    this.later(async () => {
      const r = await this.client.deliverCode({ phone: d.phone, code: d.code })
      this.stats.codesDelivered++
      this.opts.logger?.debug({ phone: maskPhone(d.phone), status: r.status }, 'simulated provider delivered a code')
    })
  }

  /** Starts answering password requests, and code requests asked again after a failover of the farm's Redis. */
  async start(): Promise<void> {
    const passwords = this.opts.seed?.providerPasswords ?? new Map<string, string>()
    const sub = duplicateRedis(this.opts.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true })
    sub.on('error', () => undefined)
    this.subscriber = sub
    sub.on('message', (channel: string, json: string) => {
      let req: Partial<PasswordRequestMessage & CodeRequestMessage>
      try {
        req = JSON.parse(json) as Partial<PasswordRequestMessage & CodeRequestMessage>
      } catch {
        return
      }
      if (typeof req.phone !== 'string') return
      const phone = req.phone
      if (channel === this.names.requestsChannel) {
        // The SMS is still on the phone: read it again and deliver it for the attempt asked about.
        const code = req.reissued === true ? this.lastCodes.get(phone) : undefined
        if (code === undefined || typeof req.attempt !== 'string') return
        const attempt = req.attempt
        this.later(async () => {
          await this.client.deliverCode({ phone, code, attempt })
          this.stats.codesRedelivered++
        })
        return
      }
      const password = passwords.get(phone)
      if (password === undefined) return
      this.later(async () => {
        await this.client.deliverPassword({ phone, password })
        this.stats.passwordsDelivered++
      })
    })
    await sub.subscribe(this.names.passwordRequestsChannel, this.names.requestsChannel)
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    const sub = this.subscriber
    this.subscriber = null
    if (sub) await sub.quit().catch(() => sub.disconnect())
  }
}
