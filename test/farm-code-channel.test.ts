// The code-provider channel against the real Redis on 127.0.0.1:6379, under a prefix unique to this run; every
// key made here is removed afterwards and every connection closed.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import {
  CodeChannelError,
  CodeInbox,
  CodeProviderClient,
  CodeTimeoutError,
  publishCode,
  type CodeRequestMessage,
} from '../src/queue/code-channel.ts'
import { createLogger } from '../src/foundation/logger.ts'
import { planJob } from '../src/farm/account-jobs.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { codeAttemptId } from '../src/queue/login-job.ts'

const run = `${process.pid}-${randomBytes(4).toString('hex')}`
const prefix = `{gramfarm-test:${run}}:`
const redisOptions = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 } as const
let redis: Redis
let redis2: Redis // a second "process"
const toClose: { close(): Promise<void> }[] = []

let phoneSeq = 0
const nextPhone = (): string => `99966${String(100_000 + phoneSeq++).padStart(6, '0')}`

function inbox(extra: Partial<ConstructorParameters<typeof CodeInbox>[0]> = {}): CodeInbox {
  const box = new CodeInbox({ redis, prefix, ...extra })
  toClose.push(box)
  return box
}

async function keysUnderPrefix(): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
  } while (cursor !== '0')
  return found
}

async function clientsNamed(name: string): Promise<{ id: string; line: string }[]> {
  const list = (await redis.client('LIST')) as string
  return list
    .split('\n')
    .filter((l) => l.includes(` name=${name} `))
    .map((line) => ({ id: /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? '', line }))
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await sleep(20)
  }
}

before(() => {
  redis = new Redis(redisOptions)
  redis2 = new Redis(redisOptions)
})

after(async () => {
  for (const c of toClose) await c.close()
  const left = await keysUnderPrefix()
  if (left.length > 0) await redis.del(...left)
  await redis.quit()
  await redis2.quit()
})

