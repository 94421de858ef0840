// The accounts files in config/ work as the README runs them, against `gramfarm testdc --provider --accounts
// config/demo-accounts.testdc.json`: every account of accounts.example.txt, .csv and .json and every token of
// bots.example.txt ends authorized (the bots used to end token_invalid — their tokens were in no seed — and two
// CSV rows failed on proxies that nothing runs); the JSON file's QR slot is scanned with `gramfarm testdc scan`.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { REDIS_URL, runCli, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

const CONFIG = join(import.meta.dirname, '..', 'config')
let farm: Farm

before(async () => {
  farm = await startFarm({
    tag: 'cli-examples',
    seed: JSON.parse(readFileSync(join(CONFIG, 'demo-accounts.testdc.json'), 'utf8')) as unknown,
  })
  await farm.startWorker({ codeTimeoutMs: 60_000 })
})

after(
  async () => {
    await farm.stop()
  },
  { timeout: 60_000 },
)

const at = (): string[] => ['--redis-url', REDIS_URL, '--prefix', farm.prefix, '--testdc', farm.endpointFile]

describe('the example accounts files against the test DC', () => {
  for (const [command, file] of [
    ['onboard', 'accounts.example.txt'],
    ['onboard', 'accounts.example.csv'],
    ['bots', 'bots.example.txt'],
  ] as const) {
    it(`${command} config/${file}: every account authorized (exit 0)`, { timeout: 120_000 }, async () => {
      const r = await runCli([...at(), command, `config/${file}`, '--json'], { timeoutMs: 100_000 })
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
      const out = JSON.parse(r.stdout) as { accounts: { account: string; state: string }[] }
      assert.ok(out.accounts.length > 0)
      for (const row of out.accounts) assert.equal(row.state, 'authorized', `${row.account}: ${row.state}`)
    })
  }

  it(
    'onboard config/accounts.example.json: users, the bot, and the QR slot once scanned with testdc scan',
    { timeout: 120_000 },
    async () => {
      const running = runCli([...at(), 'onboard', 'config/accounts.example.json', '--json'], { timeoutMs: 100_000 })
      const keys = new FarmRedisKeys(farm.prefix)
      const url = await waitFor(
        'the QR code of desk-1',
        async () => {
          for (const key of await farm.redis.keys(`${keys.qrPrefix}qr-*`)) {
            const u = await farm.redis.hget(key, 'url')
            if (u) return u
          }
          return undefined
        },
        60_000,
      )
      const scan = await runCli([...at(), 'testdc', 'scan', url, '--as', '9996627401'])
      assert.equal(scan.code, 0, scan.stderr)
      const r = await running
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
      const out = JSON.parse(r.stdout) as { accounts: { account: string; kind: string; state: string }[] }
      assert.deepEqual(new Set(out.accounts.map((x) => x.kind)), new Set(['user', 'bot', 'qr']))
      for (const row of out.accounts) assert.equal(row.state, 'authorized', `${row.account}: ${row.state}`)
    },
  )
})
