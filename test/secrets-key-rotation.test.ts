// Master key rotation: every sealed value of a farm (sessions' auth keys, vault fields, login phone_code_hash,
// parked codes, passwords, the job-id secret) is re-sealed under the new key, values in clear get sealed, and a
// value under a key id the keyring does not hold is reported by that id and left untouched.
// Real Redis on 127.0.0.1:6379 under a prefix of this file.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { rotateKeys } from '../src/farm/key-rotation.ts'
import { Keyring, MasterKey, parseMasterKey } from '../src/foundation/sealed-value.ts'
import { CodeInbox, CodeProviderClient } from '../src/queue/code-channel.ts'
import { loadJobIds } from '../src/queue/job-ids.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { SecretVault } from '../src/queue/secret-vault.ts'
import { SessionSecretStore } from '../src/queue/session-secrets.ts'
import { REDIS_URL, runCli, scratchScope } from './farm-e2e-harness.ts'

const { prefix, redis } = scratchScope('secrets-rotation')
const keys = new FarmRedisKeys(prefix)
describe('keys rotate', () => {
  it('re-seals everything under the new key; the old key is then not needed', async () => {
    const oldKey = new MasterKey(randomBytes(32))
    const newKey = new MasterKey(randomBytes(32))
    const stranger = new MasterKey(randomBytes(32))
    const before = new Keyring({ current: oldKey })
    const authKey = randomBytes(256)
    const session = new RedisSessionStorage({
      redis,
      name: 'user-1',
      keyPrefix: sessionKeyPrefix(prefix),
      sealer: before,
    })
    await session.open()
    await session.save({ dcId: 2, authKey, userId: 7n })
    await new SecretVault(redis, prefix, before).put('job-1', { password: 'pw-1', botToken: '1:tok' })
    await new SessionSecretStore(redis, prefix, before).put('user-1', {
      proxy: 'socks5://u:p@127.0.0.1:1080',
      password: 'pw-s1',
    })
    await new SecretVault(redis, prefix).put('job-clear', { password: 'pw-clear' })
    await new SecretVault(redis, prefix, new Keyring({ current: stranger })).put('job-stranger', { password: 'pw-s' })
    await redis.hset(
      keys.login('job-1'),
      'phoneCodeHash',
      before.seal('hash-1', `${keys.login('job-1')}#phoneCodeHash`),
      'dcId',
      '2',
    )
    await new CodeProviderClient({ redis, prefix, sealer: before }).deliverCode({ phone: '15550003001', code: '12345' })
    await new CodeProviderClient({ redis, prefix, sealer: before }).deliverPassword({
      phone: '15550003001',
      password: 'pw-2',
    })
    const idsBefore = (await loadJobIds(redis, prefix, before)).of('user', '15550003001')

    const during = new Keyring({ current: newKey, old: [oldKey] })
    const summary = await rotateKeys(redis, prefix, during)
    assert.deepEqual(summary.unreadable, [
      { at: `${keys.secret('job-stranger')}#password`, reason: 'unknown-key', keyId: stranger.id },
    ])
    assert.equal(summary.raced, 0)
    assert.ok(summary.resealed >= 10, `resealed ${summary.resealed}`)
    // the stranger's value is untouched
    assert.equal(Keyring.keyIdOf((await redis.hget(keys.secret('job-stranger'), 'password'))!), stranger.id)
    assert.equal((await rotateKeys(redis, prefix, during)).resealed, 0, 'a second pass has nothing left to do')

    const after = new Keyring({ current: newKey })
    const reopened = new RedisSessionStorage({
      redis,
      name: 'user-1',
      keyPrefix: sessionKeyPrefix(prefix),
      sealer: after,
    })
    await reopened.open()
    assert.deepEqual(Buffer.from((await reopened.load())!.authKey!), authKey)
    assert.deepEqual(await new SecretVault(redis, prefix, after).get('job-1'), { password: 'pw-1', botToken: '1:tok' })
    assert.deepEqual(await new SessionSecretStore(redis, prefix, after).get('user-1'), {
      proxy: 'socks5://u:p@127.0.0.1:1080',
      password: 'pw-s1',
    })
    assert.deepEqual(await new SecretVault(redis, prefix, after).get('job-clear'), { password: 'pw-clear' })
    assert.ok((await redis.hget(keys.secret('job-clear'), 'password'))!.startsWith(`gfs1.${newKey.id}.`))
    assert.equal(
      after.openText((await redis.hget(keys.login('job-1'), 'phoneCodeHash'))!, `${keys.login('job-1')}#phoneCodeHash`),
      'hash-1',
    )
    assert.equal(
      (await loadJobIds(redis, prefix, after)).of('user', '15550003001'),
      idsBefore,
      'job ids survive rotation',
    )
    const inbox = new CodeInbox({ redis, prefix, sealer: after })
    try {
      await inbox.requestCode({ phone: '15550003001', attempt: '1', codeType: 'sms', jobId: 'job-1' })
      assert.equal(await inbox.takeCode({ phone: '15550003001', attempt: '1' }), '12345')
      assert.equal(await inbox.takePassword({ phone: '15550003001' }), 'pw-2')
    } finally {
      await inbox.close()
    }
  })

  it('gramfarm keys rotate re-seals under GRAMFARM_MASTER_KEY with the old key readable, and exits 2 without a key', async () => {
    const cliPrefix = `${prefix}cli:`
    const oldHex = randomBytes(32).toString('hex')
    const newHex = randomBytes(32).toString('hex')
    await new SecretVault(redis, cliPrefix, new Keyring({ current: parseMasterKey(oldHex, 't') })).put('job-9', {
      password: 'pw-9',
    })
    const run = await runCli(['--prefix', cliPrefix, '--redis-url', REDIS_URL, 'keys', 'rotate', '--json'], {
      env: { GRAMFARM_MASTER_KEY: newHex, GRAMFARM_OLD_MASTER_KEYS: oldHex },
    })
    assert.equal(run.code, 0, run.stderr)
    const summary = JSON.parse(run.stdout) as { keyId: string; resealed: number }
    assert.equal(summary.keyId, parseMasterKey(newHex, 't').id)
    assert.equal(summary.resealed, 1)
    assert.ok(!run.stdout.includes(newHex) && !run.stderr.includes(oldHex))
    assert.deepEqual(
      await new SecretVault(redis, cliPrefix, new Keyring({ current: parseMasterKey(newHex, 't') })).get('job-9'),
      { password: 'pw-9' },
    )
    const none = await runCli(['--prefix', cliPrefix, '--redis-url', REDIS_URL, 'keys', 'rotate'], { env: {} })
    assert.equal(none.code, 2, none.stderr)
  })
})
