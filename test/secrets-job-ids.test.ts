// Private job ids: with a master key a job id is an HMAC under a per-farm secret sealed in Redis — stable per
// account (and between processes), not the unsalted SHA-256 of the phone that a log reader reverses by brute
// force; a process with another master key cannot open the secret. Real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { planJobs } from '../src/farm/account-jobs.ts'
import { Keyring, MasterKey, SealedValueError } from '../src/foundation/sealed-value.ts'
import { JobIds, loadJobIds } from '../src/queue/job-ids.ts'
import { loginJobId } from '../src/queue/login-job.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { scratchScope } from './farm-e2e-harness.ts'

const { prefix, redis } = scratchScope('secrets-job-ids')
describe('job ids', () => {
  const ring = new Keyring({ current: new MasterKey(randomBytes(32)) })
  const phone = '15550002001'

  it('are keyed with a master key: stable, not the SHA-256 of the phone, the secret sealed', async () => {
    const a = await loadJobIds(redis, prefix, ring)
    const b = await loadJobIds(redis, prefix, ring)
    assert.equal(a.keyed, true)
    assert.equal(a.of('user', phone), b.of('user', phone), 'two processes agree')
    assert.notEqual(a.of('user', phone), loginJobId('user', phone))
    assert.notEqual(a.of('user', phone), a.of('user', '15550002002'))
    assert.notEqual(a.of('user', phone), a.of('qr', phone))
    assert.match(a.of('user', phone), /^user-[0-9a-f]{32}$/)
    const stored = await redis.get(new FarmRedisKeys(prefix).jobIdSecret)
    assert.ok(stored!.startsWith(`gfs1.${ring.current!.id}.`))
    // the coordinator's plan names jobs with them
    const [job] = planJobs([{ kind: 'user', phone, source: { file: 'a.txt', line: 1 } }], { runId: 'r1', jobIds: a })
    assert.equal(job!.jobId, a.of('user', phone))
  })

  it('another master key cannot open the secret; without a key the ids stay plain', async () => {
    await assert.rejects(
      loadJobIds(redis, prefix, new Keyring({ current: new MasterKey(randomBytes(32)) })),
      (err: unknown) => err instanceof SealedValueError && err.reason === 'unknown-key',
    )
    const plain = await loadJobIds(redis, `${prefix}other:`, Keyring.clear())
    assert.equal(plain, JobIds.plain)
    assert.equal(plain.of('user', phone), loginJobId('user', phone))
  })
})
