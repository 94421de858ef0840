// Urgency order in the farm worker: a login whose code arrived runs its next step before logins that have not
// started (a code expires; a new login can wait), and new logins still progress while codes keep coming.
// Real Redis on 127.0.0.1:6379 under a prefix of this file; the in-process test DC.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import type { AccountResult } from '../src/farm/coordinator.ts'
import { Coordinator } from '../src/farm/coordinator.ts'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { CodeProviderClient, type CodeRequestMessage } from '../src/queue/code-channel.ts'
import { duplicateRedis } from '../src/queue/redis-connection.ts'
import { StartGate } from '../src/worker/start-gate.ts'
import { sleep, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

/** Logins that wait for their codes: the test DC drops their SMS, the test delivers the code (99966 X … → XXXXX). */
const WAITING = Array.from({ length: 20 }, (_, i) => `99966${1 + (i % 3)}${String(2000 + i).padStart(4, '0')}`)
/** New logins, started while the waiting ones get their codes (their codes come from the simulated provider). */
const NEW = Array.from({ length: 60 }, (_, i) => `99966${1 + (i % 3)}${String(3000 + i).padStart(4, '0')}`)
const codeOf = (phone: string): string => phone[5]!.repeat(5)
const users = (phones: readonly string[]): AccountSpec[] =>
  phones.map((phone, i) => ({ kind: 'user', phone, source: { file: 'urgency', line: i + 1 } }))

describe('StartGate', () => {
  it('runs at most `limit` at once, in arrival order', async () => {
    const gate = new StartGate(2)
    let running = 0
    let most = 0
    const order: number[] = []
    const task = (i: number) => async () => {
      running++
      most = Math.max(most, running)
      await sleep(5)
      order.push(i)
      running--
    }
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => gate.run(task(i))))
    assert.equal(most, 2)
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5])
    assert.equal(gate.inFlight, 0)
  })

  it('frees its slot when the step throws', async () => {
    const gate = new StartGate(1)
    await assert.rejects(gate.run(() => Promise.reject(new Error('x'))))
    assert.equal(await gate.run(() => Promise.resolve(7)), 7)
  })
})

/** How many of this process's threads run at `nice` (/proc/self/task/<tid>/stat, field 19). */
function threadsAtNice(nice: number): number {
  return readdirSync('/proc/self/task').filter((tid) => {
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return Number(fields[16]) === nice
  }).length
}

describe('farm urgency order', () => {
  let farm: Farm
  let coordinator: Coordinator
  let sub: Farm['redis'] | undefined
  const requested = new Map<string, number>()
  const requests: CodeRequestMessage[] = []

  before(async () => {
    farm = await startFarm({ tag: 'urgency', seed: { users: WAITING.map((phone) => ({ phone, dropCode: true })) } })
    sub = duplicateRedis(farm.redis, { maxRetriesPerRequest: null })
    await sub.subscribe(`${farm.prefix}code:requests`)
    sub.on('message', (_c: string, json: string) => {
      const req = JSON.parse(json) as CodeRequestMessage
      requested.set(req.phone, Date.now())
      requests.push(req)
    })
    coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
  })
  after(async () => {
    sub?.disconnect()
    await coordinator?.close()
    await farm?.stop()
  })

  it('a login whose code arrived goes before new logins, and new logins progress while codes keep coming', async () => {
    // Few starts at once, so that the new logins queue: under FIFO a code would wait behind all of them.
    const worker = await farm.startWorker({ threads: 1, concurrency: 32, startConcurrency: 2, codeTimeoutMs: 120_000 })
    // The start thread runs at nice 10 (Linux keeps a nice value per thread): this process's threads at 10.
    assert.equal(threadsAtNice(10), 1, 'one start thread, niced')
    const waitingRun = await coordinator.enqueue(users(WAITING))
    const waitingSet = new Set(WAITING)
    await waitFor('every waiting login asked for its code', () => WAITING.every((p) => requested.has(p)), 300_000)
    const waitingDone = coordinator.follow(waitingRun, { timeoutMs: 180_000, pollMs: 100 })

    const newRun = await coordinator.enqueue(users(NEW))
    const newSet = new Set(NEW)
    await waitFor('new logins under way', () => NEW.some((p) => requested.has(p)), 60_000)

    // A steady flow of codes: one every 40 ms, for as long as the new logins are still starting.
    const provider = new CodeProviderClient({ redis: farm.redis, prefix: farm.prefix })
    const deliveredAt = new Map<string, number>()
    const flowStart = Date.now()
    for (const phone of WAITING) {
      deliveredAt.set(phone, Date.now())
      await provider.deliverCode({ phone, code: codeOf(phone) }) // to the login's current attempt
      await sleep(40)
    }
    const flowEnd = Date.now()
    const startedDuringFlow = [...requested].filter(([p, t]) => newSet.has(p) && t > flowStart && t <= flowEnd).length
    const notStartedAtFlowEnd = NEW.filter((p) => !requested.has(p) || requested.get(p)! > flowEnd).length

    const waitingOut = await waitingDone
    const newOut = await coordinator.follow(newRun, { timeoutMs: 300_000, pollMs: 100 })
    const authorized = (rs: readonly AccountResult[]): number => rs.filter((r) => r.state === 'authorized').length
    assert.equal(authorized(waitingOut.results), WAITING.length, JSON.stringify(waitingOut.results.slice(0, 3)))
    assert.equal(authorized(newOut.results), NEW.length)

    // Urgency: between a code's delivery and its session, only the few new logins already holding the start gate
    // (2) could get their code request out — under FIFO a promoted code step waits behind every queued new login.
    const overtaken = waitingOut.results.map((r) => {
      const from = deliveredAt.get(r.account)!
      return NEW.filter((p) => (requested.get(p) ?? Infinity) > from && requested.get(p)! <= r.finishedAt!).length
    })
    overtaken.sort((a, b) => a - b)
    const worst = overtaken[overtaken.length - 1]!
    assert.ok(notStartedAtFlowEnd > 0 || startedDuringFlow > 0, 'the new logins were all done before the codes came')
    assert.ok(
      worst <= 12,
      `a code waited while ${worst} new logins started (median ${overtaken[overtaken.length >> 1]}); ${notStartedAtFlowEnd} new logins were still to start when the codes ended`,
    )
    // Nothing starves: new logins kept starting while codes kept coming.
    assert.ok(
      startedDuringFlow >= 3,
      `only ${startedDuringFlow} new logins started during ${flowEnd - flowStart} ms of codes`,
    )
    assert.ok(requests.filter((r) => waitingSet.has(r.phone)).length === WAITING.length, 'one code request each')
    // First steps ran on the start thread, every code's step on the finishing thread.
    assert.ok(
      worker.pool.completed >= WAITING.length + NEW.length,
      `${worker.pool.completed} steps on the start thread`,
    )
    assert.ok(
      worker.finishPool.completed >= WAITING.length + NEW.length,
      `${worker.finishPool.completed} finishing steps`,
    )
  })
})
