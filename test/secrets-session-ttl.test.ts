// Session records' lifetime in Redis: the operator's choice (sessionTtlSec / GRAMFARM_SESSION_TTL / worker
// --session-ttl), counted from the record's last write, on the session hash and its peer cache alike; by default
// they are kept until exported with --delete or deleted. A worker given a TTL writes its sessions with it, and
// `sessions export --delete` still takes them out. Test DC over loopback, real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { RedisSessionStorage, SessionStorageError } from '../src/auth/storage/index.ts'
import { workerOptionsOf } from '../src/cli/cli-context.ts'
import { CliError } from '../src/cli/exit-codes.ts'
import { loadFarmConfig } from '../src/cli/farm-config.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { REDIS_URL, runCli, sink, startFarm, type Farm } from './farm-e2e-harness.ts'

const TESTDC = { GRAMFARM_API_ID: '2040', GRAMFARM_API_HASH: '0123456789abcdef0123456789abcdef' }
const WITH_TTL = '9996621131'
const KEPT = '9996621132'

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'secrets-session-ttl' })
})

after(async () => {
  await farm.stop()
})

function storage(name: string, ttlSeconds?: number): RedisSessionStorage {
  return new RedisSessionStorage({
    redis: farm.redis,
    name,
    keyPrefix: sessionKeyPrefix(farm.prefix),
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
  })
}

const PEER = { id: 77n, accessHash: 5n, type: 'user' as const, username: 'ann', phone: null }

describe('session record lifetimes', () => {
  it('RedisSessionStorage: a TTL on the record and its peers from each write; none by default', async () => {
    const timed = storage('user-ttl', 600)
    await timed.open()
    await timed.save({ dcId: 2, authKey: randomBytes(256), userId: 5n })
    await timed.putPeers([PEER])
    for (const key of timed.keys) {
      const ttl = await farm.redis.ttl(key)
      assert.ok(ttl > 0 && ttl <= 600, `${key}: TTL ${ttl}`)
    }
    // a later write starts the lifetime again
    await farm.redis.expire(timed.key, 10)
    await timed.save({ userId: 6n })
    assert.ok((await farm.redis.ttl(timed.key)) > 10)

    const kept = storage('user-kept')
    await kept.open()
    await kept.save({ dcId: 2, authKey: randomBytes(256), userId: 7n })
    await kept.putPeers([PEER])
    for (const key of kept.keys) assert.equal(await farm.redis.ttl(key), -1, `${key} has no TTL`)

    assert.throws(() => storage('user-bad', 0), SessionStorageError)
    assert.throws(() => storage('user-bad', 1.5), SessionStorageError)
  })

  it('the config: sessionTtlSec < GRAMFARM_SESSION_TTL < --session-ttl, none by default, handed to the worker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gf-ttl-'))
    try {
      writeFileSync(join(dir, 'c.json'), JSON.stringify({ sessionTtlSec: 86400 }))
      assert.equal(loadFarmConfig({}, { ...TESTDC }, dir).sessionTtlSeconds, undefined)
      assert.equal(loadFarmConfig({ configFile: 'c.json' }, { ...TESTDC }, dir).sessionTtlSeconds, 86400)
      const env = { ...TESTDC, GRAMFARM_SESSION_TTL: '3600' }
      assert.equal(loadFarmConfig({ configFile: 'c.json' }, env, dir).sessionTtlSeconds, 3600)
      const flagged = loadFarmConfig({ configFile: 'c.json', sessionTtl: '120' }, env, dir)
      assert.equal(flagged.sessionTtlSeconds, 120)
      assert.equal(workerOptionsOf(flagged, undefined).sessionTtlSeconds, 120)
      assert.equal(workerOptionsOf(loadFarmConfig({}, { ...TESTDC }, dir), undefined).sessionTtlSeconds, undefined)
      for (const bad of ['0', '-5', '1.5', 'forever'])
        assert.throws(() => loadFarmConfig({ sessionTtl: bad }, { ...TESTDC }, dir), CliError, bad)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it(
    'a worker with a TTL writes the sessions it makes with it; without one they are kept; export --delete takes them out',
    { timeout: 120_000 },
    async () => {
      const onboard = (phone: string) =>
        runOnboarding(farm.redis, farm.prefix, parseAccounts(`+${phone}`, { file: `${phone}.txt` }), {
          progress: false,
          timeoutMs: 60_000,
          stdout: sink(),
          stderr: sink(),
        })
      const timedWorker = await farm.startWorker({ sessionTtlSeconds: 3600 })
      assert.equal((await onboard(WITH_TTL)).outcome.results[0]!.state, 'authorized')
      await timedWorker.close()
      const keptWorker = await farm.startWorker()
      assert.equal((await onboard(KEPT)).outcome.results[0]!.state, 'authorized')
      await keptWorker.close()

      const timedKey = `${sessionKeyPrefix(farm.prefix)}user-${WITH_TTL}`
      const keptKey = `${sessionKeyPrefix(farm.prefix)}user-${KEPT}`
      const ttl = await farm.redis.ttl(timedKey)
      assert.ok(ttl > 3000 && ttl <= 3600, `TTL ${ttl}`)
      assert.equal(await farm.redis.ttl(keptKey), -1, 'default: kept until exported or deleted')

      const out = join(farm.dir, 'exported')
      const run = await runCli([
        '--redis-url',
        REDIS_URL,
        '--prefix',
        farm.prefix,
        'sessions',
        'export',
        '--dir',
        out,
        '--account',
        WITH_TTL,
        KEPT,
        '--delete',
      ])
      assert.equal(run.code, 0, run.stderr)
      assert.ok(existsSync(join(out, `${WITH_TTL}.session`)) && existsSync(join(out, `${KEPT}.session`)))
      assert.equal(await farm.redis.exists(timedKey, keptKey), 0, 'removed from Redis')
    },
  )
})
