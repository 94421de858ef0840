// A farm's keys on a real 3-master Redis Cluster (test/support/redis-cluster.ts): every name of a farm prefix, and
// BullMQ's keys under it, hash to one slot; the multi-key parts (MULTI, pipelines, Lua scripts, the code script's
// derived attempt key) work there; SCAN-based listing and deletion find keys on whichever master holds them; pub/sub
// reaches a subscriber connected to another node.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { Queue } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import { RedisSessionStorage } from '../src/auth/storage/redis-storage.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { listRedisSessions } from '../src/farm/session-export.ts'
import { CodeInbox, CodeProviderClient } from '../src/queue/code-channel.ts'
import { ExceptIdsRegistry } from '../src/queue/except-ids-registry.ts'
import { LOGIN_QUEUE } from '../src/queue/login-job.ts'
import { FarmRedisKeys, hashTaggedPrefix, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { listKeys } from '../src/queue/redis-scan.ts'
import { SecretVault } from '../src/queue/secret-vault.ts'
import { SendCodeRateLimiter } from '../src/queue/send-code-rate-limiter.ts'
import { startRedisCluster } from './support/redis-cluster.ts'

// The farm's modules take a Redis; a Cluster answers the same commands (the connection factory hands out either).
const asRedis = (c: Cluster): Redis => c as unknown as Redis

// Started at the top of the file, not in a before hook: servers started inside a hook are stopped when it ends.
const cluster = await startRedisCluster()
const conn = cluster.connect()
const prefix = `{gramfarm-test:cluster-keys:${process.pid}-${randomBytes(4).toString('hex')}}:`

after(() => conn.disconnect())

async function slotOf(key: string): Promise<number> {
  return (await conn.cluster('KEYSLOT', key)) as number
}

describe('farm keys on a Redis Cluster', () => {
  it('tags every prefix once: plain prefixes are wrapped, tagged ones kept', () => {
    assert.equal(hashTaggedPrefix('gramfarm:'), '{gramfarm}:')
    assert.equal(hashTaggedPrefix('farm'), '{farm}:')
    assert.equal(hashTaggedPrefix('{gramfarm}:'), '{gramfarm}:')
    assert.equal(hashTaggedPrefix('a:{b}:c:'), 'a:{b}:c:')
    assert.equal(hashTaggedPrefix('x{}:'), '{x{}}:', 'an empty {} is no tag (Redis hashes the whole key)')
    assert.equal(new FarmRedisKeys('plain:').prefix, '{plain}:')
    assert.equal(hashTaggedPrefix(hashTaggedPrefix('a:b:')), '{a:b}:')
  })

  it('puts every name of a farm, whatever its prefix looked like, in one slot', async () => {
    for (const given of ['gramfarm:', 'other-farm', prefix]) {
      const k = new FarmRedisKeys(given)
      const names = [
        k.bullPrefix,
        k.runs,
        k.run('r1'),
        k.runAttached('r1'),
        k.results('r1'),
        k.login('j1'),
        k.qr('j1'),
        k.qrChannel,
        k.qrScannedChannel,
        k.sessionPrefix + 'user-1',
        k.sessionPrefix + 'user-1:peers',
        k.jobIdSecret,
        k.secret('j1'),
        k.smsActivations,
        k.smsPhones,
        k.codeChannel.requestsStream,
        k.codeChannel.request('1555'),
        k.codeChannel.code('1555', 'a1'),
        k.codeChannel.pendingCode('1555'),
        k.codeChannel.password('1555'),
        k.exceptIds.authorizedIds,
        k.exceptIds.accountOfId,
        k.exceptIds.idOfAccount,
        k.exceptIds.recorderOfAccount,
        k.exceptIds.claim('1555'),
        k.sendCodeRate.global,
        k.sendCodeRate.dc(2),
        k.sendCodeRate.dcBlocked(2),
        k.stats.logins,
        k.stats.loginDuration,
        k.stats.codeWait,
        k.stats.sendCode,
        k.stats.floodWait,
      ]
      const slots = new Set(await Promise.all(names.map(slotOf)))
      assert.equal(slots.size, 1, `${given}: ${[...slots].join(',')}`)
    }
    // Without the tag the same names would scatter over the cluster (what this guards against).
    const untagged = await Promise.all(['gramfarm:runs', 'gramfarm:auth:claim:1', 'gramfarm:bull:login:1'].map(slotOf))
    assert.ok(new Set(untagged).size > 1)
  })

  it("keeps BullMQ's keys in the farm's slot: a queue with jobs works on the cluster", async () => {
    const keys = new FarmRedisKeys(prefix)
    const queue = new Queue(LOGIN_QUEUE, { connection: conn, prefix: keys.bullPrefix })
    try {
      await queue.add('login', { n: 1 }, { jobId: 'j-1' })
      await queue.add('login', { n: 2 }, { jobId: 'j-2', delay: 60_000 })
      await queue.add('login', { n: 3 }, { jobId: 'j-3', priority: 5 })
      assert.deepEqual(await queue.getJobCounts('waiting', 'delayed', 'prioritized'), {
        waiting: 1,
        delayed: 1,
        prioritized: 1,
      })
      const bull = await listKeys(conn, `${keys.bullPrefix}:*`)
      assert.ok(bull.length >= 4, bull.join(' '))
      const slots = new Set(await Promise.all([...bull, keys.runs].map(slotOf)))
      assert.equal(slots.size, 1)
      await queue.obliterate({ force: true })
    } finally {
      await queue.close()
    }
  })

  it('runs the except_ids scripts, the sendCode buckets and the vault (MULTI) on the cluster', async () => {
    const registry = new ExceptIdsRegistry({ redis: asRedis(conn), prefix })
    assert.equal(await registry.claimStatus('15550001', 'owner-a', 30), 'claimed')
    assert.equal(await registry.claimStatus('15550001', 'owner-b', 30), 'held')
    assert.deepEqual(await registry.recordAuthorized(777, '15550001', 'run-1'), { status: 'new' })
    assert.deepEqual(await registry.recordAuthorized(777, '15550002'), {
      status: 'duplicate',
      firstAccountKey: '15550001',
    })
    assert.equal(await registry.release('15550001', 'owner-a'), true)
    assert.equal(await registry.claimStatus('15550001', 'owner-a', 30), 'authorized')
    assert.equal(await registry.forgetAccount('15550002'), true)
    assert.equal(await registry.forgetAuthorized(777), true)

    const limiter = new SendCodeRateLimiter({
      redis: asRedis(conn),
      prefix,
      global: { ratePerSec: 1, burst: 2 },
      perDc: { ratePerSec: 1, burst: 1 },
    })
    assert.deepEqual(await limiter.acquire({ dcId: 2 }), { ok: true })
    const second = await limiter.acquire({ dcId: 2 })
    assert.equal(second.ok, false)
    assert.ok((await limiter.penalize(4, 30)) > 29_000)
    assert.equal((await limiter.acquire({ dcId: 4 })).ok, false)

    const vault = new SecretVault(asRedis(conn), prefix)
    await vault.put('job-1', { password: 'hunter2' })
    assert.deepEqual(await vault.get('job-1'), { password: 'hunter2' })
  })

  it('hands a code from a provider to a waiter through the scripts and pub/sub of the cluster', async () => {
    // Two cluster connections: the worker's inbox and a provider elsewhere.
    const other = cluster.connect()
    const inbox = new CodeInbox({ redis: asRedis(conn), prefix, pollIntervalMs: 60_000 })
    try {
      const provider = new CodeProviderClient({ redis: asRedis(other), prefix })
      // A code parked before its request (pending), adopted by the request script.
      assert.deepEqual(await provider.deliverCode({ phone: '9996610001', code: '11111' }), {
        status: 'pending',
        attempt: null,
      })
      await inbox.requestCode({ phone: '9996610001', attempt: 'a1', codeType: 'sms', jobId: 'j-a' })
      assert.equal(await inbox.waitForCode({ phone: '9996610001', attempt: 'a1', timeoutMs: 5000 }), '11111')
      // A waiter woken by the delivered notification (the poll is a minute away): the deliver script writes the
      // attempt's key, which it derives itself, in the farm's slot.
      await inbox.requestCode({ phone: '9996610002', attempt: 'b1', codeType: 'sms', jobId: 'j-b' })
      const started = Date.now()
      const waiting = inbox.waitForCode({ phone: '9996610002', attempt: 'b1', timeoutMs: 10_000 })
      await new Promise((r) => setTimeout(r, 200))
      assert.deepEqual(await provider.deliverCode({ phone: '9996610002', code: '22222' }), {
        status: 'stored',
        attempt: 'b1',
      })
      assert.equal(await waiting, '22222')
      assert.ok(Date.now() - started < 5000, 'woken by the notification, not by the poll')
    } finally {
      await inbox.close()
      other.disconnect()
    }
  })

  it('lists sessions and deletes a farm by prefix across every master', async () => {
    const storage = new RedisSessionStorage({
      redis: asRedis(conn),
      name: 'user-15550009',
      keyPrefix: sessionKeyPrefix(prefix),
    })
    await storage.open()
    await storage.save({ dcId: 2, authKey: new Uint8Array(256).fill(7), userId: 4242n, date: 1 })
    await storage.putPeers([{ id: 5n, accessHash: 9n, type: 'user', username: 'someone', phone: null }])
    const listed = await listRedisSessions(asRedis(conn), prefix)
    assert.deepEqual(
      listed.map((s) => [s.name, s.userId]),
      [['user-15550009', '4242']],
    )
    // Keys of other farms on other masters stay; every key of this farm goes.
    const others = ['{elsewhere-a}:x', '{elsewhere-b}:x', '{elsewhere-c}:x', '{elsewhere-d}:x']
    for (const k of others) await conn.set(k, '1')
    const masters = new Set(await Promise.all(others.map(async (k) => conn.slots[await slotOf(k)]?.[0])))
    assert.ok(masters.size >= 2, 'the other keys sit on more than one master')
    const before = await listKeys(conn, `${prefix}*`)
    assert.ok(before.length > 5, before.join(' '))
    assert.equal(await deleteKeysUnder(conn, prefix), before.length)
    assert.deepEqual(await listKeys(conn, `${prefix}*`), [])
    for (const k of others) assert.equal(await conn.get(k), '1')
    // A pattern over several slots (and masters) is scanned on each of them.
    const everywhere = await listKeys(conn, '{elsewhere-*')
    assert.deepEqual(everywhere.sort(), [...others].sort())
    for (const k of others) await conn.del(k)
  })
})
