// A login's result is written to the run's results hash just before its job completes. After a Redis failover the
// first write can be gone (acknowledged by the old primary only) while the completion is not (it ran on the new
// one, and removed the job): the coordinator then takes the result from the completion's own event, written with
// the completion in one script, instead of reporting the login lost.
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { Worker } from 'bullmq'
import { Coordinator } from '../src/farm/coordinator.ts'
import { LOGIN_QUEUE, type LoginJobData, type LoginResult } from '../src/queue/login-job.ts'
import { FarmRedisKeys, resultsKey } from '../src/queue/redis-keys.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { redisClient, uniquePrefix } from './farm-e2e-harness.ts'

const prefix = uniquePrefix('lost-result')
const redis = redisClient()

after(async () => {
  await deleteKeysUnder(redis, prefix)
  redis.disconnect()
})

it('a completed login whose result write was lost is settled from its completion event, not as failed(lost)', async () => {
  const coordinator = new Coordinator({ redis, prefix })
  const connection = redisClient()
  const worker = new Worker<LoginJobData, LoginResult>(
    LOGIN_QUEUE,
    async (job) => {
      // The step authorized the account; its result write went to a primary that is gone.
      const now = Date.now()
      return {
        account: job.data.account,
        kind: 'user',
        state: 'authorized',
        userId: '777',
        startedAt: now - 5,
        finishedAt: now,
      }
    },
    { connection, prefix: new FarmRedisKeys(prefix).bullPrefix, autorun: false },
  )
  try {
    const run = await coordinator.enqueue([
      { kind: 'user', phone: '9996610001', source: { file: 'lost.txt', line: 1 } },
    ])
    const following = coordinator.follow(run, { timeoutMs: 15_000 })
    void worker.run()
    const outcome = await following
    assert.equal(outcome.timedOut, false)
    assert.deepEqual(
      outcome.results.map((r) => [r.account, r.state, r.userId]),
      [['9996610001', 'authorized', '777']],
    )
    assert.equal(await redis.hget(resultsKey(prefix, run.runId), '9996610001'), null, 'no result was written')
  } finally {
    await worker.close()
    connection.disconnect()
    await coordinator.close()
  }
})
