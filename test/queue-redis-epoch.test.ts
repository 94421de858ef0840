// The Redis epoch a waiting login compares: the same across a replica and its primary, a new one once the replica
// is promoted (what Sentinel does in a failover) — real redis-server processes on free loopback ports.
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { Redis } from 'ioredis'
import { RedisEpoch, replicationId } from '../src/queue/redis-epoch.ts'
import { startRedisServer } from './support/redis-servers.ts'

const open: Redis[] = []
after(() => {
  for (const r of open) r.disconnect()
})
const connect = (port: number): Redis => {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 })
  open.push(r)
  return r
}

it('reads master_replid from INFO replication', () => {
  assert.equal(replicationId('# Replication\r\nrole:master\r\nmaster_replid:ab12cd\r\nmaster_replid2:00\r\n'), 'ab12cd')
  assert.equal(replicationId('role:master\r\n'), null)
})

it('is one epoch for a primary and its replica, and a new one after the replica is promoted', async () => {
  const primary = await startRedisServer({ args: ['--save', '', '--appendonly', 'no'] })
  const replica = await startRedisServer({
    args: ['--save', '', '--appendonly', 'no', '--replicaof', primary.host, String(primary.port)],
  })
  const onPrimary = new RedisEpoch(connect(primary.port), 0)
  const onReplica = new RedisEpoch(connect(replica.port), 0)
  const r = connect(replica.port)
  const deadline = Date.now() + 10_000
  while (!/master_link_status:up/.test(await r.info('replication'))) {
    assert.ok(Date.now() < deadline, 'the replica did not sync')
    await new Promise((res) => setTimeout(res, 50))
  }
  const before = await onPrimary.current()
  assert.equal(await onReplica.current(), before)
  await r.call('REPLICAOF', 'NO', 'ONE')
  assert.notEqual(await onReplica.current(), before)
  // Within its max age a read epoch is reused: one INFO per thread per second, not one per waiting login.
  const cached = new RedisEpoch(connect(primary.port), 60_000)
  const first = await cached.current()
  await primary.restart() // a Redis restarted without its data starts a new history too
  assert.equal(await cached.current(), first)
  assert.notEqual(await new RedisEpoch(connect(primary.port), 0).current(), first)
})
