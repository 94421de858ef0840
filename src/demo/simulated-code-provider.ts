// A code provider for the local test DC: it receives the codes the test DC "sends" (the registry's onCode hook)
// and, like an SMS service would, delivers them through the code channel after a realistic delay. It also plays
// the owners who hand their 2FA password over when the farm asks (`password:requests`), and loses the SMS of the
// phones the seed says never get one.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { AccountRegistry, CodeDelivery } from '../testdc/accounts/index.ts'
import { CodeChannelNames, CodeProviderClient, type PasswordRequestMessage } from '../queue/code-channel.ts'
import { maskPhone } from '../foundation/logger.ts'
import type { TestDcSeed } from './testdc-seed.ts'
import type { Sealer } from '../foundation/sealed-value.ts'

export interface SimulatedProviderOptions {
  /** Command connection owned by the caller (a subscriber is made from it). */
  readonly redis: Redis
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
  codesDropped: number
  passwordsDelivered: number
}

export class SimulatedCodeProvider {
  readonly stats: ProviderStats = { codesDelivered: 0, codesDropped: 0, passwordsDelivered: 0 }
  private readonly client: CodeProviderClient
  private readonly names: CodeChannelNames
  private readonly timers = new Set<NodeJS.Timeout>()
  private subscriber: Redis | null = null
  private stopped = false

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
    this.later(async () => {
      const r = await this.client.deliverCode({ phone: d.phone, code: d.code })
      this.stats.codesDelivered++
      this.opts.logger?.debug({ phone: maskPhone(d.phone), status: r.status }, 'simulated provider delivered a code')
    })
  }

  /** Starts answering password requests. */
  async start(): Promise<void> {
    const passwords = this.opts.seed?.providerPasswords
    if (!passwords || passwords.size === 0) return
    const sub = this.opts.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true })
    sub.on('error', () => undefined)
    this.subscriber = sub
    sub.on('message', (_channel: string, json: string) => {
      let req: Partial<PasswordRequestMessage>
      try {
        req = JSON.parse(json) as Partial<PasswordRequestMessage>
      } catch {
        return
      }
      const password = typeof req.phone === 'string' ? passwords.get(req.phone) : undefined
      if (password === undefined) return
      this.later(async () => {
        await this.client.deliverPassword({ phone: req.phone!, password })
        this.stats.passwordsDelivered++
      })
    })
    await sub.subscribe(this.names.passwordRequestsChannel)
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
