// The farm under failures: a worker process SIGKILLed while its logins wait for codes, two coordinators with
// overlapping lists against two worker processes, and Redis gone mid-run — first frozen (every command hangs),
// then stopped (connections dropped, new ones refused) — for a few seconds each. Redis itself is never touched:
// the coordinator and the worker reach it through a TCP proxy that this test freezes and cuts, so other tests
// sharing the server (which DEBUG SLEEP or CLIENT PAUSE would freeze too) are not disturbed. Whatever happens,
// every account is authorized exactly once and nothing is lost. On the Redis the test file gives: the machine's in
// farm-e2e-resilience.test.ts; a 3-master Redis Cluster in farm-e2e-cluster.test.ts (without the outage test: a
// single TCP proxy cannot stand in front of a cluster, whose nodes announce their own addresses).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { Coordinator, type RunOutcome } from '../src/farm/coordinator.ts'
import { CodeChannelNames, publishCode } from '../src/queue/code-channel.ts'
import type { CodeDelivery } from '../src/testdc/accounts/index.ts'
import { Redis } from 'ioredis'
import {
  startFarm,
  startRedisProxy,
  waitFor,
  type Farm,
  type FarmOptions,
  type WorkerProcess,
} from './farm-e2e-harness.ts'

/** Test numbers on every DC, distinct per test: 99966 X 3YYY. */
function phones(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `99966${1 + ((from + i) % 5)}${3000 + from + i}`)
}

function users(list: readonly string[], file: string): AccountSpec[] {
  return list.map((phone, i) => ({ kind: 'user', phone, source: { file, line: i + 1 } }))
}

/** Every account of the phones is logged in exactly once on the test DC. */
function assertAuthorizedOnce(farm: Farm, list: readonly string[]): void {
  for (const phone of list) {
    const user = farm.testDc.accounts.userByPhone(phone)
    assert.ok(user, `${phone} has an account`)
    assert.equal(farm.testDc.accounts.sessionsOf(user.id).length, 1, `${phone} authorized exactly once`)
  }
}

function states(outcome: RunOutcome): Record<string, string> {
  return Object.fromEntries(outcome.results.map((r) => [r.account, r.state]))
}

export interface ResilienceSuiteOptions {
  /** The farm's Redis (default: the machine's). */
  readonly farm?: Partial<FarmOptions>
  /** Also freeze and cut Redis mid-run through a TCP proxy (one Redis only). Default true. */
  readonly redisOutage?: boolean
  readonly title?: string
}

