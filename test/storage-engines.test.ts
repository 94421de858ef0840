// The SessionStorage contract, run against every engine: memory, string, file and Redis.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import {
  FileSessionStorage,
  MemorySessionStorage,
  RedisSessionStorage,
  SessionStorageError,
  StringSessionStorage,
  type SessionStorage,
} from '../src/auth/storage/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'gramfarm-engines-'))
const prefix = `gramfarm-test:${process.pid}:${randomBytes(4).toString('hex')}:engines:`
const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1, lazyConnect: true })
let redisUsed = false

after(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (redisUsed) {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  }
})

let n = 0
const engines: Record<string, () => SessionStorage> = {
  memory: () => new MemorySessionStorage(),
  string: () => new StringSessionStorage(''),
  file: () => new FileSessionStorage({ workdir: dir, name: `s${++n}` }),
  redis: () => {
    redisUsed = true
    return new RedisSessionStorage({ redis, name: `s${++n}`, keyPrefix: prefix })
  },
}

const key = (): Uint8Array => new Uint8Array(randomBytes(256))

for (const [engine, make] of Object.entries(engines)) {
  describe(`SessionStorage contract: ${engine}`, () => {
    it('refuses use before open()', async () => {
      await assert.rejects(make().load(), { code: 'NOT_OPEN' })
    })

    it('has no record until there is an auth key, then merges patches', async () => {
      const s = make()
      await s.open()
      assert.equal(await s.load(), null)
      await s.save({
        apiId: 1,
        device: {
          deviceModel: 'd',
          systemVersion: 's',
          appVersion: 'a',
          systemLangCode: 'en',
          langCode: 'en',
          langPack: '',
        },
      })
      assert.equal(await s.load(), null)
      const before = Math.floor(Date.now() / 1000)
      const authKey = key()
      await s.save({ dcId: 3, authKey, userId: 10n })
      const r = await s.load()
      assert.ok(r)
      assert.deepEqual(
        {
          dcId: r.dcId,
          apiId: r.apiId,
          testMode: r.testMode,
          userId: r.userId,
          isBot: r.isBot,
          model: r.device?.deviceModel,
        },
        { dcId: 3, apiId: 1, testMode: false, userId: 10n, isBot: null, model: 'd' },
      )
      assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
      assert.ok(r.date >= before, 'save() stamps the date')
      authKey.fill(0)
      assert.notDeepEqual(
        Buffer.from((await s.load())?.authKey ?? []),
        Buffer.alloc(256),
        'the storage keeps its own copy',
      )
      await s.close()
    })

    it('validates what it is given', async () => {
      const s = make()
      await s.open()
      await assert.rejects(
        s.save({ authKey: new Uint8Array(255) }),
        (err: unknown) => err instanceof SessionStorageError && err.code === 'INVALID_DATA',
      )
      await assert.rejects(s.save({ dcId: 0 }), { code: 'INVALID_DATA' })
      await assert.rejects(s.save({ server: { host: 'h', port: 70000 } }), { code: 'INVALID_DATA' })
      await assert.rejects(
        s.putPeers([{ id: 1n, accessHash: 1n, type: 'planet' as 'user', username: null, phone: null }]),
        { code: 'INVALID_DATA' },
      )
      await s.close()
    })

    it('caches peers by id, username (case-insensitive, @ ignored) and phone (digits)', async () => {
      const s = make()
      await s.open()
      await s.putPeers([
        { id: 100n, accessHash: 123_456_789_012_345_678n, type: 'user', username: 'Bob', phone: '+44 20 7946 0000' },
        { id: -1_009_999_999_999n, accessHash: -1n, type: 'supergroup', username: null, phone: null },
      ])
      const bob = await s.getPeerByUsername('@BOB')
      assert.equal(bob?.id, 100n)
      assert.equal(bob?.accessHash, 123_456_789_012_345_678n)
      assert.equal(typeof bob?.updatedAt, 'number')
      assert.equal((await s.getPeerByPhone('442079460000'))?.username, 'bob')
      assert.equal((await s.getPeerById(-1_009_999_999_999n))?.type, 'supergroup')
      assert.equal(await s.getPeerByUsername('nobody'), null)
      await s.delete()
    })
  })
}
