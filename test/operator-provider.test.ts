// `gramfarm provider handler-api` (issue 12): against a local fake of a handler_api vendor (port 0), numbers are
// rented and recorded in Redis, the SMS codes the test DC "sends" to them reach the vendor and come to the farm
// only through the bridge's polling, the logins complete, and each activation is settled once its login ended:
// completed when authorized, cancelled (refund) when the login gave up (a banned number).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { startHandlerApiService } from '../src/operator/handler-api-service.ts'
import { CLI, REDIS_URL, sink, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

const API_KEY = 'vendor-key-0123456789'
const GOOD = ['9996621601', '9996631602']
const BANNED = '9996621603'

/** The vendor's side of the protocol, enough for rent → ready → SMS → complete/cancel. */
class FakeVendor {
  readonly activations = new Map<string, { phone: string; code: string | null; statuses: number[] }>()
  pool: string[] = []
  maxPrices: string[] = []
  private nextId = 500

  smsTo(phone: string, code: string): void {
    for (const a of this.activations.values()) if (a.phone === phone) a.code = code
  }

  handle(q: URLSearchParams): string {
    if (q.get('api_key') !== API_KEY) return 'BAD_KEY'
    const a = this.activations.get(q.get('id') ?? '')
    switch (q.get('action')) {
      case 'getNumber': {
        this.maxPrices.push(q.get('maxPrice') ?? '')
        const phone = this.pool.shift()
        if (!phone) return 'NO_NUMBERS'
        const id = String(this.nextId++)
        this.activations.set(id, { phone, code: null, statuses: [] })
        return `ACCESS_NUMBER:${id}:${phone}`
      }
      case 'getStatus':
        if (!a) return 'NO_ACTIVATION'
        return a.code !== null ? `STATUS_OK:${a.code}` : 'STATUS_WAIT_CODE'
      case 'setStatus': {
        if (!a) return 'NO_ACTIVATION'
        const st = Number(q.get('status'))
        a.statuses.push(st)
        return (
          (
            { 1: 'ACCESS_READY', 3: 'ACCESS_RETRY_GET', 6: 'ACCESS_ACTIVATION', 8: 'ACCESS_CANCEL' } as Record<
              number,
              string
            >
          )[st] ?? 'BAD_STATUS'
        )
      }
      default:
        return 'BAD_ACTION'
    }
  }
}

let farm: Farm
let vendorServer: Server
let baseUrl: string
const vendor = new FakeVendor()

before(async () => {
  farm = await startFarm({ tag: 'operator-provider', seed: { users: [{ phone: BANNED, banned: true }] } })
  // The SMS goes to the vendor (as Telegram's would), not into the farm: only the bridge brings it over.
  farm.testDc.accounts.onCode = (d) => vendor.smsTo(d.phone, d.code)
  vendorServer = createServer((req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(vendor.handle(new URL(req.url ?? '/', 'http://x').searchParams))
  })
  await new Promise<void>((r) => vendorServer.listen(0, '127.0.0.1', r))
  baseUrl = `http://127.0.0.1:${(vendorServer.address() as { port: number }).port}`
})

after(async () => {
  await new Promise<void>((r) => vendorServer.close(() => r()))
  await farm.stop()
})

describe('gramfarm provider handler-api', () => {
  it(
    'rents numbers, brings their SMS codes to the logins, completes the authorized and refunds the rest',
    { timeout: 150_000 },
    async () => {
      vendor.pool = [...GOOD, BANNED]
      const service = startHandlerApiService({
        redis: farm.redis,
        prefix: farm.prefix,
        baseUrl,
        apiKey: API_KEY,
        country: 0,
        maxPrice: 12.5,
        pollIntervalMs: 100,
        blockMs: 500,
        settleEveryMs: 60_000,
      })
      const worker = await farm.startWorker()
      try {
        const phones = await service.rent(3)
        assert.deepEqual(phones, [...GOOD, BANNED])
        assert.deepEqual(vendor.maxPrices, ['12.5', '12.5', '12.5'])
        const keys = new FarmRedisKeys(farm.prefix)
        assert.equal(
          await farm.redis.hget(keys.smsActivations, '500'),
          GOOD[0],
          'the webhook route can map the activation',
        )
        const result = await runOnboarding(
          farm.redis,
          farm.prefix,
          parseAccounts(`${phones.join('\n')}\n`, { format: 'phones' }),
          {
            timeoutMs: 120_000,
            progress: false,
            stdout: sink(),
            stderr: sink(),
          },
        )
        assert.deepEqual(
          result.outcome.results.map((r) => r.state),
          ['authorized', 'authorized', 'banned'],
        )
        assert.deepEqual(await service.settle(), { completed: 2, cancelled: 1 })
        const statuses = [...vendor.activations.values()].map((a) => [a.phone, a.statuses.at(-1)])
        assert.deepEqual(statuses, [
          [GOOD[0], 6],
          [GOOD[1], 6],
          [BANNED, 8],
        ])
        assert.equal(await farm.redis.hlen(keys.smsPhones), 0, 'settled activations are forgotten')
      } finally {
        await service.stop()
        await worker.close()
      }
    },
  )

  it(
    'runs as a command: key from the environment, rented phones on stdout, stops on SIGTERM',
    { timeout: 60_000 },
    async () => {
      vendor.pool = ['9996621699']
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          CLI,
          '--redis-url',
          REDIS_URL,
          '--prefix',
          farm.prefix,
          'provider',
          'handler-api',
          '--base-url',
          baseUrl,
          '--rent',
          '1',
        ],
        {
          env: { ...process.env, GRAMFARM_SMS_API_KEY: API_KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let out = ''
      let err = ''
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      await waitFor('provider ready', () => err.includes('provider ready'), 30_000, 100)
      assert.equal(out, '9996621699\n')
      assert.ok(!err.includes(API_KEY), 'the key is not logged')
      child.kill('SIGTERM')
      assert.equal(await exited, 0, err)
    },
  )
})
