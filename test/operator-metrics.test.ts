// /metrics (issue 12): after an onboarding, `gramfarm serve`'s counters equal the report's rows (logins by kind
// and state, the duration histogram's count), the code-wait histogram saw the codes, sendCode pacing and queue
// depth are there; a worker's own /metrics (`--metrics-port`) counts what that worker did.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { startOperatorServer, type OperatorServer } from '../src/operator/operator-server.ts'
import { WorkerMetrics, serveWorkerMetrics } from '../src/worker/worker-metrics.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { recordFloodWait } from '../src/queue/flood-waits.ts'
import { RATE_BUCKET_MS, countSendCode, readSendCodeRates } from '../src/queue/send-code-rates.ts'
import { sink, sleep, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

const PHONES = ['9996621401', '9996631402', '9996621403']
const BANNED = '9996621404'

let farm: Farm
let server: OperatorServer

before(async () => {
  farm = await startFarm({ tag: 'operator-metrics', seed: { users: [{ phone: BANNED, banned: true }] } })
  server = await startOperatorServer({
    redis: farm.redis,
    prefix: farm.prefix,
    tokens: { codes: [], admin: [], webhook: [] },
  })
})

after(async () => {
  await server?.close()
  await farm?.stop()
})

/** `name{labels} value` lines of an exposition, as [labels, value]. */
export function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = []
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`).exec(line)
    if (!m) continue
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]))
    out.push({ labels, value: Number(m[2]) })
  }
  return out
}

describe('/metrics', () => {
  it('counts what the report holds', { timeout: 120_000 }, async () => {
    const metrics = new WorkerMetrics()
    const own = await serveWorkerMetrics(metrics, 0)
    const worker = await farm.startWorker({ metrics })
    try {
      const base = join(farm.dir, 'metrics-report')
      const result = await runOnboarding(
        farm.redis,
        farm.prefix,
        parseAccounts(`${[...PHONES, BANNED].join('\n')}\n`, { format: 'phones' }),
        {
          timeoutMs: 90_000,
          progress: false,
          report: base,
          stdout: sink(),
          stderr: sink(),
        },
      )
      assert.equal(result.outcome.timedOut, false)
      const report = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { accounts: { kind: string; state: string }[] }
      const expected: Record<string, number> = {}
      for (const a of report.accounts) expected[`${a.kind}|${a.state}`] = (expected[`${a.kind}|${a.state}`] ?? 0) + 1
      assert.deepEqual(expected, { 'user|authorized': 3, 'user|banned': 1 })

      const res = await fetch(`${server.url}/metrics`)
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
      const text = await res.text()
      const logins = Object.fromEntries(
        samples(text, 'gramfarm_logins_total').map((s) => [`${s.labels.kind}|${s.labels.state}`, s.value]),
      )
      assert.deepEqual(logins, expected)
      assert.equal(samples(text, 'gramfarm_login_duration_seconds_count')[0]?.value, report.accounts.length)
      const inf = samples(text, 'gramfarm_login_duration_seconds_bucket').find((s) => s.labels.le === '+Inf')
      assert.equal(inf?.value, report.accounts.length)
      // Every authorized user waited for a code and got it.
      assert.equal(samples(text, 'gramfarm_code_wait_seconds_count')[0]?.value, PHONES.length)
      const granted = samples(text, 'gramfarm_send_code_total').find((s) => s.labels.result === 'granted')
      assert.ok((granted?.value ?? 0) >= PHONES.length + 1, text)
      assert.deepEqual(
        samples(text, 'gramfarm_queue_jobs')
          .map((s) => s.labels.state)
          .sort(),
        ['active', 'completed', 'delayed', 'failed', 'prioritized', 'waiting'],
      )
      assert.ok((samples(text, 'gramfarm_workers')[0]?.value ?? 0) >= 1)
      assert.equal(samples(text, 'gramfarm_worker_threads')[0]?.value, 1, 'the harness worker runs one thread')
      // sendCode as rates a minute: the codes just sent, over all DCs and on each DC the phones live on (2 and 3).
      const perMin = samples(text, 'gramfarm_send_code_per_minute').filter((s) => s.labels.result === 'sent')
      const rateOf = (dc: string): number => perMin.find((s) => s.labels.dc === dc)?.value ?? 0
      assert.ok(rateOf('all') > 0 && rateOf('2') > 0 && rateOf('3') > 0, text)
      assert.ok(Math.abs(rateOf('all') - rateOf('2') - rateOf('3')) < 0.15, 'the DCs add up to the whole')
      assert.equal(samples(text, 'gramfarm_except_ids')[0]?.value, PHONES.length)
      assert.equal(samples(text, 'gramfarm_redis_roundtrip_seconds_count')[0]?.value, 1)

      const mine = await (await fetch(`http://127.0.0.1:${own.port}/metrics`)).text()
      const workerLogins = Object.fromEntries(
        samples(mine, 'gramfarm_worker_logins_total').map((s) => [`${s.labels.kind}|${s.labels.state}`, s.value]),
      )
      assert.deepEqual(workerLogins, expected)
      assert.ok(samples(mine, 'gramfarm_worker_process_resident_memory_bytes').length === 1)
      assert.equal((await fetch(`http://127.0.0.1:${own.port}/other`)).status, 404)
    } finally {
      await worker.close()
      await own.close()
    }
  })

  it('shows the current FLOOD_WAIT of each DC, one longer than the pacing pause too, and its seconds summed', async () => {
    const keys = new FarmRedisKeys(farm.prefix).stats
    await recordFloodWait(farm.redis, keys, 4, 3600) // one phone's own limit: longer than the DC pause (60 s)
    await recordFloodWait(farm.redis, keys, 4, 30) // a shorter one does not shorten the current wait
    await recordFloodWait(farm.redis, keys, 5, 1)
    await sleep(1_100)
    const text = await (await fetch(`${server.url}/metrics`)).text()
    const current = (dc: string): number | undefined =>
      samples(text, 'gramfarm_flood_wait_current_seconds').find((s) => s.labels.dc === dc)?.value
    const total = (dc: string): number | undefined =>
      samples(text, 'gramfarm_flood_wait_seconds_total').find((s) => s.labels.dc === dc)?.value
    assert.ok(current('4')! > 3590 && current('4')! <= 3600, text)
    assert.deepEqual([total('4'), current('5'), total('5')], [3630, 0, 1])
    const data = (await (await fetch(`${server.url}/dashboard.json`)).json()) as {
      floodWaits: Record<string, { totalS: number; until: string | null; leftS: number }>
    }
    const dc4 = data.floodWaits['4']!
    assert.equal(dc4.totalS, 3630)
    const untilS = (Date.parse(dc4.until!) - Date.now()) / 1000
    assert.ok(untilS > 3580 && untilS < 3610 && Math.abs(untilS - dc4.leftS) < 5, JSON.stringify(dc4))
    assert.deepEqual(data.floodWaits['5'], { totalS: 1, until: null, leftS: 0 })
  })

  it('takes sendCode rates a minute over the window, the current partial bucket included', async () => {
    const keys = new FarmRedisKeys(`${farm.prefix}rates:`).stats
    const start = 1_700_000_000_000 - (1_700_000_000_000 % RATE_BUCKET_MS)
    const now = start + 5_000 // 5 s into the current bucket
    for (let i = 0; i < 6; i++) await countSendCode(farm.redis, keys, 2, 'sent', now - 30_000) // 3 buckets back
    for (let i = 0; i < 3; i++) await countSendCode(farm.redis, keys, 3, 'sent', now)
    await countSendCode(farm.redis, keys, 3, 'paced', now)
    await countSendCode(farm.redis, keys, 2, 'sent', now - 120_000) // outside a 1-minute window
    const r = await readSendCodeRates(farm.redis, keys, now, 60_000)
    // 6 buckets of 10 s: 5 full and the current 5 s, 55 s in all.
    const perMin = (n: number): number => Math.round((n * 60 * 10) / 55) / 10
    assert.deepEqual(r, {
      windowS: 60,
      global: { sentPerMin: perMin(9), pacedPerMin: perMin(1) },
      byDc: { '2': { sentPerMin: perMin(6), pacedPerMin: 0 }, '3': { sentPerMin: perMin(3), pacedPerMin: perMin(1) } },
    })
    assert.equal(
      (await readSendCodeRates(farm.redis, keys, now, 300_000)).byDc['2']?.sentPerMin,
      Math.round((7 * 60 * 10) / 295) / 10,
    )
  })

  it('is served by `gramfarm worker --metrics-port`', { timeout: 90_000 }, async () => {
    const p = await farm.spawnWorker(['--metrics-port', '0'])
    try {
      const url = await waitFor(
        'metrics url',
        () => /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(p.output())?.[1],
        10_000,
      )
      const text = await (await fetch(url)).text()
      assert.match(text, /# TYPE gramfarm_worker_logins_total counter/)
      assert.match(text, /# TYPE gramfarm_worker_code_wait_seconds histogram/)
    } finally {
      await p.stop()
    }
  })
})
