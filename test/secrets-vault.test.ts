// The secret vault under a master key: fields sealed and bound to their hash and field, a worker with the wrong
// key gets a typed error naming the key id, and entries live until their login's deadline, not a week.
// Real Redis on 127.0.0.1:6379 under a prefix of this file.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { Keyring, MasterKey, SealedValueError } from '../src/foundation/sealed-value.ts'
import { FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { SECRET_HOLD_SECONDS, SecretVault } from '../src/queue/secret-vault.ts'
import { scratchScope } from './farm-e2e-harness.ts'

const { prefix, redis } = scratchScope('secrets-vault')
const keys = new FarmRedisKeys(prefix)
const secrets = {
  password: 'two-factor pass',
  botToken: '123456:AAEsecret-token',
  proxy: 'socks5://user:proxy-password@10.0.0.1:1080',
  apiHash: '0123456789abcdef0123456789abcdef',
}

describe('secret vault with a master key', () => {
  const key = new MasterKey(randomBytes(32))
  const ring = new Keyring({ current: key })

  it('stores every field sealed and reads it back', async () => {
    const vault = new SecretVault(redis, prefix, ring)
    await vault.put('job-a', secrets)
    const raw = await redis.hgetall(keys.secret('job-a'))
    assert.deepEqual(Object.keys(raw).sort(), Object.keys(secrets).sort())
    for (const [field, value] of Object.entries(raw)) {
      assert.ok(value.startsWith(`gfs1.${key.id}.`), `${field} sealed`)
      for (const secret of Object.values(secrets)) assert.ok(!value.includes(secret))
    }
    assert.deepEqual(await vault.get('job-a'), secrets)
  })

  it('a field copied to another job or field does not open', async () => {
    const vault = new SecretVault(redis, prefix, ring)
    await vault.put('job-b', { password: 'other' })
    const stolen = await redis.hget(keys.secret('job-a'), 'password')
    await redis.hset(keys.secret('job-b'), 'password', stolen!)
    await assert.rejects(
      vault.get('job-b'),
      (err: unknown) => err instanceof SealedValueError && err.reason === 'does-not-open',
    )
    await redis.hset(keys.secret('job-b'), 'password', (await redis.hget(keys.secret('job-a'), 'botToken'))!)
    await assert.rejects(
      vault.get('job-b'),
      (err: unknown) => err instanceof SealedValueError && err.reason === 'does-not-open',
    )
  })

  it('a worker with another key fails with the key id, and the entry is left as it was', async () => {
    const before = await redis.hgetall(keys.secret('job-a'))
    const wrong = new SecretVault(redis, prefix, new Keyring({ current: new MasterKey(randomBytes(32)) }))
    await assert.rejects(wrong.get('job-a'), (err: unknown) => {
      assert.ok(err instanceof SealedValueError)
      assert.equal(err.reason, 'unknown-key')
      assert.equal(err.keyId, key.id)
      for (const secret of Object.values(secrets)) assert.ok(!err.message.includes(secret))
      return true
    })
    assert.deepEqual(await redis.hgetall(keys.secret('job-a')), before)
  })

  it('without a key the vault still works (in clear)', async () => {
    const vault = new SecretVault(redis, prefix)
    await vault.put('job-c', { botToken: secrets.botToken })
    assert.equal(await redis.hget(keys.secret('job-c'), 'botToken'), secrets.botToken)
    assert.equal((await vault.get('job-c')).botToken, secrets.botToken)
  })
})

describe('vault lifetimes', () => {
  it('an entry is held for hours (not a week) until its login has a deadline, then lives until just after it', async () => {
    const vault = new SecretVault(redis, prefix)
    await vault.put('job-t', { password: 'p' })
    const held = await redis.ttl(keys.secret('job-t'))
    assert.ok(held > 0 && held <= SECRET_HOLD_SECONDS && SECRET_HOLD_SECONDS < 24 * 3600, `hold ${held}`)
    const deadline = Date.now() + 120_000
    await vault.expireWithDeadline('job-t', deadline)
    const left = await redis.pttl(keys.secret('job-t'))
    assert.ok(left > 100_000 && left <= 120_000 + 61_000, `pttl ${left}`)
    await vault.put('job-u', { password: 'p' }, 30)
    assert.ok((await redis.ttl(keys.secret('job-u'))) <= 30)
  })
})
