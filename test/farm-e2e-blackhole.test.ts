// The farm against DCs that blackhole their connections, as networks in front of Telegram do: every connection
// is accepted, then nothing is answered — from the first byte, or from the first encrypted message (after the
// auth-key exchange). Every job must still end with a clear state within its deadlines (failed(dc_unreachable),
// failed(timeout)), after a bounded number of attempts, and a worker with a login hanging on such a DC must stop
// within its grace period. Without the client's deadlines passed to the worker's logins, the jobs stayed active
// for the whole run.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { Coordinator, LOGIN_JOB_OPTIONS, type RunOutcome } from '../src/farm/coordinator.ts'
import { createLogger } from '../src/foundation/logger.ts'
import type { FarmWorker } from '../src/worker/farm-worker.ts'
import { sink, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'
import { startBlackholeDcs, type BlackholeDcs, type BlackholeMode } from './support/blackhole-dc.ts'

const BOT_TOKEN = '7300000001:AAFakeTokenForTestsOnly000000000001'
/** The worker's client deadlines here: short, so that five attempts of every job fit in a test. */
const DEADLINES = { connectTimeoutMs: 1_000, handshakeTimeoutMs: 1_000, requestTimeoutMs: 1_500 }
const CLOSE_GRACE_MS = 6_000

/**
 * The longest a job may take to end: each attempt is at most one call's deadline (the client retries lost
 * connections, not silent ones) plus a step's bookkeeping, then BullMQ's exponential backoff between attempts.
 */
const ATTEMPTS = LOGIN_JOB_OPTIONS.attempts
const BACKOFF_MS = Array.from({ length: ATTEMPTS - 1 }, (_, i) => LOGIN_JOB_OPTIONS.backoff.delay * 2 ** i).reduce(
  (a, b) => a + b,
  0,
)
const JOB_BOUND_MS = ATTEMPTS * (DEADLINES.requestTimeoutMs + 2_000) + BACKOFF_MS + 10_000

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'e2e-blackhole', seed: { bots: [{ token: BOT_TOKEN, dcId: 2 }] } })
})

after(
  async () => {
    await farm.stop()
  },
  { timeout: 60_000 },
)

function specs(phones: readonly string[], file: string, bot: boolean): AccountSpec[] {
  const users: AccountSpec[] = phones.map((phone, i) => ({ kind: 'user', phone, source: { file, line: i + 1 } }))
  return bot ? [...users, { kind: 'bot', token: BOT_TOKEN, source: { file, line: phones.length + 1 } }] : users
}

function states(outcome: RunOutcome): Record<string, string> {
  return Object.fromEntries(outcome.results.map((r) => [r.account, r.state]))
}

/** A worker whose logins reach the test DC only through `hole`; its log is kept. */
async function workerBehind(hole: BlackholeDcs, log: ReturnType<typeof sink>): Promise<FarmWorker> {
  return farm.startWorker({
    testDc: { dcs: hole.dcs, publicKeyPem: farm.testDc.endpoint.publicKeyPem },
    ...DEADLINES,
    closeGraceMs: CLOSE_GRACE_MS,
    logger: createLogger({ level: 'info', destination: log }),
  })
}

async function runAgainst(mode: BlackholeMode, phones: readonly string[], expected: string): Promise<void> {
  const hole = await startBlackholeDcs(farm.testDc.endpoint.dcs, mode)
  const log = sink()
  const worker = await workerBehind(hole, log)
  const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
  try {
    const run = await coordinator.enqueue(specs(phones, `${mode}.txt`, true))
    const started = Date.now()
    const outcome = await coordinator.follow(run, { timeoutMs: JOB_BOUND_MS })
    const took = Date.now() - started
    assert.equal(
      outcome.timedOut,
      false,
      `the run did not end within ${JOB_BOUND_MS} ms: ${JSON.stringify(states(outcome))}`,
    )
    assert.deepEqual(
      states(outcome),
      Object.fromEntries([...phones, `bot${BOT_TOKEN.split(':')[0]}`].map((a) => [a, expected])),
    )
    assert.ok(took < JOB_BOUND_MS, `took ${took} ms`)
    // Retried as passing trouble, a bounded number of times: each attempt connected at least once.
    const accounts = phones.length + 1
    assert.ok(
      hole.connections() >= accounts * ATTEMPTS,
      `${hole.connections()} connections for ${accounts} accounts × ${ATTEMPTS} attempts`,
    )
    assert.equal(hole.unreadable(), 0, 'the logins use the intermediate framing the blackhole reads')
    if (mode === 'after-key-exchange')
      assert.ok(hole.silencedAfterKeyExchange() >= accounts, 'the key exchanges went through')
    // Nobody was logged in, and nothing is left waiting.
    for (const phone of phones)
      assert.equal(farm.testDc.accounts.userByPhone(phone), undefined, `${phone} never reached auth.sendCode`)
  } finally {
    await coordinator.close()
    const closing = Date.now()
    await worker.close()
    assert.ok(Date.now() - closing < CLOSE_GRACE_MS, 'the worker stopped within its grace period')
    await hole.close()
  }
  assert.doesNotMatch(log.text(), /did not stop in time/)
}

describe('a farm run against DCs that blackhole connections', () => {
  it(
    'ends every job failed(dc_unreachable) when the DCs accept TCP and never answer',
    { timeout: 180_000 },
    async () => {
      await runAgainst('silent', ['9996627001', '9996637002'], 'failed(dc_unreachable)')
    },
  )

  it('ends every job failed(timeout) when the DCs go silent after the key exchange', { timeout: 180_000 }, async () => {
    await runAgainst('after-key-exchange', ['9996627101', '9996637102'], 'failed(timeout)')
  })

  it('stops a worker within its grace period while its login hangs on a silent DC', { timeout: 60_000 }, async () => {
    const hole = await startBlackholeDcs(farm.testDc.endpoint.dcs, 'after-key-exchange')
    const log = sink()
    // A call deadline longer than the grace: the step cannot end by itself in time, the close must still.
    const worker = await farm.startWorker({
      testDc: { dcs: hole.dcs, publicKeyPem: farm.testDc.endpoint.publicKeyPem },
      ...DEADLINES,
      requestTimeoutMs: 60_000,
      closeGraceMs: 2_000,
      logger: createLogger({ level: 'info', destination: log }),
    })
    const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
    try {
      await coordinator.enqueue(specs(['9996627201'], 'grace.txt', false))
      await waitFor('a login silenced after its key exchange', () => hole.silencedAfterKeyExchange() >= 1, 20_000)
      const closing = Date.now()
      await worker.close()
      const took = Date.now() - closing
      // The grace, then a forced close with bounded steps (threads asked to close, the pool destroyed).
      assert.ok(took < 2_000 + 4_000, `close took ${took} ms`)
    } finally {
      await coordinator.close()
      await hole.close()
    }
  })
})
