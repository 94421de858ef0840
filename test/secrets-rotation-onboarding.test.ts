// Master key rotation under a running onboarding, the way the README says to do it: while logins wait for their
// codes, every process moves to the new key (a new worker with the new key current and the old one readable, the
// old worker stopped, the code provider and the coordinator switched), and `gramfarm keys rotate` runs while the
// new worker works. The onboarding ends with every account authorized; from the end of the rotation on, no value
// in Redis is sealed under the old key; every session logs in (getMe) with the new key alone. Then a worker left
// with only the old key (now the wrong one) fails the jobs it takes with SealedValueError naming the new key's id,
// and changes none of the farm's sessions; a worker started with only the old key refuses to start.
// Test DC over loopback, real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { keyringFromSpec, type KeyringSpec } from '../src/foundation/master-key-source.ts'
import { Keyring, SealedValueError, type Sealer } from '../src/foundation/sealed-value.ts'
import { resultsKey, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import type { RedisClient } from '../src/queue/redis-connection.ts'
import { listKeys } from '../src/queue/redis-scan.ts'
import { REDIS_URL, runCli, sink, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'
import type { FarmWorker } from '../src/worker/farm-worker.ts'
import { getMeWithRedisSession } from './support/redis-session-login.ts'

const USERS = Array.from({ length: 10 }, (_, i) => `99966211${50 + i}`)
const VAULT_2FA = ['9996631251', '9996631252']
const PROVIDER_2FA = '9996641253'
const BOT_TOKEN = '7200000051:AAFakeTokenForRotationTest000000051'
const LATE_USER = '9996621161'
const LATE_BOT = '7200000052:AAFakeTokenForRotationTest000000052'
const SEED = {
  users: [
    ...VAULT_2FA.map((phone) => ({ phone, password: { password: `pw-${phone}`, hint: 'h' } })),
    { phone: PROVIDER_2FA, password: `pw-${PROVIDER_2FA}`, passwordViaProvider: true },
  ],
  bots: [
    { token: BOT_TOKEN, dcId: 2 },
    { token: LATE_BOT, dcId: 2 },
  ],
}

const oldHex = randomBytes(32).toString('hex')
const newHex = randomBytes(32).toString('hex')
const oldSpec: KeyringSpec = { current: oldHex, old: [], requireEncryption: false }
/** What every process runs with during the rotation: the new key seals, the old one stays readable. */
const rotatingSpec: KeyringSpec = { current: newHex, old: [oldHex], requireEncryption: false }
const oldRing = keyringFromSpec(oldSpec)
const rotatingRing = keyringFromSpec(rotatingSpec)
const newOnly = keyringFromSpec({ current: newHex, old: [], requireEncryption: false })
const OLD_ID = oldRing.current!.id
const NEW_ID = newOnly.current!.id

/** A long-running process "restarted" with other keys: its sealer switched in place (the code provider, a coordinator). */
class SwitchableSealer implements Sealer {
  constructor(public ring: Keyring) {}
  get encrypting(): boolean {
    return this.ring.encrypting
  }
  get requireEncryption(): boolean {
    return this.ring.requireEncryption
  }
  seal(value: string | Uint8Array, boundTo: string): string {
    return this.ring.seal(value, boundTo)
  }
  open(stored: string, boundTo: string): Buffer {
    return this.ring.open(stored, boundTo)
  }
  openText(stored: string, boundTo: string): string {
    return this.ring.openText(stored, boundTo)
  }
  needsReseal(stored: string): boolean {
    return this.ring.needsReseal(stored)
  }
}

const providerSealer = new SwitchableSealer(oldRing)
const coordinatorSealer = new SwitchableSealer(oldRing)

let farm: Farm
let staleWorker: FarmWorker | undefined

before(async () => {
  // Codes arrive over 2 to 25 s: the onboarding is still waiting on most of them when the rotation runs.
  farm = await startFarm({
    tag: 'secrets-rotation-run',
    seed: SEED,
    provider: { sealer: providerSealer, delayMs: [2000, 25_000] },
  })
})

after(async () => {
  await farm.stop()
})

/** Every place under the prefix holding a value sealed under key `keyId` (any key type, any field). */
async function sealedUnder(redis: RedisClient, prefix: string, keyId: string): Promise<string[]> {
  const mark = `gfs1.${keyId}.`
  const found: string[] = []
  for (const key of await listKeys(redis, `${prefix}*`)) {
    const type = await redis.type(key)
    const values: [string, Buffer][] = []
    if (type === 'string') {
      const v = await redis.getBuffer(key)
      if (v) values.push(['', v])
    } else if (type === 'hash') {
      for (const [f, v] of Object.entries(await redis.hgetallBuffer(key))) values.push([f, v])
    } else if (type === 'list') {
      for (const v of await redis.lrangeBuffer(key, 0, -1)) values.push(['', v])
    } else if (type === 'set') {
      for (const v of await redis.smembersBuffer(key)) values.push(['', v])
    } else if (type === 'zset') {
      for (const v of await redis.zrangeBuffer(key, '0', '-1')) values.push(['', v])
    } else if (type === 'stream') {
      for (const [, fields] of await redis.xrangeBuffer(key, '-', '+')) for (const v of fields) values.push(['', v])
    }
    for (const [field, v] of values)
      if (v.toString('latin1').includes(mark)) found.push(`${key.slice(prefix.length)}${field ? `#${field}` : ''}`)
  }
  return found
}

function accountsJson(users: readonly string[], bots: readonly string[], passwords: Record<string, string> = {}) {
  return parseAccounts(
    JSON.stringify([
      ...users.map((phone) => ({ kind: 'user', phone, ...(passwords[phone] ? { password: passwords[phone] } : {}) })),
      ...bots.map((token) => ({ kind: 'bot', token })),
    ]),
    { file: 'accounts.json' },
  )
}

describe('keys rotate during a running onboarding', () => {
  const runId = `run-rotation-${randomBytes(3).toString('hex')}`
  const sessions = new Map<string, string>() // session name → user id

  it(
    'every login ends authorized, nothing stays under the old key, every session logs in with the new key alone',
    {
      timeout: 240_000,
    },
    async (t) => {
      const oldWorker = await farm.startWorker({ keyring: oldSpec, codeTimeoutMs: 60_000, recheckMs: 300 })
      // A worker that will be left running with the old key alone (the second test; its code wait outlasts the
      // provider's 25 s so the login ends on the sealed code, not a timeout): started before any job is
      // queued and paused at once, so it takes none until then.
      staleWorker = await farm.startWorker({ keyring: oldSpec, codeTimeoutMs: 60_000, recheckMs: 300 })
      await staleWorker.worker.pause(true)
      const passwords = Object.fromEntries(VAULT_2FA.map((p) => [p, `pw-${p}`]))
      const specs = accountsJson([...USERS, ...VAULT_2FA, PROVIDER_2FA], [BOT_TOKEN], passwords)
      const onboarding = runOnboarding(farm.redis, farm.prefix, specs, {
        runId,
        progress: false,
        timeoutMs: 180_000,
        stdout: sink(),
        stderr: sink(),
        sealer: coordinatorSealer,
      })
      const results = resultsKey(farm.prefix, runId)
      // Some logins have ended, most still wait for their codes (sealed under the old key so far).
      await waitFor('the first logins to end', async () => (await farm.redis.hlen(results)) >= 1, 60_000, 50)
      assert.ok(
        (await sealedUnder(farm.redis, farm.prefix, OLD_ID)).length > 0,
        'values under the old key before the rotation',
      )

      // Every process moves to the new key (the old readable), readers before writers: a new worker starts and the
      // old one stops before the provider and the coordinator seal under the new key — a step of the old worker
      // still running would otherwise meet a code it cannot open.
      const newWorker = await farm.startWorker({ keyring: rotatingSpec, codeTimeoutMs: 60_000, recheckMs: 300 })
      await oldWorker.close()
      providerSealer.ring = rotatingRing
      coordinatorSealer.ring = rotatingRing
      const endedBefore = await farm.redis.hlen(results)
      const rotation = await runCli(['--prefix', farm.prefix, '--redis-url', REDIS_URL, 'keys', 'rotate', '--json'], {
        env: { GRAMFARM_MASTER_KEY: newHex, GRAMFARM_OLD_MASTER_KEYS: oldHex },
      })
      const leftAfterRotation = await sealedUnder(farm.redis, farm.prefix, OLD_ID)
      const endedAfter = await farm.redis.hlen(results)
      assert.equal(rotation.code, 0, rotation.stderr)
      const summary = JSON.parse(rotation.stdout) as {
        keyId: string
        looked: number
        resealed: number
        raced: number
        unreadable: []
      }
      assert.equal(summary.keyId, NEW_ID)
      assert.deepEqual(summary.unreadable, [])
      assert.ok(summary.resealed > 0, JSON.stringify(summary))
      assert.ok(!rotation.stdout.includes(oldHex) && !rotation.stderr.includes(newHex))
      const total = specs.length
      assert.ok(endedBefore < total, `the rotation started with ${total - endedBefore} of ${total} logins running`)
      assert.ok(endedAfter < total, `the rotation ended with ${total - endedAfter} of ${total} logins running`)
      assert.deepEqual(leftAfterRotation, [], 'nothing under the old key once the rotation ended')
      t.diagnostic(
        `rotation: ${summary.resealed} re-sealed, ${summary.raced} changed meanwhile, of ${summary.looked}; ` +
          `logins running: ${total - endedBefore} at its start, ${total - endedAfter} at its end (of ${total})`,
      )

      const { outcome } = await onboarding
      assert.deepEqual(
        outcome.results.filter((r) => r.state !== 'authorized').map((r) => `${r.account}: ${r.state} ${r.error ?? ''}`),
        [],
      )
      assert.equal(outcome.results.length, total)
      assert.deepEqual(await sealedUnder(farm.redis, farm.prefix, OLD_ID), [], 'nor at the end of the run')
      await newWorker.close()

      // Every session works with the new key alone: a Client from it is the account (users.getUsers([inputUserSelf])).
      for (const r of outcome.results) {
        assert.ok(r.session && r.userId, `${r.account} has a session`)
        assert.equal(await getMeWithRedisSession(farm, r.session, newOnly), r.userId, `${r.account} logs in`)
        sessions.set(r.session, r.userId)
      }
    },
  )

  it(
    'a worker with only the old key fails its jobs naming the key id and corrupts nothing',
    {
      timeout: 180_000,
    },
    async () => {
      assert.ok(sessions.size > 0, 'runs after the rotation test')
      // Started with the old key alone, it cannot open the farm's job-id secret (now under the new key).
      await assert.rejects(farm.startWorker({ keyring: oldSpec }), (err: unknown) => {
        assert.ok(err instanceof SealedValueError, String(err))
        assert.equal(err.reason, 'unknown-key')
        assert.equal(err.keyId, NEW_ID)
        return true
      })
      // One left running through the rotation (it read the job-id secret before) meets the new key job by job.
      const before = new Map<string, Record<string, Buffer>>()
      for (const name of sessions.keys())
        before.set(name, await farm.redis.hgetallBuffer(`${sessionKeyPrefix(farm.prefix)}${name}`))
      coordinatorSealer.ring = newOnly
      providerSealer.ring = newOnly
      staleWorker!.worker.resume()
      const late = await runOnboarding(farm.redis, farm.prefix, accountsJson([LATE_USER], [LATE_BOT]), {
        progress: false,
        timeoutMs: 90_000,
        stdout: sink(),
        stderr: sink(),
        sealer: coordinatorSealer,
      })
      await staleWorker!.close()
      for (const r of late.outcome.results) {
        assert.equal(r.state, 'failed(SealedValueError)', `${r.account}: ${r.state} ${r.error ?? ''}`)
        assert.ok((r.error ?? '').includes(NEW_ID), `${r.account}: the error names the key id: ${r.error}`)
        assert.ok(!(r.error ?? '').includes(LATE_BOT.split(':')[1]!))
      }
      // The farm's sessions are byte for byte as they were, and still log in with the new key.
      for (const name of sessions.keys()) {
        assert.deepEqual(await farm.redis.hgetallBuffer(`${sessionKeyPrefix(farm.prefix)}${name}`), before.get(name))
      }
      const [first] = sessions
      assert.equal(await getMeWithRedisSession(farm, first![0], newOnly), first![1])
      assert.deepEqual(
        await sealedUnder(farm.redis, farm.prefix, OLD_ID),
        [],
        'the failed logins left nothing under the old key',
      )
    },
  )
})
