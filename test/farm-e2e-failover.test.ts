// The farm's Redis fails over in the middle of a run. A primary, its replica and a Sentinel (Debian's redis-server
// and redis-sentinel on free loopback ports): the farm reaches the primary through the Sentinel; the primary is
// killed after a stretch of farm writes that never reach the replica (it is stopped and cut off meanwhile), and
// Sentinel promotes the replica. Codes delivered in that stretch are gone with the old primary: the logins waiting
// for them ask again (the Redis epoch changed) instead of waiting out their deadline. Then an AOF-persistent Redis
// killed and restarted mid-run. In both, every login ends, none is authorized twice, and the report says what
// happened to each.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { Coordinator, type RunOutcome } from '../src/farm/coordinator.ts'
import { CodeChannelNames } from '../src/queue/code-channel.ts'
import { duplicateRedis } from '../src/queue/redis-connection.ts'
import { startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'
import { startSentinelGroup } from './support/redis-sentinel.ts'
import { startRedisServer } from './support/redis-servers.ts'

/** Test numbers on every DC, distinct per test: 99966 X 4YYY. */
function phones(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `99966${1 + ((from + i) % 5)}${4000 + from + i}`)
}

function users(list: readonly string[], file: string): AccountSpec[] {
  return list.map((phone, i) => ({ kind: 'user', phone, source: { file, line: i + 1 } }))
}

function assertAuthorizedOnce(farm: Farm, outcome: RunOutcome): void {
  for (const r of outcome.results) {
    const user = farm.testDc.accounts.userByPhone(r.account)
    assert.ok(user, `${r.account} has an account`)
    const sessions = farm.testDc.accounts.sessionsOf(user.id).length
    assert.ok(sessions <= 1, `${r.account} authorized ${sessions} times (${r.state})`)
    if (r.state === 'authorized') assert.equal(sessions, 1, `${r.account} is authorized on the DC`)
  }
}

const WORKER = { codeTimeoutMs: 60_000, recheckMs: 500, lockDurationMs: 5_000, stalledIntervalMs: 2_000 }

describe('Redis failover during a run', () => {
  it(
    'Sentinel promotes the replica mid-run: lost codes are asked for again, every login ends, none twice',
    { timeout: 240_000 },
    async () => {
      const group = await startSentinelGroup()
      const list = phones(0, 24)
      const twoFa = list.slice(0, 4)
      // When the DC sent each phone its code, and when the provider's delivery of it reached the farm's Redis.
      const sentAt = new Map<string, number>()
      const deliveredAt = new Map<string, number>()
      const farm = await startFarm({
        tag: 'e2e-failover',
        redis: group.endpoint,
        seed: { users: twoFa.map((phone) => ({ phone, password: `pw-${phone}`, passwordViaProvider: true })) },
        // Codes trickle in over seconds, so the failover finds logins in every step.
        provider: {
          delayMs: [200, 2_500],
          onCode: (d, outcome) => {
            if (outcome === 'delivered' && !sentAt.has(d.phone)) sentAt.set(d.phone, Date.now())
          },
        },
      })
      const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
      const deliveries = duplicateRedis(farm.redis, { maxRetriesPerRequest: null })
      try {
        await deliveries.subscribe(new CodeChannelNames(farm.prefix).deliveredChannel)
        deliveries.on('message', (_channel: string, json: string) => {
          const phone = (JSON.parse(json) as { phone?: string }).phone
          if (phone !== undefined && !deliveredAt.has(phone)) deliveredAt.set(phone, Date.now())
        })
        await farm.startWorker(WORKER)
        const run = await coordinator.enqueue(users(list, 'failover.txt'))
        const following = coordinator.follow(run, { timeoutMs: 180_000 })
        await waitFor('a few codes delivered', () => farm.provider.stats.codesDelivered >= 6, 60_000)
        let lostUnused: string[] = []
        const promotionMs = await group.failover(async () => {
          // The farm works on while its writes stay on the primary only, until at least two codes asked for before
          // this stretch are in them: those are lost with it, while the requests survive on the replica (a code
          // asked for and delivered within the stretch is lost with its request, and asked for anew instead; 200 ms
          // covers the farm's write of a request after the DC sent its code).
          const stretch = Date.now()
          const askedBeforeDeliveredIn = (): string[] =>
            [...deliveredAt]
              .filter(([phone, at]) => at >= stretch && (sentAt.get(phone) ?? Infinity) < stretch - 200)
              .map(([phone]) => phone)
          await waitFor(
            'codes asked for earlier, delivered to the doomed primary',
            () => askedBeforeDeliveredIn().length >= 2,
            30_000,
          )
          // A lost code whose login the DC had already authorized needs no second asking: that login resumes as
          // authorized (its key is logged in). The others must be asked for again.
          lostUnused = askedBeforeDeliveredIn().filter(
            (phone) => farm.testDc.accounts.sessionsOf(farm.testDc.accounts.userByPhone(phone)!.id).length === 0,
          )
        })
        const outcome = await following
        assert.equal(outcome.timedOut, false, `the run ended (promotion took ${promotionMs} ms)`)
        const states = Object.fromEntries(outcome.results.map((r) => [r.account, r.state]))
        assert.deepEqual(
          states,
          Object.fromEntries(list.map((p) => [p, 'authorized'])),
          'every login in flight finished or was retried',
        )
        assertAuthorizedOnce(farm, outcome)
        if (lostUnused.length > 0)
          assert.ok(
            farm.provider.stats.codesRedelivered >= 1,
            `codes lost with the old primary (${lostUnused.length}, their logins not yet authorized) were asked for again`,
          )
      } finally {
        deliveries.disconnect()
        await coordinator.close()
        await farm.stop()
      }
    },
  )

  it(
    'an AOF Redis killed and restarted mid-run loses nothing: every login ends authorized, once',
    { timeout: 180_000 },
    async () => {
      const server = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''] })
      const list = phones(40, 16)
      const farm = await startFarm({
        tag: 'e2e-aof',
        redis: { url: server.url },
        provider: { delayMs: [200, 2_000] },
      })
      const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
      try {
        await farm.startWorker(WORKER)
        const run = await coordinator.enqueue(users(list, 'aof.txt'))
        const following = coordinator.follow(run, { timeoutMs: 120_000 })
        await waitFor('a few codes delivered', () => farm.provider.stats.codesDelivered >= 4, 60_000)
        await server.stop('SIGKILL')
        await new Promise((r) => setTimeout(r, 500))
        await server.restart()
        const outcome = await following
        assert.equal(outcome.timedOut, false)
        assert.deepEqual(
          Object.fromEntries(outcome.results.map((r) => [r.account, r.state])),
          Object.fromEntries(list.map((p) => [p, 'authorized'])),
        )
        assertAuthorizedOnce(farm, outcome)
      } finally {
        await coordinator.close()
        await farm.stop()
      }
    },
  )
})
