// Sessions in Redis under a master key: the auth keys (authKey, dcKey:<dc>) are sealed and bound to the session's
// key name; a session copied under another name does not open; raw keys stored before a key was set still load;
// without a key the engine stores raw bytes as before. Real Redis on 127.0.0.1:6379 under a unique prefix.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { Keyring, MasterKey, SealedValueError } from '../src/foundation/sealed-value.ts'

const prefix = `gramfarm-test:${process.pid}:${randomBytes(4).toString('hex')}:sealed-session:`
let redis: Redis

before(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
})

after(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

const key = new MasterKey(randomBytes(32))
const ring = new Keyring({ current: key })

async function saved(
  name: string,
  sealer: Keyring | undefined,
  authKey: Uint8Array,
  dcKey: Uint8Array,
): Promise<RedisSessionStorage> {
  const s = new RedisSessionStorage({ redis, name, keyPrefix: prefix, ...(sealer ? { sealer } : {}) })
  await s.open()
  await s.save({ dcId: 2, authKey, userId: 42n, dcAuthKeys: { 4: dcKey } })
  return s
}

function containsBytes(hay: Buffer, needle: Uint8Array): boolean {
  return (
    hay.includes(Buffer.from(needle)) ||
    hay.includes(Buffer.from(Buffer.from(needle).toString('base64'))) ||
    hay.includes(Buffer.from(Buffer.from(needle).toString('hex')))
  )
}

describe('RedisSessionStorage with a master key', () => {
  it('stores auth keys sealed and loads them back', async () => {
    const authKey = randomBytes(256)
    const dcKey = randomBytes(256)
    const s = await saved('sealed1', ring, authKey, dcKey)
    const raw = await redis.hgetallBuffer(`${prefix}sealed1`)
    for (const [field, value] of Object.entries(raw)) {
      assert.ok(!containsBytes(value, authKey) && !containsBytes(value, dcKey), `${field} holds no key`)
    }
    assert.ok(raw['authKey']!.toString('latin1').startsWith(`gfs1.${key.id}.`))
    const rec = await s.load()
    assert.deepEqual(Buffer.from(rec!.authKey!), authKey)
    assert.deepEqual(Buffer.from(rec!.dcAuthKeys![4]!), dcKey)
  })

  it('a session copied under another name does not open; another master key names the key id', async () => {
    const s = await saved('sealed2', ring, randomBytes(256), randomBytes(256))
    await redis.copy(s.key, `${prefix}sealed3`)
    const copy = new RedisSessionStorage({ redis, name: 'sealed3', keyPrefix: prefix, sealer: ring })
    await copy.open()
    await assert.rejects(
      copy.load(),
      (err: unknown) => err instanceof SealedValueError && err.reason === 'does-not-open',
    )
    const wrong = new RedisSessionStorage({
      redis,
      name: 'sealed2',
      keyPrefix: prefix,
      sealer: new Keyring({ current: new MasterKey(randomBytes(32)) }),
    })
    await wrong.open()
    await assert.rejects(
      wrong.load(),
      (err: unknown) => err instanceof SealedValueError && err.reason === 'unknown-key' && err.keyId === key.id,
    )
  })

  it('raw keys (no master key, or stored before one was set) still load; requireEncryption refuses them', async () => {
    const authKey = randomBytes(256)
    await saved('clear1', undefined, authKey, randomBytes(256))
    assert.equal((await redis.hgetBuffer(`${prefix}clear1`, 'authKey'))!.length, 256)
    const keyed = new RedisSessionStorage({ redis, name: 'clear1', keyPrefix: prefix, sealer: ring })
    await keyed.open()
    assert.deepEqual(Buffer.from((await keyed.load())!.authKey!), authKey)
    const strict = new RedisSessionStorage({
      redis,
      name: 'clear1',
      keyPrefix: prefix,
      sealer: new Keyring({ current: key, requireEncryption: true }),
    })
    await strict.open()
    await assert.rejects(
      strict.load(),
      (err: unknown) => err instanceof SealedValueError && err.reason === 'clear-refused',
    )
  })
})
