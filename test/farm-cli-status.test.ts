// `gramfarm status --run`: a run as Redis remembers it, including the accounts it followed in another run's job
// (their results are under that run's id). Real Redis on 127.0.0.1:6379 under a prefix of this file; no worker:
// results are written as a worker writes them.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { Coordinator } from '../src/farm/coordinator.ts'
import { maskPhone } from '../src/foundation/logger.ts'
import { Keyring } from '../src/foundation/sealed-value.ts'
import { adoptPhoneMaskKey } from '../src/queue/phone-mask-key.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import type { LoginResult } from '../src/queue/login-job.ts'
import { resultsKey } from '../src/queue/redis-keys.ts'
import { REDIS_URL, redisClient, runCli, uniquePrefix } from './farm-e2e-harness.ts'

const prefix = uniquePrefix('cli-status')
let redis: Redis

before(() => {
  redis = redisClient()
})

after(async () => {
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
})

const at = (): string[] => ['--redis-url', REDIS_URL, '--prefix', prefix, '--log-level', 'warn']
const user = (phone: string): AccountSpec => ({ kind: 'user', phone, source: { file: 'a.txt', line: 1 } })

/** What a worker writes when a login of `runId` ends. */
async function writeResult(runId: string, account: string, state: LoginResult['state']): Promise<void> {
  const r: LoginResult = {
    account,
    kind: 'user',
    state,
    startedAt: Date.now() - 1000,
    finishedAt: Date.now(),
    ...(state === 'authorized' ? { userId: '42', dcId: 2, session: `user-${account}` } : {}),
  }
  await redis.hset(resultsKey(prefix, runId), account, JSON.stringify(r))
}

describe('gramfarm status --run', () => {
  it("counts the accounts a run followed in another run's job, and is done when they are", async () => {
    const coordinator = new Coordinator({ redis, prefix })
    try {
      await coordinator.enqueue([user('9996628001')], { runId: 'run-status-a' })
      const second = await coordinator.enqueue([user('9996628001'), user('9996628002')], { runId: 'run-status-b' })
      assert.equal(second.attached, 1)
      await writeResult('run-status-b', '9996628002', 'banned')
      const pending = await runCli([...at(), 'status', '--run', 'run-status-b', '--json'])
      assert.equal(pending.code, 4, pending.stderr)
      await writeResult('run-status-a', '9996628001', 'authorized')
      const done = await runCli([...at(), 'status', '--run', 'run-status-b', '--json'])
      assert.equal(done.code, 0, done.stderr)
      const run = JSON.parse(done.stdout) as {
        finished: number
        total: number
        accounts: { account: string; state: string; followedRun?: string; session?: string }[]
      }
      assert.deepEqual([run.finished, run.total], [2, 2])
      const followed = run.accounts.find((a) => a.account === '9996628001')
      assert.deepEqual(
        [followed?.state, followed?.followedRun, followed?.session],
        ['duplicate', 'run-status-a', undefined],
      )
    } finally {
      await coordinator.queue.obliterate({ force: true })
      await coordinator.close()
    }
  })

  it('masks phones in the --run table unless --show-phones', async () => {
    const masked = await runCli([...at(), 'status', '--run', 'run-status-b'])
    assert.equal(masked.code, 0, masked.stderr)
    // The CLI masks with the farm's key (kept in Redis); so does this process once it has adopted it.
    await adoptPhoneMaskKey(redis, prefix, Keyring.clear())
    assert.match(masked.stdout, new RegExp(maskPhone('9996628002').replace(/[+*]/g, '\\$&')))
    assert.doesNotMatch(masked.stdout, /9996628002|9996628001/)
    const shown = await runCli([...at(), 'status', '--run', 'run-status-b', '--show-phones'])
    assert.match(shown.stdout, /9996628002/)
  })

  it('exits 2 with a clear message for a run Redis does not know', async () => {
    const r = await runCli([...at(), 'status', '--run', 'run-nobody-ran'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /no run run-nobody-ran in Redis/)
    assert.equal(r.stdout, '')
  })
})
