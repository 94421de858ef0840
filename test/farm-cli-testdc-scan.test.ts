// `gramfarm testdc scan <url> --as <phone>`: a QR login of the farm (`gramfarm qr`) can be scanned from the
// command line against the local test DC, as the demo's simulated phones do — before, a `qr --testdc` slot could
// never be scanned by anyone. Bad input is exit 2, a token the DC refuses exit 1.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Coordinator } from '../src/farm/coordinator.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { REDIS_URL, runCli, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'cli-testdc-scan' })
  await farm.startWorker({ codeTimeoutMs: 60_000 })
})

after(
  async () => {
    await farm.stop()
  },
  { timeout: 60_000 },
)

describe('gramfarm testdc scan', () => {
  it(
    'scans the QR code of a farm QR login as a test number, and the login ends authorized as that account',
    { timeout: 120_000 },
    async () => {
      const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
      try {
        const run = await coordinator.enqueue([{ kind: 'qr', label: 'desk-1', source: { file: 'scan', line: 1 } }])
        const key = new FarmRedisKeys(farm.prefix).qr(run.accounts[0]!.jobId)
        const url = await waitFor('the QR code of desk-1', () => farm.redis.hget(key, 'url'), 30_000)
        assert.match(url, /^tg:\/\/login\?token=/)
        const r = await runCli([
          '--redis-url',
          REDIS_URL,
          '--testdc',
          farm.endpointFile,
          'testdc',
          'scan',
          url,
          '--as',
          '+99966 2 5551',
        ])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /scanned as/)
        const outcome = await coordinator.follow(run, { timeoutMs: 30_000 })
        assert.equal(outcome.results[0]?.state, 'authorized', JSON.stringify(outcome.results))
        const user = farm.testDc.accounts.userByPhone('9996625551')
        assert.ok(user)
        assert.equal(outcome.results[0]?.userId, String(user.id))
      } finally {
        await coordinator.close()
      }
    },
  )

  it(
    'refuses what is not a login URL (exit 2) and a token the DC does not know (exit 1)',
    { timeout: 60_000 },
    async () => {
      const bad = await runCli([
        '--testdc',
        farm.endpointFile,
        'testdc',
        'scan',
        'https://example.com/',
        '--as',
        '9996625552',
      ])
      assert.equal(bad.code, 2, bad.stderr)
      assert.match(bad.stderr, /not a QR login URL/)
      const unknown = await runCli([
        '--testdc',
        farm.endpointFile,
        'testdc',
        'scan',
        'tg://login?token=AAECAwQFBgcICQ',
        '--as',
        '9996625552',
      ])
      assert.equal(unknown.code, 1, unknown.stderr)
      assert.match(unknown.stderr, /refused the QR code/)
      const notTest = await runCli([
        '--testdc',
        farm.endpointFile,
        'testdc',
        'scan',
        'tg://login?token=AAECAwQFBgcICQ',
        '--as',
        '+1 202 555 0100',
      ])
      assert.equal(notTest.code, 2, notTest.stderr)
      assert.match(notTest.stderr, /not a test number/)
    },
  )
})
