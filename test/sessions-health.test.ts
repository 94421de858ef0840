// `sessions check` as farm jobs: accounts logged in through the farm, then taken down on the test DC in every way
// it can (revoked, reset, unknown key, duplicated, deleted, banned), are each checked by the worker with their
// own identity, and end in their health state, stored per session with the time of the check.
// Real Redis on 127.0.0.1:6379 under a prefix of this file; a local test DC on port 0.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Coordinator } from '../src/farm/coordinator.ts'
import { listRedisSessions } from '../src/farm/session-export.ts'
import { SessionJobCoordinator } from '../src/farm/session-jobs.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import type { SessionHealth, SessionJobResult } from '../src/queue/session-job.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import type { SessionReportRow } from '../src/cli/session-job-report.ts'
import { API, REDIS_URL, runCli, startFarm, type Farm } from './farm-e2e-harness.ts'

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

  it('`gramfarm sessions check` writes the report (0600, onboarding conventions) and `status` shows the states', async () => {
    const base = join(farm.dir, 'health')
    const r = await runCli([
      ...cliGlobals(),
      'sessions',
      'check',
      '--account',
      `+${ACTIVE}`,
      BANNED,
      '--report',
      base,
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { counts: Record<string, number>; sessions: SessionReportRow[] }
    assert.deepEqual(out.counts, { active: 1, banned: 1 })
    const fromFile = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { sessions: SessionReportRow[] }
    assert.deepEqual(fromFile.sessions, out.sessions)
    const active = out.sessions.find((row) => row.account === ACTIVE)!
    assert.equal(active.state, 'active')
    assert.equal(active.default_identity, false)
    assert.equal(active.reason, null)
    for (const f of [`${base}.json`, `${base}.csv`]) assert.equal(statSync(f).mode & 0o777, 0o600)
    const csv = readFileSync(`${base}.csv`, 'utf8').split('\r\n')
    assert.match(csv[0]!, /^account,kind,session,op,state,reason,wait_s,run_id,/)
    assert.equal(csv.length, 4) // header, two rows, the final line break

    const status = await runCli([...cliGlobals(), 'status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    const health = (JSON.parse(status.stdout) as { sessionHealth: { checked: number; states: Record<string, number> } })
      .sessionHealth
    assert.equal(health.checked, PHONES.length)
    assert.deepEqual(health.states, { active: 1, unauthorized: 3, duplicated: 1, deactivated: 1, banned: 1 })
  })

  it('--relogin logs the dead sessions in again through the login jobs, keeping their identity', async () => {
    const r = await runCli([...cliGlobals(), 'sessions', 'check', '--relogin', '--json'], { timeoutMs: 120_000 })
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { sessions: SessionReportRow[] }
    const rows = new Map(out.sessions.map((row) => [row.account, row]))
    for (const p of [REVOKED, RESET, DUPED, FORGOTTEN]) {
      assert.equal(rows.get(p)?.relogin, 'authorized', p)
      assert.equal(rows.get(p)?.state, 'active', p) // checked again once back
    }
    for (const p of [DELETED, BANNED]) assert.equal(rows.get(p)?.relogin, null, p)
    // The identity it came with: the same device on the new key, in the session and as the DC saw it.
    const registry = farm.testDc.accounts
    for (const [i, p] of PHONES.entries()) {
      if (![REVOKED, RESET, DUPED, FORGOTTEN].includes(p)) continue
      const storage = new RedisSessionStorage({
        redis: farm.redis,
        name: `user-${p}`,
        keyPrefix: sessionKeyPrefix(farm.prefix),
      })
      await storage.open()
      const record = await storage.load()
      await storage.close()
      assert.equal(record?.device?.deviceModel, `Pixel ${i + 1}`)
      assert.equal(record?.device?.appVersion, `11.4.${i}`)
      const live = registry.sessionsOf(registry.accountOfPhone(p)!.id).at(-1)!
      assert.equal(live.client?.deviceModel, `Pixel ${i + 1}`)
    }
  })
})

/** `gramfarm --redis-url … --prefix … --testdc …` for this farm. */
function cliGlobals(): string[] {
  return [
    '--redis-url',
    REDIS_URL,
    '--prefix',
    farm.prefix,
    '--testdc',
    farm.endpointFile,
    '--api-id',
    String(API.apiId),
    '--api-hash',
    API.apiHash,
  ]
}
