// A Redis that goes away while a run is followed: a short outage is said on stderr (once) and ridden out, its
// recovery too; a Redis that stays away ends the run after --redis-timeout with exit 3 (its jobs stay queued)
// instead of hanging. Redis itself is never touched: the run reaches it through a TCP proxy this test cuts.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { Coordinator } from '../src/farm/coordinator.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { loginJobId, type LoginResult } from '../src/queue/login-job.ts'
import { resultsKey } from '../src/queue/redis-keys.ts'
import { runCli, scratchScope, sink, startRedisProxy, waitFor } from './farm-e2e-harness.ts'

const { prefix, redis, dir } = scratchScope('cli-redis-outage')

describe('Redis gone mid-run', () => {
  it(
    'says so once when Redis stops answering, and again when it is back, and the run finishes',
    { timeout: 60_000 },
    async () => {
      const proxy = await startRedisProxy()
      const viaProxy = new Redis(proxy.url, { maxRetriesPerRequest: null })
      viaProxy.on('error', () => undefined)
      const stderr = sink()
      try {
        let outage: Promise<void> | undefined
        const { outcome } = await runOnboarding(
          viaProxy,
          prefix,
          [{ kind: 'user', phone: '9996629101', source: { file: 'a.txt', line: 1 } }],
          {
            runId: 'run-outage-1',
            progress: false,
            stdout: sink(),
            stderr,
            timeoutMs: 30_000,
            redisWarnAfterMs: 1_000,
            redisTimeoutMs: 20_000,
            onEnqueued: (run) => {
              outage = proxy.outage(3_000)
              // The login ends while the coordinator cannot see Redis (as a worker elsewhere would write it).
              const r: LoginResult = {
                account: '9996629101',
                kind: 'user',
                state: 'banned',
                startedAt: Date.now(),
                finishedAt: Date.now(),
              }
              void redis.hset(resultsKey(prefix, run.runId), '9996629101', JSON.stringify(r))
            },
          },
        )
        await outage
        assert.deepEqual(
          outcome.results.map((r) => r.state),
          ['banned'],
        )
        const text = stderr.text()
        assert.match(text, /Redis has not answered for \d+ s; waiting for it \(giving up after 20 s/)
        assert.match(text, /Redis answers again/)
        assert.equal(text.match(/has not answered/g)?.length, 1, text)
      } finally {
        viaProxy.disconnect()
        await proxy.close()
      }
    },
  )

  it(
    'gives up after --redis-timeout with exit 3 and says the jobs stay queued, instead of hanging',
    { timeout: 60_000 },
    async () => {
      const proxy = await startRedisProxy()
      const file = join(dir, 'phones.txt')
      writeFileSync(file, '+9996629102\n')
      try {
        const running = runCli([
          '--redis-url',
          proxy.url,
          '--prefix',
          prefix,
          'onboard',
          file,
          '--run-id',
          'run-outage-2',
          '--redis-timeout',
          '2',
        ])
        await waitFor(
          'the run to be enqueued',
          async () => (await redis.exists(`${prefix}run:run-outage-2`)) === 1,
          20_000,
        )
        const queue = new Coordinator({ redis, prefix }).queue
        await waitFor(
          'its job',
          // Login jobs carry a priority: a queued one waits as 'prioritized'.
          async () => ['waiting', 'prioritized'].includes(await queue.getJobState(loginJobId('user', '9996629102'))),
          10_000,
        )
        await queue.close()
        const cut = Date.now()
        await proxy.close()
        const r = await running
        assert.equal(r.code, 3, r.stderr)
        assert.match(
          r.stderr,
          /Redis has not answered for \d+ s: gave up following run run-outage-2\. The jobs queued so far stay queued/,
        )
        assert.doesNotMatch(r.stderr, /internal error/)
        assert.ok(Date.now() - cut < 15_000, `exited ${Date.now() - cut} ms after Redis went away`)
      } finally {
        await proxy.close().catch(() => undefined)
      }
    },
  )
})