/** A worker SIGKILLed mid-login, two coordinators with overlapping lists, and (one Redis) Redis frozen and cut. */
export function resilienceSuite(opts: ResilienceSuiteOptions = {}): void {
  describe(opts.title ?? 'resilience', () => {
    let farm: Farm
    const workers: WorkerProcess[] = []

    before(async () => {
      farm = await startFarm({ tag: 'e2e-resilience', provider: { delayMs: [20, 200] }, ...opts.farm })
    })

    after(
      async () => {
        await farm.stop()
      },
      { timeout: 60_000 },
    )

    it(
      'finishes every login on another worker after a worker process is SIGKILLed while they wait for codes',
      { timeout: 90_000 },
      async () => {
        const list = phones(0, 8)
        // Hold the codes the DC sends until the first worker is dead.
        const held: CodeDelivery[] = []
        farm.testDc.accounts.onCode = (d) => void held.push(d)
        const doomed = await farm.spawnWorker([
          '--code-timeout',
          '60',
          '--recheck',
          '1',
          '--lock-ms',
          '3000',
          '--stalled-ms',
          '1000',
        ])
        const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
        try {
          const run = await coordinator.enqueue(users(list, 'kill.txt'))
          await waitFor(
            'every login to ask for its code',
            async () =>
              held.length === list.length &&
              (
                await Promise.all(list.map((p) => farm.redis.exists(new CodeChannelNames(farm.prefix).request(p))))
              ).every((n) => n === 1),
          )
          await doomed.stop('SIGKILL')
          assert.equal(doomed.child.signalCode, 'SIGKILL')
          const survivor = await farm.spawnWorker([
            '--code-timeout',
            '60',
            '--recheck',
            '1',
            '--lock-ms',
            '3000',
            '--stalled-ms',
            '1000',
          ])
          workers.push(survivor)
          farm.provider.attach(farm.testDc.accounts)
          const delivered: string[] = []
          for (const d of held) {
            const r = await publishCode(farm.redis, { phone: d.phone, code: d.code }, { prefix: farm.prefix })
            delivered.push(`${d.phone}: ${r.status} ${r.attempt ?? '-'}`)
          }
          const outcome = await coordinator.follow(run, { timeoutMs: 30_000 })
          // What a failure needs to be read from CI's log alone: where each held code went, and both workers' logs.
          const tail = (text: string): string => text.split('\n').slice(-60).join('\n')
          assert.deepEqual(
            states(outcome),
            Object.fromEntries(list.map((p) => [p, 'authorized'])),
            `held codes: ${delivered.join('; ')}\n--- killed worker:\n${tail(doomed.output())}\n--- survivor:\n${tail(survivor.output())}`,
          )
          assertAuthorizedOnce(farm, list)
          assert.match(survivor.output(), /login finished/, 'the second worker did the work')
        } finally {
          farm.provider.attach(farm.testDc.accounts)
          await coordinator.close()
        }
      },
    )

    it(
      'authorizes each account once when two coordinators enqueue overlapping lists for two worker processes',
      { timeout: 90_000 },
      async () => {
        workers.push(await farm.spawnWorker(['--code-timeout', '60', '--recheck', '1']))
        const all = phones(10, 18)
        const first = all.slice(0, 12)
        const second = all.slice(6)
        const [redisA, redisB] = [farm.connect(), farm.connect()]
        const a = new Coordinator({ redis: redisA, prefix: farm.prefix })
        const b = new Coordinator({ redis: redisB, prefix: farm.prefix })
        try {
          const [runA, runB] = await Promise.all([a.enqueue(users(first, 'a.txt')), b.enqueue(users(second, 'b.txt'))])
          const [outA, outB] = await Promise.all([
            a.follow(runA, { timeoutMs: 30_000 }),
            b.follow(runB, { timeoutMs: 30_000 }),
          ])
          const sa = states(outA)
          const sb = states(outB)
          for (const phone of all) {
            const seen = [sa[phone], sb[phone]].filter((s) => s !== undefined)
            assert.equal(seen.filter((s) => s === 'authorized').length, 1, `${phone}: ${seen.join(', ')}`)
            assert.ok(
              seen.every((s) => s === 'authorized' || s === 'duplicate'),
              `${phone}: ${seen.join(', ')}`,
            )
          }
          assertAuthorizedOnce(farm, all)
        } finally {
          await a.close()
          await b.close()
          redisA.disconnect()
          redisB.disconnect()
        }
      },
    )

    it(
      'recovers when Redis freezes, then stops, for a few seconds mid-run, losing nothing',
      { timeout: 90_000, skip: opts.redisOutage === false && 'a TCP proxy cannot stand in front of a cluster' },
      async () => {
        // Only a worker behind the proxy from here on.
        for (const w of workers) await w.stop('SIGTERM')
        const proxy = await startRedisProxy()
        const redis = new Redis(proxy.url, { maxRetriesPerRequest: null })
        redis.on('error', () => undefined)
        // (closeGraceMs: BullMQ's close may wait forever on a blocking connection that lived through the outage)
        const worker = await farm.startWorker({
          redis: { url: proxy.url },
          threads: 1,
          codeTimeoutMs: 60_000,
          recheckMs: 1_000,
          closeGraceMs: 5_000,
        })
        const list = phones(30, 12)
        const coordinator = new Coordinator({ redis, prefix: farm.prefix })
        try {
          const run = await coordinator.enqueue(users(list, 'outage.txt'))
          const following = coordinator.follow(run, { timeoutMs: 40_000 })
          await waitFor(
            'the first code requests',
            async () => (await farm.redis.exists(new CodeChannelNames(farm.prefix).request(list[0]!))) === 1,
            10_000,
            20,
          )
          const cut = Date.now()
          await proxy.freeze(2_000)
          await proxy.outage(3_000)
          const outcome = await following
          assert.ok(Date.now() - cut >= 5_000, 'the run spanned the freeze and the outage')
          assert.deepEqual(states(outcome), Object.fromEntries(list.map((p) => [p, 'authorized'])))
          assertAuthorizedOnce(farm, list)
        } finally {
          await coordinator.close()
          await worker.close()
          redis.disconnect()
          await proxy.close()
        }
      },
    )
  })
}
