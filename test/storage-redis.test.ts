// The Redis engine against the real Redis on 127.0.0.1:6379, under a prefix unique to this run; every key made
// here is removed afterwards.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { RedisSessionStorage, SessionStorageError, type SessionRecord } from '../src/auth/storage/index.ts'

const prefix = `gramfarm-test:${process.pid}:${randomBytes(4).toString('hex')}:session:`
let redis: Redis

async function keysUnderPrefix(): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
  } while (cursor !== '0')
  return found.sort()
}

before(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
})

after(async () => {
  const left = await keysUnderPrefix()
  if (left.length > 0) await redis.del(...left)
  await redis.quit()
})

const key = (): Uint8Array => new Uint8Array(randomBytes(256))

describe('RedisSessionStorage', () => {
  it('round-trips a full record, keeping the auth key binary', async () => {
    const storage = new RedisSessionStorage({ redis, name: 'acc1', keyPrefix: prefix })
    await storage.open()
    assert.equal(await storage.load(), null)
    const rec: SessionRecord = {
      dcId: 2,
      apiId: 4_294_967_295,
      testMode: true,
      authKey: key(),
      date: 1_760_000_000,
      userId: 9_000_000_000_001n,
      isBot: true,
      server: { host: '127.0.0.1', port: 44300 },
      dcAuthKeys: { 1: key(), 4: key() },
      device: {
        deviceModel: 'iPhone 15',
        systemVersion: 'iOS 17.5',
        appVersion: '10.14',
        systemLangCode: 'de',
        langCode: 'de',
        langPack: 'ios',
      },
    }
    await storage.save(rec)
    const again = new RedisSessionStorage({ redis, name: 'acc1', keyPrefix: prefix })
    await again.open()
    const loaded = await again.load()
    assert.ok(loaded)
    assert.deepEqual(Buffer.from(loaded.authKey), Buffer.from(rec.authKey))
    assert.deepEqual(Buffer.from(loaded.dcAuthKeys?.[4] ?? []), Buffer.from(rec.dcAuthKeys?.[4] ?? []))
    assert.deepEqual({ ...loaded, authKey: null, dcAuthKeys: null }, { ...rec, authKey: null, dcAuthKeys: null })
    // stored as raw bytes, not text
    const raw = await redis.hgetBuffer(storage.key, 'authKey')
    assert.deepEqual(raw, Buffer.from(rec.authKey))

    await again.save({ isBot: null, server: null })
    const patched = await storage.load()
    assert.equal(patched?.isBot, null)
    assert.equal(patched?.server, undefined)
    assert.equal(patched?.userId, 9_000_000_000_001n)
    await storage.close()
    await again.close()
  })

  it('keeps the peer cache in its own hash and delete() removes every key', async () => {
    const storage = new RedisSessionStorage({ redis, name: 'acc2', keyPrefix: prefix })
    await storage.open()
    await storage.save({ dcId: 4, authKey: key() })
    await storage.putPeers([
      { id: 1n, accessHash: -9_223_372_036_854_775_808n, type: 'user', username: '@Alice', phone: '+7 900 000-00-01' },
      { id: -1_001_000_000_001n, accessHash: 5n, type: 'channel', username: 'chan', phone: null },
    ])
    assert.equal((await storage.getPeerByUsername('alice'))?.accessHash, -9_223_372_036_854_775_808n)
    assert.equal((await storage.getPeerByPhone('79000000001'))?.id, 1n)
    assert.equal((await storage.getPeerById(-1_001_000_000_001n))?.username, 'chan')
    await storage.putPeers([{ id: 1n, accessHash: 2n, type: 'user', username: 'alice2', phone: null }])
    assert.equal(await storage.getPeerByUsername('alice'), null, 'the old username no longer resolves')
    assert.equal(await storage.getPeerByPhone('79000000001'), null, 'nor the old phone')
    const mine = (await keysUnderPrefix()).filter((k) => k.startsWith(storage.key))
    assert.deepEqual(mine, [storage.key, storage.peersKey].sort())
    assert.equal(await redis.type(storage.peersKey), 'hash')

    await storage.delete()
    assert.deepEqual(
      (await keysUnderPrefix()).filter((k) => k.includes('acc2')),
      [],
    )
    await assert.rejects(storage.load(), { code: 'NOT_OPEN' })
  })

  it('rejects names that would collide with sub-keys', () => {
    assert.throws(() => new RedisSessionStorage({ redis, name: 'a:peers', keyPrefix: prefix }), SessionStorageError)
  })

  it('as sole writer saves on what it loaded or wrote, leaving the same hash a whole replacement leaves', async () => {
    const seed = new RedisSessionStorage({ redis, name: 'sole1', keyPrefix: prefix })
    await seed.open()
    await seed.save({ dcId: 2, authKey: key(), dcAuthKeys: { 1: key(), 4: key() }, userId: 77n })
    await redis.hset(`${prefix}sole1`, 'junk', 'left by someone')

    const sole = new RedisSessionStorage({
      redis,
      name: 'sole1',
      keyPrefix: prefix,
      soleWriter: true,
      checkOnOpen: false,
    })
    await sole.open()
    const loaded = await sole.load()
    assert.equal(loaded?.userId, 77n)
    const home = key()
    const four = loaded!.dcAuthKeys![4]!
    // DC 1's key and the junk field go (as with DEL + HSET); the user id stays without being read again.
    await sole.save({ dcId: 2, authKey: home, dcAuthKeys: { 4: four } })
    await sole.save({ isBot: false })
    const fields = (await redis.hkeys(`${prefix}sole1`)).sort()
    assert.deepEqual(fields, ['authKey', 'date', 'dcId', 'dcKey:4', 'isBot', 'testMode', 'userId'])
    const fresh = new RedisSessionStorage({ redis, name: 'sole1', keyPrefix: prefix })
    await fresh.open()
    const rec = await fresh.load()
    assert.deepEqual(rec?.authKey, home)
    assert.deepEqual(rec?.dcAuthKeys, { 4: four })
    assert.equal(rec?.userId, 77n)
    assert.equal(rec?.isBot, false)
    await sole.delete()
    assert.equal(await redis.exists(`${prefix}sole1`), 0)
  })
})
