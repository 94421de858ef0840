// The handler_api SMS-activation adapter against a local HTTP server (port 0) that speaks the protocol, and its
// bridge end to end into the code channel on the real Redis (unique prefix, cleaned up afterwards).
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { CodeInbox, CodeProviderClient } from '../src/queue/code-channel.ts'
import {
  HandlerApiProvider,
  SmsProviderError,
  runHandlerApiBridge,
} from '../src/queue/providers/handler-api-provider.ts'
import { createLogger } from '../src/foundation/logger.ts'

const API_KEY = `key-${randomBytes(12).toString('hex')}`
const prefix = `{gramfarm-test:${process.pid}:${randomBytes(4).toString('hex')}}:`

interface FakeActivation {
  phone: string
  state: 'new' | 'ready' | 'retry' | 'cancelled' | 'done'
  code: string | null // the SMS waiting to be read
  last: string | null // the code before a retry
  statuses: number[]
}

/** A vendor: a number pool, activations, and knobs for failures. */
class FakeVendor {
  readonly activations = new Map<string, FakeActivation>()
  pool: string[] = []
  balance = true
  /** Answers to give before the real one, e.g. ['HTTP500', 'ERROR_SQL']. */
  glitches: string[] = []
  hang = false
  requests = 0
  private nextId = 1000

  sms(id: string, code: string): void {
    const a = this.activations.get(id)
    assert.ok(a)
    a.code = code
  }

  handle(q: URLSearchParams): { status: number; body: string } {
    this.requests++
    if (q.get('api_key') !== API_KEY) return { status: 200, body: 'BAD_KEY' }
    const glitch = this.glitches.shift()
    if (glitch === 'HTTP500') return { status: 500, body: 'Internal Server Error' }
    if (glitch !== undefined) return { status: 200, body: glitch }
    switch (q.get('action')) {
      case 'getNumber': {
        if (q.get('service') !== 'tg') return { status: 200, body: 'BAD_SERVICE' }
        if (!this.balance) return { status: 200, body: 'NO_BALANCE' }
        const phone = this.pool.shift()
        if (phone === undefined) return { status: 200, body: 'NO_NUMBERS' }
        const id = String(this.nextId++)
        this.activations.set(id, { phone, state: 'new', code: null, last: null, statuses: [] })
        return { status: 200, body: `ACCESS_NUMBER:${id}:${phone}` }
      }
      case 'getStatus': {
        const a = this.activations.get(q.get('id') ?? '')
        if (a === undefined) return { status: 200, body: 'NO_ACTIVATION' }
        if (a.state === 'cancelled') return { status: 200, body: 'STATUS_CANCEL' }
        if (a.code !== null) return { status: 200, body: `STATUS_OK:${a.code}` }
        if (a.state === 'retry') return { status: 200, body: `STATUS_WAIT_RETRY:${a.last ?? ''}` }
        return { status: 200, body: 'STATUS_WAIT_CODE' }
      }
      case 'setStatus': {
        const a = this.activations.get(q.get('id') ?? '')
        if (a === undefined) return { status: 200, body: 'NO_ACTIVATION' }
        const st = Number(q.get('status'))
        a.statuses.push(st)
        if (st === 1) return { status: 200, body: ((a.state = 'ready'), 'ACCESS_READY') }
        if (st === 3) {
          a.last = a.code
          a.code = null
          a.state = 'retry'
          return { status: 200, body: 'ACCESS_RETRY_GET' }
        }
        if (st === 6) return { status: 200, body: ((a.state = 'done'), 'ACCESS_ACTIVATION') }
        if (st === 8) return { status: 200, body: ((a.state = 'cancelled'), 'ACCESS_CANCEL') }
        return { status: 200, body: 'BAD_STATUS' }
      }
      default:
        return { status: 200, body: 'BAD_ACTION' }
    }
  }
}

const vendor = new FakeVendor()
let server: Server
let baseUrl: string
let redis: Redis
let logged = ''
const logger = createLogger({
  level: 'trace',
  destination: new Writable({
    write(chunk: Buffer, _e, cb) {
      logged += chunk.toString()
      cb()
    },
  }),
})

const provider = (extra: Partial<ConstructorParameters<typeof HandlerApiProvider>[0]> = {}): HandlerApiProvider =>
  new HandlerApiProvider({ baseUrl, apiKey: API_KEY, requestTimeoutMs: 2000, logger, ...extra })

function isSmsError(word: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof SmsProviderError, `expected SmsProviderError, got ${String(err)}`)
    assert.equal(err.word, word)
    assert.ok(!err.message.includes(API_KEY) && !String(err.stack).includes(API_KEY), 'api_key leaked')
    return true
  }
}

before(async () => {
  server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams
    if (!req.url?.startsWith('/stubs/handler_api.php')) {
      res.writeHead(404).end()
      return
    }
    if (vendor.hang) return // never answers
    const { status, body } = vendor.handle(q)
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
})

