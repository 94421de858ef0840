// Simulated second devices for QR logins: accounts already logged in with a gramfarm Client (as a phone would be)
// that "scan" the QR codes the farm shows — the URLs the worker publishes on `<prefix>qr` and keeps at
// `<prefix>qr:<jobId>` — by calling auth.acceptLoginToken. Each QR job is scanned by its own device, once.
import { duplicateRedis, type RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import { Client } from '../auth/client.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { keysUnderPattern, scanKeys } from '../queue/redis-scan.ts'
import { clientOptionsFor, type TestDcEndpoint } from '../testdc/testdc-endpoint.ts'

export interface QrDeviceOwner {
  readonly phone: string
  readonly code: string
  readonly password?: string
}

export interface QrScanDevicesOptions {
  /** Command connection owned by the caller (a subscriber is made from it). */
  readonly redis: RedisClient
  readonly prefix: string
  readonly endpoint: TestDcEndpoint
  readonly owners: readonly QrDeviceOwner[]
  readonly apiId?: number
  readonly apiHash?: string
  /** Seconds between seeing a QR and scanning it (default 0.2–0.6 s: a person holding up a phone). */
  readonly delayMs?: readonly [number, number]
  readonly logger?: Logger
}

interface Device {
  readonly client: Client
  readonly userId: bigint
  jobId: string | null
}

/** The token inside `tg://login?token=<base64url>`. */
export function loginTokenOf(url: string): Uint8Array | null {
  const m = /^tg:\/\/login\?token=([A-Za-z0-9_-]+)$/.exec(url)
  return m ? Buffer.from(m[1]!, 'base64url') : null
}

export class QrScanDevices {
  /** QR job id → the user id that scanned it. */
  readonly accepted = new Map<string, bigint>()
  private readonly devices: Device[]
  private subscriber: RedisClient | null = null
  private poll: NodeJS.Timeout | undefined
  private readonly busy = new Set<string>()
  private readonly triedUrls = new Set<string>()
  private stopped = false

  private constructor(
    private readonly opts: QrScanDevicesOptions,
    devices: Device[],
  ) {
    this.devices = devices
  }

  /** Logs every owner in (phone + code [+ password]) and starts watching for QR codes. */
  static async start(opts: QrScanDevicesOptions): Promise<QrScanDevices> {
    const network = clientOptionsFor(opts.endpoint)
    const devices = await Promise.all(
      opts.owners.map(async (o, i) => {
        const client = new Client(`qr-device-${i + 1}`, {
          apiId: opts.apiId ?? 2040,
          apiHash: opts.apiHash ?? '0123456789abcdef0123456789abcdef',
          inMemory: true,
          phoneNumber: o.phone,
          phoneCode: o.code,
          ...(o.password !== undefined ? { password: o.password } : {}),
          deviceModel: 'Pixel 8',
          systemVersion: 'Android 14',
          appVersion: '11.0.0',
          ...network,
        })
        await client.start()
        const me = await client.getMe()
        return { client, userId: me.id, jobId: null } satisfies Device
      }),
    )
    const self = new QrScanDevices(opts, devices)
    await self.watch()
    return self
  }

  get userIds(): bigint[] {
    return this.devices.map((d) => d.userId)
  }

  private async watch(): Promise<void> {
    const sub = duplicateRedis(this.opts.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true })
    sub.on('error', () => undefined)
    this.subscriber = sub
    sub.on('message', (_channel: string, json: string) => {
      try {
        const m = JSON.parse(json) as { jobId?: unknown; url?: unknown }
        if (typeof m.jobId === 'string' && typeof m.url === 'string') this.seen(m.jobId, m.url)
      } catch {
        // not ours
      }
    })
    await sub.subscribe(new FarmRedisKeys(this.opts.prefix).qrChannel)
    // A QR published before we subscribed (or while disconnected) is still in its key.
    this.poll = setInterval(() => void this.scanKeys().catch(() => undefined), 500)
    await this.scanKeys()
  }

  private async scanKeys(): Promise<void> {
    const base = new FarmRedisKeys(this.opts.prefix).qrPrefix
    for await (const keys of scanKeys(this.opts.redis, `${keysUnderPattern(base).slice(0, -1)}qr-*`, 500)) {
      for (const key of keys) {
        const url = await this.opts.redis.hget(key, 'url')
        if (url) this.seen(key.slice(base.length), url)
      }
      if (this.stopped) return
    }
  }

  private seen(jobId: string, url: string): void {
    if (this.stopped || this.accepted.has(jobId) || this.busy.has(jobId) || this.triedUrls.has(url)) return
    let device = this.devices.find((d) => d.jobId === jobId)
    if (!device) {
      device = this.devices.find((d) => d.jobId === null)
      if (!device) return // more QR jobs than devices: the rest wait for a person
      device.jobId = jobId
    }
    const token = loginTokenOf(url)
    if (!token) return
    this.triedUrls.add(url)
    this.busy.add(jobId)
    const [min, max] = this.opts.delayMs ?? [200, 600]
    const d = device
    setTimeout(
      () => {
        if (this.stopped) {
          this.busy.delete(jobId)
          return
        }
        d.client
          .invoke({ _: 'auth.acceptLoginToken', token })
          .then(
            () => {
              this.accepted.set(jobId, d.userId)
              this.opts.logger?.info({ jobId, userId: d.userId.toString() }, 'QR code scanned by a simulated device')
            },
            (err: unknown) =>
              this.opts.logger?.debug(
                { jobId, err: { message: (err as Error).message } },
                'QR scan refused; waiting for the next code',
              ),
          )
          .finally(() => this.busy.delete(jobId))
      },
      Math.round(min + Math.random() * Math.max(0, max - min)),
    )
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.poll)
    const sub = this.subscriber
    this.subscriber = null
    if (sub) await sub.quit().catch(() => sub.disconnect())
    await Promise.all(this.devices.map((d) => d.client.stop().catch(() => undefined)))
  }
}
