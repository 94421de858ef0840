// The farm benches' code provider: it answers every code request of a farm at once with the test number's code
// (through the farm's own provider API), or holds the requests while told to, and notes when each phone's code was
// asked for and when it was published (the start of code → session).
import { CodeChannelNames, CodeProviderClient, type CodeRequestMessage } from '../../src/queue/code-channel.ts'
import { duplicateRedis, type RedisClient } from '../../src/queue/redis-connection.ts'

export class BenchCodeProvider {
  /** When each phone's code was last published (Date.now()). */
  readonly publishedAt = new Map<string, number>()
  /** When each phone's code was last asked for. */
  readonly requestedAt = new Map<string, number>()
  /** Requests that came while `holding`, in arrival order, for the bench to deliver when it wants. */
  readonly held: CodeRequestMessage[] = []
  /** While true, requests are kept in `held` instead of being answered. */
  holding = false

  private constructor(
    private readonly client: CodeProviderClient,
    private readonly subscriber: RedisClient,
    private readonly codeOf: (phone: string) => string,
  ) {}

  /** Subscribes to the farm's code requests under `prefix`; answers them from then on. */
  static async start(opts: {
    redis: RedisClient
    prefix: string
    codeOf: (phone: string) => string
  }): Promise<BenchCodeProvider> {
    const subscriber = duplicateRedis(opts.redis, { maxRetriesPerRequest: null })
    const provider = new BenchCodeProvider(
      new CodeProviderClient({ redis: opts.redis, prefix: opts.prefix }),
      subscriber,
      opts.codeOf,
    )
    subscriber.on('message', (_channel: string, json: string) => {
      const req = JSON.parse(json) as CodeRequestMessage
      provider.requestedAt.set(req.phone, Date.now())
      if (provider.holding) provider.held.push(req)
      else void provider.deliver(req)
    })
    await subscriber.subscribe(new CodeChannelNames(opts.prefix).requestsChannel)
    return provider
  }

  /** Publishes the code `req` asks for. */
  async deliver(req: CodeRequestMessage): Promise<void> {
    this.publishedAt.set(req.phone, Date.now())
    await this.client.deliverCode({ phone: req.phone, code: this.codeOf(req.phone), attempt: req.attempt })
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect())
  }
}
