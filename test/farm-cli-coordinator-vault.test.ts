// Two coordinators and the secret vault: a run writes secrets only for the jobs it added, and a job that needs
// secrets never waits for a worker without them. Real Redis on 127.0.0.1:6379 under a prefix of this file; no
// worker runs (the jobs' states and the vault are looked at directly).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { Coordinator } from '../src/farm/coordinator.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { botAccountKey, loginJobId } from '../src/queue/login-job.ts'
import { SecretVault } from '../src/queue/secret-vault.ts'
import { redisClient, uniquePrefix } from './farm-e2e-harness.ts'

/** A worker takes a job in these states (login jobs carry a priority, so they wait as 'prioritized'). */
const RUNNABLE: ReadonlySet<string> = new Set(['waiting', 'prioritized'])

const prefix = uniquePrefix('cli-vault')
let redis: Redis
let vault: SecretVault

before(() => {
  redis = redisClient()
  vault = new SecretVault(redis, prefix)
})

after(async () => {
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
})

const bot = (token: string): AccountSpec => ({ kind: 'bot', token, source: { file: 'bots.txt', line: 1 } })
const user = (phone: string, password: string): AccountSpec => ({
  kind: 'user',
  phone,
  password,
  source: { file: 'a.csv', line: 2 },
})

describe('coordinator and the secret vault', () => {
  it("writes the secrets of a job it re-adds after another run's job of that account ended, before the job can run", async () => {
    const token = '7300000001:AAFakeTokenForTestsOnly000000000001'
    const jobId = loginJobId('bot', botAccountKey(token))
    const first = new Coordinator({ redis, prefix })
    const second = new Coordinator({ redis, prefix })
    try {
      await first.enqueue([bot(token)], { runId: 'run-vault-a' })
      // The first run's job ends while the second run enqueues: its end deletes its vault entry and the job.
      const seen: { state: string; token: string | undefined }[] = []
      const addBulk = second.queue.addBulk.bind(second.queue)
      second.queue.addBulk = async (jobs) => {
        if (seen.length === 0) {
          await vault.delete(jobId)
          await first.queue.remove(jobId)
        }
        const added = await addBulk(jobs)
        // What a worker would find the moment the job exists: runnable only with its token in the vault.
        seen.push({ state: await second.queue.getJobState(jobId), token: (await vault.get(jobId)).botToken })
        return added
      }
      const run = await second.enqueue([bot(token)], { runId: 'run-vault-b' })
      assert.equal(run.attached, 0)
      assert.equal(run.accounts[0]!.ownerRunId, 'run-vault-b')
      for (const s of seen)
        assert.ok(!RUNNABLE.has(s.state) || s.token === token, `runnable without its token: ${JSON.stringify(s.state)}`)
      assert.equal((await vault.get(jobId)).botToken, token)
      const state = await second.queue.getJobState(jobId)
      assert.ok(RUNNABLE.has(state), `released once its token is in the vault (${state})`)
    } finally {
      await first.queue.obliterate({ force: true })
      await first.close()
      await second.close()
    }
  })

  it("leaves the secrets of another run's job alone when it attaches to it", async () => {
    const phone = '9996627001'
    const jobId = loginJobId('user', phone)
    const first = new Coordinator({ redis, prefix })
    const second = new Coordinator({ redis, prefix })
    try {
      await first.enqueue([user(phone, "the first run's password")], { runId: 'run-vault-c' })
      const run = await second.enqueue([user(phone, "the second run's password")], { runId: 'run-vault-d' })
      assert.equal(run.attached, 1)
      assert.equal(run.accounts[0]!.ownerRunId, 'run-vault-c')
      assert.equal((await vault.get(jobId)).password, "the first run's password")
    } finally {
      await first.queue.obliterate({ force: true })
      await first.close()
      await second.close()
    }
  })

  it("refuses a run id already used (its jobs would look like this run's)", async () => {
    const coordinator = new Coordinator({ redis, prefix })
    try {
      await coordinator.enqueue([user('9996627002', 'pw')], { runId: 'run-vault-e' })
      await assert.rejects(
        coordinator.enqueue([user('9996627003', 'pw')], { runId: 'run-vault-e' }),
        /run id run-vault-e is already used/,
      )
    } finally {
      await coordinator.queue.obliterate({ force: true })
      await coordinator.close()
    }
  })
})
