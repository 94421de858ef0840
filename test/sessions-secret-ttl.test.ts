// A session's own secrets (session-secret:<name>: proxy, api_hash, 2FA password) live as long as its record: with
// the farm's session TTL they get the record's TTL at each write of the record, and a write of the secrets copies
// the record's remaining TTL; without one both are kept. Real Redis on 127.0.0.1:6379 under a prefix of this file.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { SessionSecretStore, sessionSecretKeysOf } from '../src/queue/session-secrets.ts'
import { scratchScope } from './farm-e2e-harness.ts'

const { prefix, redis } = scratchScope('sessions-secret-ttl')
const keys = new FarmRedisKeys(prefix)

function storage(name: string, ttlSeconds?: number): RedisSessionStorage {
  return new RedisSessionStorage({
    redis,
    name,
    keyPrefix: sessionKeyPrefix(prefix),
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    companionKeys: sessionSecretKeysOf(prefix, name),
  })
}

describe('session secrets expire with their session', () => {
  it('get the record TTL when the record is written, and copy it when they are written', async () => {
    const secrets = new SessionSecretStore(redis, prefix)
    const name = 'user-timed'
    const secretKey = keys.sessionSecrets(name)
    // written before the record exists (an import): no TTL yet, the record's first write gives it
    await secrets.put(name, { proxy: 'socks5://u:p@127.0.0.1:1080' })
    assert.equal(await redis.ttl(secretKey), -1)
    const record = storage(name, 600)
    await record.open()
    await record.save({ dcId: 2, authKey: randomBytes(256), userId: 5n })
    const ttl = await redis.ttl(secretKey)
    assert.ok(ttl > 0 && ttl <= 600, `secrets TTL ${ttl}`)

    // a harden writing the password later: the secrets take the record's remaining lifetime, not a longer one
    await redis.expire(record.key, 30)
    await secrets.put(name, { password: 'pw-1' })
    const copied = await redis.ttl(secretKey)
    assert.ok(copied > 0 && copied <= 30, `secrets TTL after put ${copied}`)

    // the record written again: both start the lifetime again
    await record.save({ userId: 6n })
    assert.ok((await redis.ttl(secretKey)) > 30)
    assert.deepEqual(await secrets.get(name), { proxy: 'socks5://u:p@127.0.0.1:1080', password: 'pw-1' })

    // expiry takes both away
    await redis.pexpire(record.key, 2000)
    await secrets.put(name, { apiHash: 'ab'.repeat(16) })
    const left = await redis.pttl(secretKey)
    assert.ok(left > 0 && left <= 2000, `secrets PTTL ${left}`)
    await new Promise((r) => setTimeout(r, 2500))
    assert.equal(await redis.exists(record.key), 0)
    assert.equal(await redis.exists(secretKey), 0)
    await record.close()
  })

  it('are kept when the farm sets no session TTL', async () => {
    const secrets = new SessionSecretStore(redis, prefix)
    const name = 'user-kept'
    const record = storage(name)
    await record.open()
    await record.save({ dcId: 2, authKey: randomBytes(256), userId: 7n })
    await secrets.put(name, { password: 'pw-2' })
    await record.save({ userId: 8n })
    assert.equal(await redis.ttl(keys.sessionSecrets(name)), -1)
    assert.equal(await redis.ttl(record.key), -1)
    await record.close()
  })
})