describe('code channel', () => {
  it('uses a code published before anyone asked (pending, adopted by the next request)', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    const delivered = await provider.deliverCode({ phone: `+${phone.slice(0, 5)} ${phone.slice(5)}`, code: '12345' })
    assert.deepEqual(delivered, { status: 'pending', attempt: null })
    await box.requestCode({ phone, attempt: 'a1', codeType: 'sms', jobId: 'job-1', codeLength: 5 })
    assert.equal(await redis.exists(provider.names.pendingCode(phone)), 0, 'pending code adopted')
    assert.equal(await box.waitForCode({ phone, attempt: 'a1', timeoutMs: 2000 }), '12345')
    // consumed: nothing left to take
    assert.equal(await redis.exists(provider.names.code(phone, 'a1')), 0)
  })

  it('wakes a waiter parked before the request when the request adopts a pending code', async () => {
    const box = inbox({ pollIntervalMs: 60_000 })
    const other = new CodeInbox({ redis: redis2, prefix })
    toClose.push(other)
    const phone = nextPhone()
    const waiting = box.waitForCode({ phone, attempt: 'early', timeoutMs: 3000 })
    await publishCode(redis2, { phone, code: '86420' }, { prefix })
    await other.requestCode({ phone, attempt: 'early', codeType: 'sms', jobId: 'job-early' })
    assert.equal(await waiting, '86420')
  })

  it('uses a code delivered after the request but before the wait', async () => {
    const box = inbox()
    const phone = nextPhone()
    await box.requestCode({ phone, attempt: 'x', codeType: 'sms', jobId: 'job-2' })
    assert.deepEqual(await publishCode(redis, { phone, code: '55555' }, { prefix }), { status: 'stored', attempt: 'x' })
    assert.equal(await box.waitForCode({ phone, attempt: 'x', timeoutMs: 2000 }), '55555')
  })

  it('delivers to a waiter that is already waiting (notification path)', async () => {
    const box = inbox({ pollIntervalMs: 60_000 })
    const provider = new CodeProviderClient({ redis: redis2, prefix })
    const phone = nextPhone()
    await box.requestCode({ phone, attempt: 'n1', codeType: 'app', jobId: 'job-3' })
    const started = Date.now()
    const waiting = box.waitForCode({ phone, attempt: 'n1', timeoutMs: 5000 })
    await sleep(50)
    await provider.deliverCode({ phone, code: '24680' })
    assert.equal(await waiting, '24680')
    assert.ok(Date.now() - started < 2000, 'woken by the notification, not by a poll')
  })

  it('never gives a code twice: two waiters in two "processes" race, exactly one gets it', async () => {
    const a = inbox()
    const b = new CodeInbox({ redis: redis2, prefix })
    toClose.push(b)
    const provider = new CodeProviderClient({ redis, prefix })
    for (let round = 0; round < 10; round++) {
      const phone = nextPhone()
      await a.requestCode({ phone, attempt: 'r', codeType: 'sms', jobId: `race-${round}` })
      const results = Promise.allSettled([
        a.waitForCode({ phone, attempt: 'r', timeoutMs: 300 }),
        b.waitForCode({ phone, attempt: 'r', timeoutMs: 300 }),
      ])
      await provider.deliverCode({ phone, code: `7${round}` })
      const settled = await results
      const won = settled.filter((s) => s.status === 'fulfilled')
      const lost = settled.filter((s) => s.status === 'rejected')
      assert.equal(won.length, 1, `round ${round}: exactly one winner`)
      assert.equal((won[0] as PromiseFulfilledResult<string>).value, `7${round}`)
      assert.ok((lost[0] as PromiseRejectedResult).reason instanceof CodeTimeoutError)
    }
  })

  it("does not use a stale attempt's code for a new attempt", async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    await box.requestCode({ phone, attempt: 'first', codeType: 'sms', jobId: 'job-s' })
    assert.equal((await provider.deliverCode({ phone, code: '11111' })).status, 'stored') // for "first"
    await box.requestCode({ phone, attempt: 'second', codeType: 'sms', jobId: 'job-s' }) // auth.resendCode
    // a provider that echoes the old attempt is refused
    assert.deepEqual(await provider.deliverCode({ phone, code: '11112', attempt: 'first' }), {
      status: 'stale',
      attempt: 'first',
    })
    await assert.rejects(box.waitForCode({ phone, attempt: 'second', timeoutMs: 300 }), CodeTimeoutError)
    await provider.deliverCode({ phone, code: '22222' })
    assert.equal(await box.waitForCode({ phone, attempt: 'second', timeoutMs: 2000 }), '22222')
  })

  it('a new request drops a code left for the same attempt id by an earlier request (a previous login)', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    await box.requestCode({ phone, attempt: '1', codeType: 'sms', jobId: 'job-old' })
    assert.equal((await provider.deliverCode({ phone, code: '11111' })).status, 'stored') // came after that login gave up
    await box.requestCode({ phone, attempt: '1', codeType: 'sms', jobId: 'job-new' }) // the next login's sendCode
    await assert.rejects(box.waitForCode({ phone, attempt: '1', timeoutMs: 300 }), CodeTimeoutError)
    // A code delivered before this request (pending) is still adopted by it.
    const early = nextPhone()
    assert.equal((await provider.deliverCode({ phone: early, code: '33333' })).status, 'pending')
    await box.requestCode({ phone: early, attempt: '1', codeType: 'sms', jobId: 'job-early' })
    assert.equal(await box.waitForCode({ phone: early, attempt: '1', timeoutMs: 2000 }), '33333')
  })

  it("two logins of one phone never share an attempt id: the old login's request and late code reach neither", async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    const [spec] = parseAccounts(`${phone}\n`, { file: 'relogin.txt' })
    const oldLogin = planJob(spec!, 0, { runId: 'run-old' }).data
    const newLogin = planJob(spec!, 0, { runId: 'run-new' }).data
    const oldAttempt = codeAttemptId(oldLogin, 1)
    const newAttempt = codeAttemptId(newLogin, 1)
    assert.notEqual(oldAttempt, newAttempt, 'the first code request of each login has its own id')
    await box.requestCode({ phone, attempt: oldAttempt, codeType: 'sms', jobId: 'job-old' })
    await box.requestCode({ phone, attempt: newAttempt, codeType: 'sms', jobId: 'job-new' }) // the re-login
    // A provider catching up on the stream answers the old login's request: refused, not taken as the new one's.
    assert.deepEqual(await provider.deliverCode({ phone, code: '11111', attempt: oldAttempt }), {
      status: 'stale',
      attempt: oldAttempt,
    })
    // Asked again after a failover, the new login still has no code of the old one.
    await box.requestCode({ phone, attempt: newAttempt, codeType: 'sms', jobId: 'job-new', reissued: true })
    await assert.rejects(box.waitForCode({ phone, attempt: newAttempt, timeoutMs: 300 }), CodeTimeoutError)
    await provider.deliverCode({ phone, code: '22222' })
    assert.equal(await box.waitForCode({ phone, attempt: newAttempt, timeoutMs: 2000 }), '22222')
  })

  it('asked again for the same attempt after a failover, keeps the code that attempt already has, and says so', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    const heard: CodeRequestMessage[] = []
    const sub = new Redis(redisOptions)
    await sub.subscribe(box.names.requestsChannel)
    sub.on('message', (_c: string, json: string) => heard.push(JSON.parse(json) as CodeRequestMessage))
    try {
      await box.requestCode({ phone, attempt: '1', codeType: 'sms', jobId: 'job-f' })
      assert.equal((await provider.deliverCode({ phone, code: '45454' })).status, 'stored')
      await box.requestCode({ phone, attempt: '1', codeType: 'sms', jobId: 'job-f', reissued: true })
      assert.equal(await box.waitForCode({ phone, attempt: '1', timeoutMs: 2000 }), '45454')
      await waitUntil(() => heard.filter((m) => m.phone === phone).length === 2)
      const [first, again] = heard.filter((m) => m.phone === phone)
      assert.equal(first!.reissued, undefined)
      assert.equal(again!.reissued, true)
      assert.equal(again!.attempt, '1')
    } finally {
      await sub.quit()
    }
  })

  it('reports a duplicate delivery for an attempt whose code is not consumed yet, and keeps the first', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    await box.requestCode({ phone, attempt: 'd', codeType: 'sms', jobId: 'job-d' })
    assert.equal((await provider.deliverCode({ phone, code: '10101' })).status, 'stored')
    assert.equal((await provider.deliverCode({ phone, code: '20202' })).status, 'duplicate')
    assert.equal(await box.waitForCode({ phone, attempt: 'd', timeoutMs: 2000 }), '10101')
  })

  it('times out with CodeTimeoutError (no code in the message) and aborts with AbortError', async () => {
    const box = inbox()
    const phone = nextPhone()
    const err = await box.waitForCode({ phone, attempt: 't', timeoutMs: 200 }).catch((e: unknown) => e)
    assert.ok(err instanceof CodeTimeoutError)
    assert.equal(err.what, 'code')
    assert.equal(err.phone, phone)
    assert.ok(!err.message.includes(phone), 'the phone is masked in the message')
    const ac = new AbortController()
    const waiting = box.waitForCode({ phone, attempt: 't', timeoutMs: 10_000, signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    await assert.rejects(waiting, (e: unknown) => e instanceof Error && e.name === 'AbortError')
    assert.equal(box.waiting, 0)
  })

  it('refuses bad input with typed errors that never echo the value', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    await assert.rejects(provider.deliverCode({ phone: 'abc', code: '1' }), CodeChannelError)
    const secret = 'x'.repeat(300)
    const err = await provider.deliverCode({ phone: nextPhone(), code: secret }).catch((e: unknown) => e)
    assert.ok(err instanceof CodeChannelError && err.reason === 'invalid-code' && !err.message.includes(secret))
    await assert.rejects(box.waitForCode({ phone: nextPhone(), attempt: 'has space', timeoutMs: 10 }), CodeChannelError)
  })

  it('refuses a code that is not ASCII digits, and never parks it: the real code after it is still taken', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const early = nextPhone()
    for (const code of ['١٢٣٤٥', '１２３４５', '12 345', '12345\u0007', 'apple']) {
      const err = await provider.deliverCode({ phone: early, code }).catch((e: unknown) => e)
      assert.ok(err instanceof CodeChannelError && err.reason === 'invalid-code', `refused: ${JSON.stringify(code)}`)
      assert.ok(!err.message.includes(code), 'the code is not echoed')
    }
    assert.equal(await redis.exists(provider.names.pendingCode(early)), 0, 'nothing parked')
    assert.deepEqual(await provider.deliverCode({ phone: early, code: '12345' }), { status: 'pending', attempt: null })
    await box.requestCode({ phone: early, attempt: 'a1', codeType: 'sms', jobId: 'job-digits-1' })
    assert.equal(await box.waitForCode({ phone: early, attempt: 'a1', timeoutMs: 2000 }), '12345')

    const asked = nextPhone()
    await box.requestCode({ phone: asked, attempt: 'a1', codeType: 'sms', jobId: 'job-digits-2' })
    await assert.rejects(provider.deliverCode({ phone: asked, code: 'apple' }), CodeChannelError)
    assert.deepEqual(await provider.deliverCode({ phone: asked, code: ' 54321 ' }), { status: 'stored', attempt: 'a1' })
    assert.equal(await box.waitForCode({ phone: asked, attempt: 'a1', timeoutMs: 2000 }), '54321')

    // smsWord / smsPhrase: Telegram sends a word or a phrase, which is then the code.
    const word = nextPhone()
    await box.requestCode({ phone: word, attempt: 'w1', codeType: 'smsPhrase', jobId: 'job-words' })
    await assert.rejects(provider.deliverCode({ phone: word, code: '١٢٣' }), CodeChannelError)
    assert.deepEqual(await provider.deliverCode({ phone: word, code: 'purple monkey dishwasher' }), {
      status: 'stored',
      attempt: 'w1',
    })
    assert.equal(await box.waitForCode({ phone: word, attempt: 'w1', timeoutMs: 2000 }), 'purple monkey dishwasher')
  })

  it('finds a code whose notification was lost, by the poll fallback', async () => {
    const box = inbox({ pollIntervalMs: 100 })
    const phone = nextPhone()
    const waiting = box.waitForCode({ phone, attempt: 'p', timeoutMs: 3000 })
    await sleep(50)
    await redis.set(box.names.code(phone, 'p'), '31337', 'EX', 60) // stored, never announced
    assert.equal(await waiting, '31337')
  })

  it('still delivers after the subscriber connection is killed (re-check on reconnect, no poll)', async () => {
    const name = `gf-test-sub-${run}-reconnect`
    const box = inbox({ pollIntervalMs: 60_000, subscriberName: name })
    const provider = new CodeProviderClient({ redis: redis2, prefix })
    const phone = nextPhone()
    const first = box.waitForCode({ phone, attempt: 'k1', timeoutMs: 10_000 })
    await sleep(50)
    const [before] = await clientsNamed(name)
    assert.ok(before, 'subscriber connected')
    // Only our subscriber: CLIENT KILL TYPE pubsub would also hit other test files' connections.
    await redis.client('KILL', 'ID', before.id)
    // delivered while the subscriber is down: this notification is lost; the reconnect re-check must find it
    await provider.deliverCode({ phone, code: '40404', attempt: 'k1' })
    assert.equal(await first, '40404')
    const [afterKill] = await clientsNamed(name)
    assert.ok(afterKill && afterKill.id !== before.id, 'a new subscriber connection')
    // and the resubscription works for notifications too
    const second = box.waitForCode({ phone, attempt: 'k2', timeoutMs: 10_000 })
    await sleep(50)
    const t0 = Date.now()
    await provider.deliverCode({ phone, code: '50505', attempt: 'k2' })
    assert.equal(await second, '50505')
    assert.ok(Date.now() - t0 < 2000)
  })

  it('serves 1,000 concurrent waiters from one subscriber connection', async () => {
    // Named connections: other test files run beside this one, so only our own names can be counted.
    const name = `gf-test-${run}-many`
    const cmd = new Redis({ ...redisOptions, connectionName: `${name}-cmd` })
    const box = new CodeInbox({ redis: cmd, prefix, subscriberName: `${name}-sub` })
    const provider = new CodeProviderClient({ redis: redis2, prefix })
    try {
      const phones = Array.from({ length: 1000 }, () => nextPhone())
      const waits = phones.map((phone, i) => box.waitForCode({ phone, attempt: `m${i}`, timeoutMs: 30_000 }))
      for (const w of waits) w.catch(() => {}) // asserted below; no unhandled rejection if the test fails early
      await sleep(100)
      assert.equal(box.waiting, 1000)
      // a duplicate() of `cmd` inherits its name, so a connection per waiter would show up here
      const ours = await clientsNamed(`${name}-sub`)
      assert.equal(ours.length, 1, 'one subscriber for all waiters')
      assert.equal((await clientsNamed(`${name}-cmd`)).length, 1, 'one command connection')
      const list = (await redis.client('LIST')) as string
      assert.equal(list.split('\n').filter((l) => l.includes(` name=${name}`)).length, 2)
      await Promise.all(
        phones.map((phone, i) => provider.deliverCode({ phone, code: `${10_000 + i}`, attempt: `m${i}` })),
      )
      const codes = await Promise.all(waits)
      assert.deepEqual(
        codes,
        phones.map((_, i) => `${10_000 + i}`),
      )
      assert.equal(box.waiting, 0)
    } finally {
      await box.close()
      await cmd.quit()
    }
  })

  it('passes 2FA passwords through keys only: nothing published carries a password or a code', async () => {
    const spy = new Redis(redisOptions)
    const seen: string[] = []
    spy.on('pmessage', (_pattern: string, channel: string, message: string) => seen.push(`${channel} ${message}`))
    await spy.psubscribe('*')
    let logged = ''
    const logger = createLogger({
      level: 'trace',
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          logged += chunk.toString()
          cb()
        },
      }),
    })
    try {
      const box = inbox({ logger })
      const provider = new CodeProviderClient({ redis: redis2, prefix, logger })
      const phone = nextPhone()
      const password = `pw-${randomBytes(8).toString('hex')}`
      const code = `${randomBytes(3).readUIntBE(0, 3)}`.padStart(8, '9')
      await box.requestCode({ phone, attempt: 'pw', codeType: 'sms', jobId: 'job-pw' })
      const gotCode = box.waitForCode({ phone, attempt: 'pw', timeoutMs: 3000 })
      await sleep(30)
      await provider.deliverCode({ phone, code })
      assert.equal(await gotCode, code)
      // Published only; what it resolves to is who heard it (the spy here), a login asks again when nobody did.
      assert.ok((await box.requestPassword({ phone, jobId: 'job-pw' })) >= 1, 'the spy heard the request')
      const gotPassword = box.waitForPassword({ phone, timeoutMs: 3000 })
      await sleep(30)
      await provider.deliverPassword({ phone, password })
      assert.equal(await gotPassword, password)
      assert.equal(await redis.exists(box.names.password(phone)), 0, 'consumed')
      // delivered before the wait works too
      await provider.deliverPassword({ phone, password: `${password}-2` })
      assert.equal(await box.waitForPassword({ phone, timeoutMs: 3000 }), `${password}-2`)
      await sleep(100) // let the spy receive everything
      const ours = seen.filter((m) => m.startsWith(prefix))
      assert.ok(ours.some((m) => m.startsWith(box.names.passwordDeliveredChannel) && m.includes(phone)))
      assert.ok(ours.some((m) => m.startsWith(box.names.deliveredChannel)))
      for (const m of seen) {
        assert.ok(!m.includes(password), 'a password went over pub/sub')
        assert.ok(!m.includes(code), 'a code went over pub/sub')
      }
      const stream = await redis.xrange(box.names.requestsStream, '-', '+')
      assert.ok(!JSON.stringify(stream).includes(password) && !JSON.stringify(stream).includes(code))
      assert.ok(logged.length > 0, 'the channel did log')
      assert.ok(!logged.includes(password) && !logged.includes(code), 'a secret reached the log')
      assert.ok(!logged.includes(phone), 'phones are masked in logs')
    } finally {
      await spy.quit()
    }
  })

  it('lets a provider that was down catch up on requests from the stream', async () => {
    const box = inbox()
    const provider = new CodeProviderClient({ redis, prefix })
    const phone = nextPhone()
    const head = await redis.xrevrange(box.names.requestsStream, '+', '-', 'COUNT', 1)
    const since = head[0]?.[0] ?? '0-0'
    await box.requestCode({ phone, attempt: 'c1', codeType: 'sms', jobId: 'job-c', nextType: 'call', timeoutSec: 60 })
    const ac = new AbortController()
    const got: CodeRequestMessage[] = []
    const reading = (async () => {
      for await (const req of provider.readRequests({ since, signal: ac.signal, blockMs: 200 })) {
        got.push(req)
        if (got.length === 2) ac.abort()
      }
    })()
    await sleep(100)
    await box.requestCode({ phone, attempt: 'c2', codeType: 'sms', jobId: 'job-c' }) // while reading
    await reading
    assert.deepEqual(
      got.map((r) => [r.phone, r.attempt, r.codeType, r.jobId]),
      [
        [phone, 'c1', 'sms', 'job-c'],
        [phone, 'c2', 'sms', 'job-c'],
      ],
    )
    assert.equal(got[0]?.nextType, 'call')
    assert.equal(await provider.currentAttempt(phone), 'c2')
  })
})