after(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
  assert.ok(!logged.includes(API_KEY), 'the api_key reached the log')
})

describe('HandlerApiProvider', () => {
  it('rents a number and remembers it', async () => {
    vendor.pool.push('99966300001')
    const p = provider()
    const rented = await p.getNumber(0)
    assert.equal(rented.phone, '99966300001')
    assert.match(rented.activationId, /^\d+$/)
    assert.equal(p.rentals.get('99966300001'), rented.activationId)
  })

  it('turns protocol error words into SmsProviderError without the api_key', async () => {
    await assert.rejects(provider().getNumber(0), isSmsError('NO_NUMBERS'))
    const noNumbers = await provider()
      .getNumber(0)
      .catch((e: unknown) => e)
    assert.ok(noNumbers instanceof SmsProviderError && noNumbers.retryable)
    vendor.balance = false
    vendor.pool.push('99966300002')
    await assert.rejects(provider().getNumber(0), isSmsError('NO_BALANCE'))
    vendor.balance = true
    vendor.pool.length = 0
    const bad = new HandlerApiProvider({ baseUrl, apiKey: `${API_KEY}-wrong` })
    const err = await bad.getNumber(0).catch((e: unknown) => e)
    assert.ok(err instanceof SmsProviderError && err.word === 'BAD_KEY' && !err.retryable)
    assert.ok(!err.message.includes('-wrong'))
    await assert.rejects(provider({ service: 'xx' }).getNumber(0), isSmsError('BAD_SERVICE'))
    await assert.rejects(provider().getStatus('nope'), isSmsError('NO_ACTIVATION'))
    vendor.glitches.push('BANNED:2026-01-01 10-00-00')
    await assert.rejects(provider().getNumber(0), isSmsError('BANNED'))
    vendor.glitches.push('<html>gateway</html>')
    await assert.rejects(provider().getNumber(0), isSmsError('UNEXPECTED_RESPONSE'))
    vendor.glitches.push('HTTP500')
    await assert.rejects(provider().getNumber(0), isSmsError('HTTP_ERROR'))
  })

  it('times out a hanging request and reports a refused connection, never quoting the URL', async () => {
    vendor.hang = true
    try {
      await assert.rejects(provider({ requestTimeoutMs: 150 }).getNumber(0), isSmsError('REQUEST_TIMEOUT'))
    } finally {
      vendor.hang = false
    }
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    await assert.rejects(
      new HandlerApiProvider({ baseUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY }).getNumber(0),
      isSmsError('NETWORK_ERROR'),
    )
  })

  it('polls through WAIT states and transient failures to the code', async () => {
    vendor.pool.push('99966300003')
    const p = provider()
    const { activationId } = await p.getNumber(1)
    await p.markReady(activationId)
    vendor.glitches.push('HTTP500', 'ERROR_SQL')
    setTimeout(() => vendor.sms(activationId, '73519'), 150)
    const before = vendor.requests
    assert.equal(await p.pollCode(activationId, { intervalMs: 20, timeoutMs: 3000 }), '73519')
    assert.ok(vendor.requests - before >= 4, 'polled through the glitches and the waits')
    // another SMS: WAIT_RETRY:<last> (and a repeat of the last code) is not a new code
    await p.requestAnotherSms(activationId)
    const polling = p.pollCode(activationId, { intervalMs: 20, timeoutMs: 3000, ignoreCode: '73519' })
    setTimeout(() => vendor.sms(activationId, '73519'), 60) // the vendor re-reports the old SMS
    setTimeout(() => vendor.sms(activationId, '88442'), 200)
    assert.equal(await polling, '88442')
    await p.complete(activationId)
    assert.deepEqual(vendor.activations.get(activationId)?.statuses, [1, 3, 6])
    assert.equal(p.rentals.has('99966300003'), false)
  })

  it('ends a poll on timeout, on cancel, on abort, and on a non-retryable word', async () => {
    vendor.pool.push('99966300004', '99966300005')
    const p = provider()
    const a = await p.getNumber(1)
    await assert.rejects(p.pollCode(a.activationId, { intervalMs: 20, timeoutMs: 100 }), isSmsError('CODE_TIMEOUT'))
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    await assert.rejects(
      p.pollCode(a.activationId, { intervalMs: 20, timeoutMs: 5000, signal: ac.signal }),
      (e: unknown) => e instanceof Error && e.name === 'AbortError',
    )
    await p.cancel(a.activationId)
    await assert.rejects(p.pollCode(a.activationId, { intervalMs: 20, timeoutMs: 1000 }), isSmsError('STATUS_CANCEL'))
    const b = await p.getNumber(1)
    vendor.glitches.push('BAD_KEY')
    await assert.rejects(p.pollCode(b.activationId, { intervalMs: 20, timeoutMs: 1000 }), isSmsError('BAD_KEY'))
    // setStatus answered with an error word
    await assert.rejects(p.complete('no-such-id'), isSmsError('NO_ACTIVATION'))
  })
})

