// A worker given another master key than the farm's refuses to start (it cannot open the farm's job-id secret),
// and one that runs anyway (the secret not made yet) fails the jobs it touches with a clear error naming the key
// id; neither corrupts anything: the sessions sealed under the farm's key still open with it, unchanged.
// Test DC over loopback, real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { keyringFromSpec, type KeyringSpec } from '../src/foundation/master-key-source.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { SealedValueError } from '../src/foundation/sealed-value.ts'
import { sink, startFarm, type Farm } from './farm-e2e-harness.ts'

const FIRST = '9996621121'
const VAULT_2FA = '9996631221'
const PASSWORD = 'sealed under the farm key'
const SEED = { users: [{ phone: VAULT_2FA, password: { password: PASSWORD, hint: 'h' } }] }

const farmSpec: KeyringSpec = { current: randomBytes(32).toString('hex'), old: [], requireEncryption: false }
const wrongSpec: KeyringSpec = { current: randomBytes(32).toString('hex'), old: [], requireEncryption: false }
const farmKeyring = keyringFromSpec(farmSpec)

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'secrets-wrong-key', seed: SEED, provider: { sealer: farmKeyring } })
})

after(async () => {
  await farm.stop()
})

async function sessionBytes(name: string): Promise<Record<string, Buffer>> {
  return farm.redis.hgetallBuffer(`${sessionKeyPrefix(farm.prefix)}${name}`)
}

describe('a worker with the wrong master key', () => {
  it("fails its jobs with SealedValueError and leaves the farm's sessions as they were", async () => {
    const good = await farm.startWorker({ threads: 1, codeTimeoutMs: 8000, recheckMs: 300, keyring: farmSpec })
    const first = await runOnboarding(farm.redis, farm.prefix, parseAccounts(`+${FIRST}`, { file: 'a.txt' }), {
      progress: false,
      timeoutMs: 30_000,
      stdout: sink(),
      stderr: sink(),
      sealer: farmKeyring,
    })
    assert.equal(first.outcome.results[0]!.state, 'authorized')
    await good.close()
    const before = await sessionBytes(`user-${FIRST}`)
    assert.ok(before['authKey']!.toString('latin1').startsWith(`gfs1.${farmKeyring.current!.id}.`))

    await assert.rejects(farm.startWorker({ threads: 1, keyring: wrongSpec }), (err: unknown) => {
      assert.ok(err instanceof SealedValueError, String(err))
      assert.equal(err.reason, 'unknown-key')
      assert.equal(err.keyId, farmKeyring.current!.id)
      return true
    })
    // The job-id and phone-mask secrets are made by the first process that needs them: without them, a wrong-key
    // worker starts (and makes its own), and meets the farm's sealed values job by job.
    const keys = new FarmRedisKeys(farm.prefix)
    await farm.redis.del(keys.jobIdSecret, keys.phoneMaskSecret)
    await farm.startWorker({ threads: 1, codeTimeoutMs: 8000, recheckMs: 300, keyring: wrongSpec })
    await farm.redis.del(keys.jobIdSecret, keys.phoneMaskSecret)
    const second = await runOnboarding(
      farm.redis,
      farm.prefix,
      parseAccounts(`phone,password\n${VAULT_2FA},${PASSWORD}\n`, { file: 'b.csv' }),
      {
        progress: false,
        timeoutMs: 30_000,
        stdout: sink(),
        stderr: sink(),
        sealer: farmKeyring,
      },
    )
    const r = second.outcome.results[0]!
    assert.equal(r.state, 'failed(SealedValueError)')
    assert.match(JSON.stringify(r), new RegExp(farmKeyring.current!.id), 'the error names the key id')
    assert.ok(!JSON.stringify(r).includes(PASSWORD))

    // the farm's session is untouched and still opens with the farm's key
    assert.deepEqual(await sessionBytes(`user-${FIRST}`), before)
    const storage = new RedisSessionStorage({
      redis: farm.redis,
      name: `user-${FIRST}`,
      keyPrefix: sessionKeyPrefix(farm.prefix),
      sealer: farmKeyring,
    })
    await storage.open()
    const record = await storage.load()
    assert.equal(record!.userId !== null, true)
    assert.equal(record!.authKey!.length, 256)
  })
})
