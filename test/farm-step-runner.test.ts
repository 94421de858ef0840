// The login step runner driven one step at a time, as BullMQ would run it, against a test DC whose auth methods
// can be made to fail on demand (FLOOD_WAIT, 500s) and the real Redis on 127.0.0.1:6379 under a prefix of this
// file: retried steps after a login was recorded, codes and passwords that must survive a failed sign-in, and
// the bookkeeping a login leaves.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { CodeChannelNames, publishCode, publishPassword, type CodeRequestMessage } from '../src/queue/code-channel.ts'
import { ExceptIdsRegistry } from '../src/queue/except-ids-registry.ts'
import { botAccountKey, botLabel, loginJobId, type LoginJobData } from '../src/queue/login-job.ts'
import { SecretVault } from '../src/queue/secret-vault.ts'
import { AccountRegistry, accountsServices } from '../src/testdc/accounts/index.ts'
import type { RpcHandler } from '../src/testdc/rpc-dispatcher.ts'
import { RpcFailure } from '../src/testdc/rpc-failure.ts'
import { startTestDc, type TestDc } from '../src/testdc/test-dc.ts'
import { endpointOf } from '../src/testdc/testdc-endpoint.ts'
import { createStepRunner } from '../src/worker/login-thread.ts'
import type { StepOutcome } from '../src/worker/login-step-runner.ts'
import { FarmRedisKeys, resultsKey, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { readFloodWaits } from '../src/queue/flood-waits.ts'
import { isTransient } from '../src/worker/transient-failure.ts'
import { AuthKeyUnknownError, ConnectionLostError } from '../src/mtproto/dc/dc-connection.ts'
import { RpcError } from '../src/mtproto/rpc-error.ts'
import { ConnectTimeoutError, ProxyError, TransportError } from '../src/mtproto/transport/errors.ts'
import { SessionStorageError, SessionLockedError } from '../src/auth/storage/index.ts'
import { Queue } from 'bullmq'
import { LOGIN_QUEUE } from '../src/queue/login-job.ts'
import { startFarmWorker } from '../src/worker/farm-worker.ts'
import { API, FAST_RATE, REDIS_URL, redisClient, sleep, uniquePrefix, waitFor } from './farm-e2e-harness.ts'

/** Failures to answer instead of calling the real handler, per method, first in first out. */
const faults = new Map<string, RpcFailure[]>()
/**
 * A call that went through whose answer was lost: the real handler runs, and the client sees what a re-send of
 * the call gets afterwards (the code or srp_id used up).
 */
const lostAnswers = new Map<string, RpcFailure[]>()
const FAULTY = ['auth.sendCode', 'auth.resendCode', 'auth.signIn', 'auth.checkPassword']

function faultyServices(registry: AccountRegistry): Record<string, RpcHandler> {
  const real = accountsServices(registry)
  return Object.fromEntries(
    FAULTY.map((m) => [
      m,
      async (req, ctx) => {
        const failure = faults.get(m)?.shift()
        if (failure) throw failure
        const resent = lostAnswers.get(m)?.shift()
        const answer = await real[m]!(req, ctx)
        if (resent) throw resent
        return answer
      },
    ]),
  )
}

const prefix = uniquePrefix('step-runner')
const redis = redisClient()
const names = new CodeChannelNames(prefix)
const registry = new ExceptIdsRegistry({ redis, prefix })
const vault = new SecretVault(redis, prefix)
let accounts: AccountRegistry
let dc: TestDc
let runner: ReturnType<typeof createStepRunner>
let runs = 0

before(async () => {
  accounts = new AccountRegistry({ dcIds: [1, 2, 3, 4, 5] })
  dc = await startTestDc({ accounts, services: () => faultyServices(accounts) })
  const endpoint = endpointOf(dc)
  runner = createStepRunner({
    redis: { url: REDIS_URL },
    prefix,
    ...API,
    testDc: endpoint,
    codeTimeoutMs: 20_000,
    recheckMs: 1_000,
    waitSliceMs: 300,
    sendCodeRate: FAST_RATE,
  })
})

after(async () => {
  await runner.close()
  await dc.stop()
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
})

function userJob(phone: string, extra: Partial<LoginJobData> = {}): { jobId: string; data: LoginJobData } {
  return {
    jobId: loginJobId('user', phone),
    data: {
      kind: 'user',
      account: phone,
      accountKey: phone,
      options: { passwordFrom: 'provider' },
      step: 'start',
      codeAttempt: 0,
      codeFailures: 0,
      deadline: 0,
      runId: `run-test-${++runs}`,
      ...extra,
    },
  }
}

function botJob(token: string): { jobId: string; data: LoginJobData } {
  const accountKey = botAccountKey(token)
  return {
    jobId: loginJobId('bot', accountKey),
    data: {
      kind: 'bot',
      account: botLabel(token),
      accountKey,
      options: {},
      step: 'start',
      codeAttempt: 0,
      codeFailures: 0,
      deadline: 0,
      runId: `run-test-${++runs}`,
    },
  }
}

/** One step; a wait's data is merged into the job's, as the worker does. */
async function step(job: { jobId: string; data: LoginJobData }): Promise<StepOutcome> {
  const outcome = await runner.runner.run(job.jobId, job.data, Date.now())
  if (outcome.kind === 'wait') job.data = { ...job.data, ...outcome.data }
  return outcome
}

function state(o: StepOutcome): string {
  return o.kind === 'final' ? o.result.state : `wait(${o.delayMs})`
}

/** The test-number code of a phone: its DC digit, five times. */
function codeOf(phone: string): string {
  return phone[5]!.repeat(5)
}

async function sessionOf(data: LoginJobData): Promise<{ userId: bigint | null } | null> {
  const s = new RedisSessionStorage({
    redis,
    name: `${data.kind}-${data.account}`.replace(/:/g, '_'),
    keyPrefix: sessionKeyPrefix(prefix),
  })
  await s.open()
  try {
    return await s.load()
  } finally {
    await s.close()
  }
}

/** Runs a user login to its end: start, then the code when it is asked for. */
async function logIn(job: { jobId: string; data: LoginJobData }): Promise<StepOutcome> {
  assert.equal(state(await step(job)), 'wait(1000)')
  assert.equal(job.data.step, 'wait_code')
  await publishCode(
    redis,
    { phone: job.data.account, code: codeOf(job.data.account), attempt: String(job.data.codeAttempt) },
    { prefix },
  )
  return step(job)
}

describe('login step runner', () => {
  it('a code step run again after its worker died past the code request waits for that code: no second SMS, the delivered code signs in', async () => {
    const sent: string[] = []
    const prev = accounts.onCode
    accounts.onCode = (d) => void sent.push(d.phone)
    try {
      for (const [phone, first] of [
        ['9996621977', 'start'],
        ['9996631978', 'resend_code'],
      ] as const) {
        const job = userJob(phone, { loginNonce: 'a1b2c3d4' })
        if (first === 'resend_code') {
          assert.equal(state(await step(job)), 'wait(1000)')
          // Its code expired: the resend is the step that dies this time.
          job.data = { ...job.data, step: 'resend_code' }
        }
        const before = { ...job.data }
        sent.length = 0
        assert.equal(state(await step(job)), 'wait(1000)')
        assert.equal(sent.length, 1, 'the step asked Telegram')
        const attempt = job.data.codeAttempt
        // The code arrives for the request the dying step made.
        const delivered = await publishCode(redis, { phone, code: codeOf(phone) }, { prefix })
        assert.deepEqual(delivered, { status: 'stored', attempt: `a1b2c3d4.${attempt}` })
        // The worker died before the job's next step was saved: BullMQ runs the step again with the data it had.
        const again = { jobId: job.jobId, data: before }
        const resumed = await step(again)
        assert.equal(state(resumed), 'wait(1000)')
        assert.equal(again.data.step, 'wait_code')
        assert.equal(again.data.codeAttempt, attempt, 'the same attempt')
        assert.equal(again.data.deadline, job.data.deadline, 'the same deadline')
        assert.equal(sent.length, 1, 'no second sendCode / resendCode')
        assert.equal(state(await step(again)), 'authorized', 'the delivered code was kept and used')
      }
    } finally {
      accounts.onCode = prev
    }
  })

  it('a bot step retried after its login was recorded ends authorized, once; a later run of the bot is a duplicate', async () => {
    const bot = accounts.addBot({ token: '7300000001:AAFakeTokenForTestsOnly000000000001', dcId: 2 })
    const job = botJob(bot.botToken!)
    await vault.put(job.jobId, { botToken: bot.botToken! })
    const first = await step(job)
    assert.equal(state(first), 'authorized')
    // The worker died before the job ended: BullMQ runs the step again with the same data.
    await vault.put(job.jobId, { botToken: bot.botToken! })
    const again = await step(job)
    assert.equal(state(again), 'authorized')
    assert.equal(again.kind === 'final' && again.result.userId, bot.id.toString())
    assert.equal(accounts.sessionsOf(bot.id).length, 1, 'not authorized twice')
    assert.equal(state(await step(botJob(bot.botToken!))), 'duplicate', 'another run')
    assert.equal(accounts.sessionsOf(bot.id).length, 1, "the farm's session is kept")
  })

  it('a user step retried after its login was recorded ends authorized at once, without waiting for the used code', async () => {
    const job = userJob('9996621901')
    assert.equal(state(await logIn(job)), 'authorized')
    const again = await step(job) // still wait_code, attempt 1: its code was consumed
    assert.equal(state(again), 'authorized')
    assert.equal(again.kind === 'final' && again.result.session, 'user-9996621901')
  })

  it('completes a recorded login whose session write failed, and forgets one whose key is gone', async () => {
    const job = userJob('9996631902')
    const first = await logIn(job)
    assert.equal(state(first), 'authorized')
    const userId = BigInt(first.kind === 'final' ? first.result.userId! : 0)
    // As if keys.flush() had failed after recordAuthorized: the key is there, its user is not.
    const s = new RedisSessionStorage({ redis, name: 'user-9996631902', keyPrefix: sessionKeyPrefix(prefix) })
    await s.open()
    await s.save({ userId: null, isBot: null })
    assert.equal((await sessionOf(job.data))!.userId, null)
    const again = await step(job)
    assert.equal(state(again), 'authorized')
    assert.equal((await sessionOf(job.data))!.userId, userId, 'the session is completed')
    // No key at all: the authorization cannot be used by anyone, so it is forgotten for a new run.
    await s.delete()
    assert.equal(state(await step(job)), 'failed(session_lost)')
    assert.equal(await registry.authorizedAs(job.data.accountKey), null)
  })

  it('puts the code back when signIn answers FLOOD_WAIT, moves the deadline by the wait, and signs in after it', async () => {
    const job = userJob('9996621903')
    assert.equal(state(await step(job)), 'wait(1000)')
    const deadline = job.data.deadline
    await publishCode(
      redis,
      { phone: job.data.account, code: codeOf(job.data.account), attempt: String(job.data.codeAttempt) },
      { prefix },
    )
    faults.set('auth.signIn', [new RpcFailure(420, 'FLOOD_WAIT_2')])
    assert.equal(state(await step(job)), 'wait(2000)')
    assert.equal(
      await redis.get(names.code(job.data.account, String(job.data.codeAttempt))),
      codeOf(job.data.account),
      'the code is back',
    )
    assert.equal(job.data.deadline, deadline + 2000)
    assert.ok(job.data.floodUntil! > Date.now())
    // Woken early (a delivery promotes waiting jobs): it goes back to sleep, the code stays.
    const early = await step(job)
    assert.ok(early.kind === 'wait' && early.delayMs > 0 && early.delayMs <= 2000)
    assert.equal(await redis.exists(names.code(job.data.account, String(job.data.codeAttempt))), 1)
    await sleep(job.data.floodUntil! - Date.now() + 10)
    assert.equal(state(await step(job)), 'authorized')
  })

  it('puts a channel password back when checkPassword answers FLOOD_WAIT', async () => {
    const phone = '9996621904'
    accounts.addUser({ phone, password: 'the 2fa one' })
    const job = userJob(phone)
    assert.equal(state(await logIn(job)), 'wait(1000)')
    assert.equal(job.data.step, 'wait_password')
    await publishPassword(redis, { phone, password: 'the 2fa one' }, { prefix })
    faults.set('auth.checkPassword', [new RpcFailure(420, 'FLOOD_WAIT_1')])
    assert.equal(state(await step(job)), 'wait(1000)')
    assert.equal(await redis.get(names.password(phone)), 'the 2fa one', 'the password is back')
    await sleep(job.data.floodUntil! - Date.now() + 10)
    assert.equal(state(await step(job)), 'authorized')
    assert.equal(await redis.exists(names.password(phone)), 0)
  })

  it('a signIn or checkPassword whose success was lost (the re-sent call finds the code or srp_id used) ends authorized', async () => {
    const plain = userJob('9996621921')
    assert.equal(state(await step(plain)), 'wait(1000)')
    await publishCode(
      redis,
      { phone: plain.data.account, code: codeOf(plain.data.account), attempt: String(plain.data.codeAttempt) },
      { prefix },
    )
    lostAnswers.set('auth.signIn', [new RpcFailure(400, 'PHONE_CODE_EXPIRED')])
    const signedIn = await step(plain)
    assert.equal(state(signedIn), 'authorized', 'not a new code for a login that went through')
    const plainUser = accounts.userByPhone(plain.data.account)!
    assert.equal(signedIn.kind === 'final' && signedIn.result.userId, plainUser.id.toString())
    assert.equal((await sessionOf(plain.data))?.userId, plainUser.id)

    const phone = '9996621922'
    accounts.addUser({ phone, password: 'the 2fa one' })
    const twoFa = userJob(phone)
    assert.equal(state(await logIn(twoFa)), 'wait(1000)')
    await publishPassword(redis, { phone, password: 'the 2fa one' }, { prefix })
    lostAnswers.set('auth.checkPassword', [new RpcFailure(400, 'SRP_ID_INVALID')])
    assert.equal(state(await step(twoFa)), 'authorized', 'not failed(SRP_ID_INVALID)')
    assert.equal(accounts.sessionsOf(accounts.userByPhone(phone)!.id).length, 1)
  })

  it("asks for a code for as long as the login waits, and passes Telegram's resend delay apart", async () => {
    const job = userJob('9996631905')
    assert.equal(state(await step(job)), 'wait(1000)')
    const request = await redis.hgetall(names.request(job.data.account))
    assert.equal(request['timeoutSec'], '20', "the login's code timeout (20 s here), not sentCode.timeout")
    assert.equal(request['resendAfterSec'], '60', "the test DC's sentCode.timeout")
    const [[, entries]] = (await redis.xrevrange(names.requestsStream, '+', '-', 'COUNT', 1)).map(
      (e) => [e[0], e[1]] as const,
    )
    const message = JSON.parse(entries[1]!) as CodeRequestMessage
    assert.equal(message.phone, job.data.account)
    assert.equal(message.timeoutSec, 20)
    assert.equal(message.resendAfterSec, 60)
  })

  it('retries network, proxy, Telegram-side and Redis failures; ends the login on the rest', () => {
    const redisDown = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })
    for (const err of [
      new ConnectionLostError('gone'),
      new ConnectTimeoutError(10_000),
      new AuthKeyUnknownError(2),
      new TransportError(-429),
      new TransportError(-404),
      new ProxyError('socks-connect-failed', 'general SOCKS server failure', 1),
      new ProxyError('socks-connect-failed', 'host unreachable', 4),
      new ProxyError('proxy-closed', 'closed during the handshake'),
      new SessionStorageError('IO', 'Redis: cannot load for gramfarm:session:x', { cause: redisDown }),
      new RpcError(500, 'INTERNAL'),
      new RpcError(-503, 'Timeout'),
      new RpcError(500, 'RPC_CALL_FAIL'),
      new Error('wrapped', { cause: new ConnectionLostError('gone') }),
      new AggregateError([redisDown], 'connect failed'),
      new Error('LOADING Redis is loading the dataset in memory'),
    ])
      assert.equal(isTransient(err), true, `${err.name}: ${err.message}`)
    for (const err of [
      new TransportError(-444),
      new ProxyError('socks-auth-rejected', 'bad password'),
      new ProxyError('socks-connect-failed', 'not allowed by ruleset', 2),
      new ProxyError('mtproxy-invalid-secret', 'bad'),
      new SessionLockedError('/x.lock', null),
      new SessionStorageError('INVALID_DATA', 'bad'),
      new RpcError(400, 'PHONE_NUMBER_INVALID'),
      new RpcError(420, 'FLOOD_WAIT_10'),
      new Error('something else'),
      null,
      'a string',
    ])
      assert.equal(isTransient(err), false, String((err as Error | null)?.message ?? err))
  })

  it("decides by class and each error's transient property, not by class names", () => {
    class RenamedLost extends ConnectionLostError {
      override readonly name = 'SomethingElse'
    }
    assert.equal(isTransient(new RenamedLost('gone')), true)
    assert.equal(isTransient(new Error('wrapped', { cause: new RenamedLost('gone') })), true)
    assert.equal(isTransient(Object.assign(new Error('not ours'), { name: 'ConnectionLostError' })), false)
    assert.equal(isTransient(Object.assign(new Error('not ours'), { name: 'AuthKeyUnknownError' })), false)
    for (const err of [
      new TransportError(-404),
      new TransportError(-444),
      new ProxyError('proxy-closed', 'x'),
      new ProxyError('socks-connect-failed', 'x', 2),
      new SessionStorageError('IO', 'x'),
      new SessionStorageError('INVALID_DATA', 'x'),
      new RpcError(500, 'INTERNAL'),
      new RpcError(400, 'PHONE_CODE_INVALID'),
      new AuthKeyUnknownError(2),
      new ConnectTimeoutError(1),
    ])
      assert.equal(isTransient(err), err.transient, err.message)
  })

  it('puts the code back and retries the step when signIn keeps answering 500', async () => {
    const job = userJob('9996621906')
    assert.equal(state(await step(job)), 'wait(1000)')
    await publishCode(
      redis,
      { phone: job.data.account, code: codeOf(job.data.account), attempt: String(job.data.codeAttempt) },
      { prefix },
    )
    faults.set(
      'auth.signIn',
      [0, 1, 2].map(() => new RpcFailure(500, 'INTERNAL')),
    ) // more than the client's own retries
    const err = await step(job).then(
      () => null,
      (e: unknown) => e,
    )
    assert.ok(err instanceof RpcError && err.code === 500, 'thrown: BullMQ retries the step')
    assert.equal(
      await redis.get(names.code(job.data.account, String(job.data.codeAttempt))),
      codeOf(job.data.account),
      'the code is back',
    )
    assert.equal(state(await step(job)), 'authorized')
  })

  it('clears a passwordNeeded left in the login hash when a new code is sent', async () => {
    const job = userJob('9996631908')
    await redis.hset(`${prefix}login:${job.jobId}`, 'passwordNeeded', '1')
    assert.equal(state(await step(job)), 'wait(1000)')
    assert.equal(await redis.hexists(`${prefix}login:${job.jobId}`, 'passwordNeeded'), 0)
    await publishCode(
      redis,
      { phone: job.data.account, code: codeOf(job.data.account), attempt: String(job.data.codeAttempt) },
      { prefix },
    )
    assert.equal(state(await step(job)), 'authorized', 'signed in with the code, not sent to the password step')
  })

  it(
    'cleans up after a job whose last attempt failed in the worker: vault entry, login hash, a key that logs nobody in',
    { timeout: 60_000 },
    async () => {
      const worker = await startFarmWorker({
        redis: { url: REDIS_URL },
        prefix,
        ...API,
        testDc: endpointOf(dc),
        threads: 1,
        concurrency: 4,
        codeTimeoutMs: 20_000,
        recheckMs: 1_000,
        sendCodeRate: FAST_RATE,
      })
      const connection = redisClient()
      const queue = new Queue<LoginJobData>(LOGIN_QUEUE, { connection, prefix: `${prefix}bull` })
      try {
        const { jobId, data } = userJob('9996621907')
        await vault.put(jobId, { password: 'left behind' })
        await redis.hset(`${prefix}login:${jobId}`, 'passwordNeeded', '1')
        // Every sendCode of both attempts answers 500 (the client retries each twice itself).
        faults.set(
          'auth.sendCode',
          Array.from({ length: 6 }, () => new RpcFailure(500, 'INTERNAL')),
        )
        await queue.add('user', data, {
          jobId,
          attempts: 2,
          backoff: { type: 'fixed', delay: 10 },
          removeOnComplete: true,
          removeOnFail: true,
        })
        const result = await waitFor('the result', () => redis.hget(resultsKey(prefix, data.runId), data.account))
        assert.equal((JSON.parse(result) as { state: string }).state, 'failed(RpcError)')
        // The result is written before the cleanup runs (a stuck cleanup must not hold it back), and the cleanup
        // ends with the key: wait for all of it, then look.
        await waitFor(
          'the cleanup',
          async () =>
            (await redis.exists(`${prefix}secret:${jobId}`, `${prefix}login:${jobId}`)) === 0 &&
            (await sessionOf(data)) === null,
          10_000,
        ).catch(() => undefined)
        assert.equal(await redis.exists(`${prefix}secret:${jobId}`), 0, 'the vault entry is gone')
        assert.equal(await redis.exists(`${prefix}login:${jobId}`), 0, 'the login hash is gone')
        assert.equal(await sessionOf(data), null, 'the key made for the login is gone')
        assert.equal(faults.get('auth.sendCode')!.length, 0)
      } finally {
        faults.delete('auth.sendCode')
        await queue.close()
        connection.disconnect()
        const closing = Date.now()
        await worker.close()
        assert.ok(Date.now() - closing < 4_000, 'the threads closed their runners and said so (no 5 s timeout)')
      }
    },
  )

  it("penalizes the DC's sendCode pacing for a short FLOOD_WAIT only, not for one phone's long one", async () => {
    const penalty = `${prefix}ratelimit:send-code:dc:1:blocked`
    faults.set('auth.sendCode', [new RpcFailure(420, 'FLOOD_WAIT_120')])
    assert.equal(state(await step(userJob('9996611909'))), 'wait(120000)')
    assert.equal(await redis.exists(penalty), 0, "one phone's limit does not stop the DC")
    faults.set('auth.sendCode', [new RpcFailure(420, 'FLOOD_WAIT_1')])
    assert.equal(state(await step(userJob('9996611910'))), 'wait(1000)')
    assert.ok((await redis.pttl(penalty)) > 0, 'a short one paces the DC')
    await redis.del(penalty)
    // Both are counted for the DC, the long one too: the seconds summed and the current wait (the longer one).
    const flood = (await readFloodWaits(redis, new FarmRedisKeys(prefix).stats))['1']
    assert.equal(flood?.totalS, 121)
    assert.ok(flood.leftS > 110 && flood.leftS <= 120, JSON.stringify(flood))
  })

  it('paces the new code asked for after PHONE_CODE_EXPIRED through the sendCode limiter', async () => {
    const job = userJob('9996611911')
    assert.equal(state(await step(job)), 'wait(1000)')
    await publishCode(redis, { phone: job.data.account, code: codeOf(job.data.account), attempt: '1' }, { prefix })
    const penalty = `${prefix}ratelimit:send-code:dc:1:blocked`
    await redis.set(penalty, '1', 'PX', 5_000) // the DC is being paced
    faults.set('auth.signIn', [new RpcFailure(400, 'PHONE_CODE_EXPIRED')])
    const paced = await step(job)
    assert.ok(paced.kind === 'wait' && paced.delayMs > 4_000, state(paced))
    assert.equal(job.data.step, 'resend_code')
    await redis.del(penalty)
    assert.equal(state(await step(job)), 'wait(1000)')
    assert.equal(job.data.step, 'wait_code')
    assert.equal(job.data.codeAttempt, 2, 'a new code, a new attempt')
    await publishCode(redis, { phone: job.data.account, code: codeOf(job.data.account), attempt: '2' }, { prefix })
    assert.equal(state(await step(job)), 'authorized')
  })

  it('asks again, as a new attempt naming the refused one, when Telegram refuses a code', async () => {
    const job = userJob('9996631912')
    assert.equal(state(await step(job)), 'wait(1000)')
    await publishCode(redis, { phone: job.data.account, code: '00000', attempt: '1' }, { prefix })
    assert.equal(state(await step(job)), 'wait(1000)')
    assert.equal(job.data.codeAttempt, 2)
    assert.equal(job.data.codeFailures, 1)
    const request = await redis.hgetall(names.request(job.data.account))
    assert.equal(request['attempt'], '2', 'a new request: providers see it')
    assert.equal(request['refusedAttempt'], '1')
    assert.ok(Number(request['timeoutSec']) <= 20, 'what is left of the login')
    // A provider (or a human, by phone only) delivers the right code: it goes to the new attempt.
    assert.equal(
      (await publishCode(redis, { phone: job.data.account, code: codeOf(job.data.account) }, { prefix })).attempt,
      '2',
    )
    assert.equal(state(await step(job)), 'authorized')
  })

  it('blocks for a code only on the first look after asking; later rechecks look once and hand the slot back', async () => {
    const job = userJob('9996631913')
    assert.equal(state(await step(job)), 'wait(1000)')
    let t = Date.now()
    assert.equal(state(await step(job)), 'wait(1000)')
    assert.ok(Date.now() - t >= 250, 'the first look waits a slice (300 ms here)')
    t = Date.now()
    assert.equal(state(await step(job)), 'wait(1000)')
    assert.ok(Date.now() - t < 150, `a recheck does not block (${Date.now() - t} ms)`)
    await publishCode(redis, { phone: job.data.account, code: codeOf(job.data.account) }, { prefix })
    assert.equal(state(await step(job)), 'authorized')
  })
})