describe('handler_api bridge → code channel', () => {
  it('answers code requests for rented numbers end to end, including a resend, and ignores the rest', async () => {
    const inbox = new CodeInbox({ redis, prefix, logger })
    const channel = new CodeProviderClient({ redis, prefix, logger })
    const p = provider()
    vendor.pool.push('99966300010')
    const { activationId, phone } = await p.getNumber(7)
    // a request made before the bridge starts is caught up from the stream
    await inbox.requestCode({ phone, attempt: 'a1', codeType: 'sms', jobId: 'bridge-1', timeoutSec: 30 })
    const bridge = runHandlerApiBridge({ provider: p, channel, logger, pollIntervalMs: 20, blockMs: 200 })
    try {
      setTimeout(() => vendor.sms(activationId, '61616'), 150)
      assert.equal(await inbox.waitForCode({ phone, attempt: 'a1', timeoutMs: 5000 }), '61616')
      // auth.resendCode → a new attempt: the bridge asks the vendor for another SMS and skips the old code
      await inbox.requestCode({ phone, attempt: 'a2', codeType: 'sms', jobId: 'bridge-1', timeoutSec: 30 })
      const second = inbox.waitForCode({ phone, attempt: 'a2', timeoutMs: 5000 })
      setTimeout(() => vendor.sms(activationId, '72727'), 200)
      assert.equal(await second, '72727')
      assert.deepEqual(vendor.activations.get(activationId)?.statuses, [1, 3])
      // not ours, and not an SMS: ignored
      await inbox.requestCode({ phone: '99966399999', attempt: 'z', codeType: 'sms', jobId: 'other' })
      await inbox.requestCode({ phone, attempt: 'a3', codeType: 'app', jobId: 'bridge-1' })
      await new Promise((r) => setTimeout(r, 200))
      assert.deepEqual(vendor.activations.get(activationId)?.statuses, [1, 3])
      await p.complete(activationId)
    } finally {
      await bridge.stop()
      await inbox.close()
    }
    assert.ok(!logged.includes('61616') && !logged.includes('72727'), 'a code reached the log')
  })

  it('delivers the same code again when the farm asks again for the attempt after a Redis failover', async () => {
    const inbox = new CodeInbox({ redis, prefix })
    const channel = new CodeProviderClient({ redis, prefix })
    const p = provider()
    vendor.pool.push('99966300012')
    const { activationId, phone } = await p.getNumber(7)
    const bridge = runHandlerApiBridge({ provider: p, channel, pollIntervalMs: 20, blockMs: 200, since: '$' })
    try {
      await new Promise((r) => setTimeout(r, 100))
      await inbox.requestCode({ phone, attempt: '1', codeType: 'sms', jobId: 'failover', timeoutSec: 30 })
      setTimeout(() => vendor.sms(activationId, '83838'), 100)
      const codeKey = inbox.names.code(phone, '1')
      for (let i = 0; i < 100 && (await redis.exists(codeKey)) === 0; i++) await new Promise((r) => setTimeout(r, 50))
      // The old primary took the code and died before its replica had it.
      assert.equal(await redis.del(codeKey), 1)
      await inbox.requestCode({
        phone,
        attempt: '1',
        codeType: 'sms',
        jobId: 'failover',
        timeoutSec: 30,
        reissued: true,
      })
      assert.equal(await inbox.waitForCode({ phone, attempt: '1', timeoutMs: 5000 }), '83838')
      // The SMS already came: no other one is asked of the vendor.
      assert.deepEqual(vendor.activations.get(activationId)?.statuses, [1])
      await p.complete(activationId)
    } finally {
      await bridge.stop()
      await inbox.close()
    }
  })

  it('cancels an activation whose SMS never came (refund)', async () => {
    const inbox = new CodeInbox({ redis, prefix })
    const channel = new CodeProviderClient({ redis, prefix })
    const p = provider()
    vendor.pool.push('99966300011')
    const { activationId, phone } = await p.getNumber(7)
    const bridge = runHandlerApiBridge({ provider: p, channel, pollIntervalMs: 20, blockMs: 200, since: '$' })
    try {
      await new Promise((r) => setTimeout(r, 100))
      await inbox.requestCode({ phone, attempt: 'only', codeType: 'sms', jobId: 'refund', timeoutSec: 1 })
      for (let i = 0; i < 100 && vendor.activations.get(activationId)?.state !== 'cancelled'; i++) {
        await new Promise((r) => setTimeout(r, 50))
      }
      assert.deepEqual(vendor.activations.get(activationId)?.statuses, [1, 8])
      assert.equal(p.rentals.has(phone), false)
    } finally {
      await bridge.stop()
      await inbox.close()
    }
  })
})
