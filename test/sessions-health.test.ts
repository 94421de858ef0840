// `sessions check` as farm jobs: accounts logged in through the farm, then taken down on the test DC in every way
// it can (revoked, reset, unknown key, duplicated, deleted, banned), are each checked by the worker with their
// own identity, and end in their health state, stored per session with the time of the check.
// Real Redis on 127.0.0.1:6379 under a prefix of this file; a local test DC on port 0.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Coordinator } from '../src/farm/coordinator.ts'
import { listRedisSessions } from '../src/farm/session-export.ts'
import { SessionJobCoordinator } from '../src/farm/session-jobs.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import type { SessionHealth, SessionJobResult } from '../src/queue/session-job.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { startFarm, type Farm } from './farm-e2e-harness.ts'

const ACTIVE = '9996621001'
const REVOKED = '9996621002'
const RESET = '9996621003'
const DUPED = '9996621004'
const DELETED = '9996621005'
const BANNED = '9996621006'
const FORGOTTEN = '9996621007'
const PHONES = [ACTIVE, REVOKED, RESET, DUPED, DELETED, BANNED, FORGOTTEN]

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'sessions-health' })
  await farm.startWorker({ threads: 1 })
  // Log every account in through the farm, each with a device of its own.
  const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
  try {
    const csv = `phone,device_model,system_version,app_version,lang_code\n${PHONES.map((p, i) => `${p},Pixel ${i + 1},Android 14,11.4.${i},en`).join('\n')}\n`
    const run = await coordinator.enqueue(parseAccounts(csv, { file: 'accounts.csv' }))
    const outcome = await coordinator.follow(run, { timeoutMs: 60_000 })
    assert.deepEqual(
      outcome.results.map((r) => r.state),
      PHONES.map(() => 'authorized'),
    )
  } finally {
    await coordinator.close()
  }
})

after(async () => {
  await farm.stop()
})

/** The test DC's session (key) of an account the farm logged in. */
function dcSession(phone: string): { dcId: number; authKeyId: bigint; userId: bigint; hash: bigint } {
  const registry = farm.testDc.accounts
  const account = registry.accountOfPhone(phone)!
  const sessions = registry.sessionsOf(account.id)
  assert.equal(sessions.length, 1, `${phone} has one session`)
  return sessions[0]!
}

describe('sessions check', () => {
  let byAccount: Map<string, SessionJobResult>

  it('maps each session to its health state, through the worker', async () => {
    const registry = farm.testDc.accounts
    registry.revokeSession(dcSession(REVOKED).dcId, dcSession(REVOKED).authKeyId)
    const reset = dcSession(RESET)
    registry.logOut(reset.dcId, reset.authKeyId) // what account.resetAuthorization from another session does
    const duped = dcSession(DUPED)
    registry.markDuplicated(duped.dcId, duped.authKeyId)
    registry.deactivate(dcSession(DELETED).userId, 'deleted')
    registry.deactivate(dcSession(BANNED).userId, 'ban')
    // A key the DC never knew (a session brought from elsewhere): its first packet gets transport error -404.
    const storage = new RedisSessionStorage({
      redis: farm.redis,
      name: `user-${FORGOTTEN}`,
      keyPrefix: sessionKeyPrefix(farm.prefix),
    })
    await storage.open()
    await storage.save({ authKey: randomBytes(256) })
    await storage.close()

    const jobs = new SessionJobCoordinator({ redis: farm.redis, prefix: farm.prefix })
    try {
      const refs = await listRedisSessions(farm.redis, farm.prefix)
      assert.equal(refs.length, PHONES.length)
      const before = Date.now()
      const run = await jobs.enqueue(refs, 'check')
      const outcome = await jobs.follow(run, { timeoutMs: 60_000 })
      assert.equal(outcome.timedOut, false)
      byAccount = new Map(outcome.rows.map((r) => [r.account, r as SessionJobResult]))
      const states = Object.fromEntries(PHONES.map((p) => [p, byAccount.get(p)?.state]))
      assert.deepEqual(states, {
        [ACTIVE]: 'active',
        [REVOKED]: 'unauthorized',
        [RESET]: 'unauthorized',
        [DUPED]: 'duplicated',
        [DELETED]: 'deactivated',
        [BANNED]: 'banned',
        [FORGOTTEN]: 'unauthorized',
      })
      assert.match(byAccount.get(REVOKED)!.health!.error!, /401 SESSION_REVOKED/)
      assert.match(byAccount.get(RESET)!.health!.error!, /401 AUTH_KEY_UNREGISTERED/)
      assert.match(byAccount.get(FORGOTTEN)!.health!.error!, /-404/)
      // Stored per session with the time of the check.
      const stored = await farm.redis.hgetall(new FarmRedisKeys(farm.prefix).sessionHealth)
      assert.equal(Object.keys(stored).length, PHONES.length)
      for (const p of PHONES) {
        const h = JSON.parse(stored[`user-${p}`]!) as SessionHealth
        assert.equal(h.state, states[p])
        assert.equal(h.runId, run.runId)
        assert.ok(h.checkedAt >= before && h.checkedAt <= Date.now())
      }
    } finally {
      await jobs.close()
    }
  })

  it('leaves the stored sessions as they were (a check never changes a key)', async () => {
    const refs = await listRedisSessions(farm.redis, farm.prefix)
    assert.equal(refs.length, PHONES.length)
  })
})
