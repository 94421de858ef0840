// Session strings: Pyrogram (current + legacy), Telethon and GramJS, each checked against bytes packed by hand from
// the tool's struct layout, and GramJS against the real `telegram` package when it is installed.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  GramJsStringCodec,
  SessionStringCodec,
  SessionStringError,
  StringSessionStorage,
  TelethonStringCodec,
  detectSessionStringFormat,
  importSessionString,
  type SessionRecord,
} from '../src/auth/storage/index.ts'

const key = (): Uint8Array => new Uint8Array(randomBytes(256))
const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url') // no padding
const b64urlPadded = (bytes: Uint8Array): string =>
  Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    dcId: 4,
    apiId: 123456,
    testMode: false,
    authKey: key(),
    date: 0,
    userId: 7_000_000_001n,
    isBot: false,
    ...overrides,
  }
}

/** The error must be a SessionStringError and say nothing of the input. */
function assertRejects(input: string, fn: (s: string) => unknown): void {
  assert.throws(
    () => fn(input),
    (err: unknown) => {
      assert.ok(err instanceof SessionStringError, `expected SessionStringError, got ${String(err)}`)
      if (input.length >= 8) {
        for (let i = 0; i + 8 <= input.length; i += 8)
          assert.ok(!err.message.includes(input.slice(i, i + 8)), 'message echoes the input')
      }
      assert.ok(!(err.stack ?? '').includes(input.slice(0, 16)) || input.length < 16)
      return true
    },
  )
}

describe('Pyrogram session string', () => {
  it('round-trips a record', () => {
    const r = record({ dcId: 2, testMode: true, isBot: true, userId: 5_123_456_789n })
    const s = SessionStringCodec.export(r)
    assert.equal(s.length, 362)
    assert.match(s, /^[A-Za-z0-9_-]+$/)
    const back = SessionStringCodec.import(s)
    assert.deepEqual(
      { ...back, authKey: Buffer.from(back.authKey) },
      {
        dcId: 2,
        apiId: 123456,
        testMode: true,
        authKey: Buffer.from(r.authKey),
        date: 0,
        userId: 5_123_456_789n,
        isBot: true,
      },
    )
  })

  it('decodes a string packed by hand as >BI?256sQ?', () => {
    const authKey = key()
    const bytes = new Uint8Array(271)
    const view = new DataView(bytes.buffer)
    view.setUint8(0, 5) // dc_id
    view.setUint32(1, 2040) // api_id
    view.setUint8(5, 0) // test_mode
    bytes.set(authKey, 6)
    view.setBigUint64(262, 987_654_321_012n) // user_id
    view.setUint8(270, 1) // is_bot
    const s = b64url(bytes)
    assert.equal(s.length, 362)
    assert.equal(detectSessionStringFormat(s), 'pyrogram')
    const r = importSessionString(s)
    assert.equal(r.dcId, 5)
    assert.equal(r.apiId, 2040)
    assert.equal(r.testMode, false)
    assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
    assert.equal(r.userId, 987_654_321_012n)
    assert.equal(r.isBot, true)
    assert.equal(r.server, undefined, 'a Pyrogram string carries no address')
  })

  it('decodes the legacy 351-character form (>B?256sI?)', () => {
    const authKey = key()
    const bytes = new Uint8Array(263)
    const view = new DataView(bytes.buffer)
    view.setUint8(0, 1)
    view.setUint8(1, 1) // test_mode
    bytes.set(authKey, 2)
    view.setUint32(258, 4_000_000_000) // user_id u32
    view.setUint8(262, 0)
    const s = b64url(bytes)
    assert.equal(s.length, 351)
    const r = SessionStringCodec.import(s)
    assert.deepEqual(
      { dcId: r.dcId, apiId: r.apiId, testMode: r.testMode, userId: r.userId, isBot: r.isBot },
      { dcId: 1, apiId: null, testMode: true, userId: 4_000_000_000n, isBot: false },
    )
    assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
  })

  it('decodes the legacy 356-character form (>B?256sQ?)', () => {
    const authKey = key()
    const bytes = new Uint8Array(267)
    const view = new DataView(bytes.buffer)
    view.setUint8(0, 3)
    view.setUint8(1, 0)
    bytes.set(authKey, 2)
    view.setBigUint64(258, 6_100_200_300n)
    view.setUint8(266, 1)
    const s = b64url(bytes)
    assert.equal(s.length, 356)
    const r = SessionStringCodec.import(s)
    assert.deepEqual(
      { dcId: r.dcId, apiId: r.apiId, testMode: r.testMode, userId: r.userId, isBot: r.isBot },
      { dcId: 3, apiId: null, testMode: false, userId: 6_100_200_300n, isBot: true },
    )
    assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
  })

  it('rejects wrong lengths and garbage without echoing them', () => {
    const good = SessionStringCodec.export(record())
    assertRejects(good.slice(0, 300), (s) => SessionStringCodec.import(s))
    assertRejects(good + 'AAAA', (s) => SessionStringCodec.import(s))
    assertRejects('!'.repeat(362), (s) => SessionStringCodec.import(s))
    assertRejects(`${good.slice(0, 180)}$%${good.slice(182)}`, (s) => SessionStringCodec.import(s))
    assertRejects('', (s) => SessionStringCodec.import(s))
    assertRejects('zq9#Vx!!k2Lp0@@wT7^^Hf3&&nB8**Rt5', (s) => importSessionString(s))
    assertRejects(b64url(new Uint8Array(271)), (s) => SessionStringCodec.import(s)) // zero key / DC 0
  })
})

describe('Telethon StringSession', () => {
  it('round-trips IPv4 and IPv6 records, keeping the address', () => {
    for (const server of [
      { host: '149.154.167.91', port: 443 },
      { host: '2001:67c:4e8:f004::a', port: 443 },
    ]) {
      const r = record({ server })
      const s = TelethonStringCodec.export(r)
      assert.equal(s[0], '1')
      assert.equal(detectSessionStringFormat(s), 'telethon')
      const back = TelethonStringCodec.import(s)
      assert.equal(back.dcId, r.dcId)
      assert.deepEqual(back.server, server)
      assert.deepEqual(Buffer.from(back.authKey), Buffer.from(r.authKey))
    }
  })

  it('decodes a string packed by hand as >B4sH256s', () => {
    const authKey = key()
    const bytes = new Uint8Array(263)
    const view = new DataView(bytes.buffer)
    view.setUint8(0, 2)
    bytes.set([149, 154, 167, 51], 1)
    view.setUint16(5, 443)
    bytes.set(authKey, 7)
    const s = `1${b64urlPadded(bytes)}`
    assert.equal(s.length, 353) // what Telethon's reader checks for IPv4
    const r = importSessionString(s)
    assert.equal(r.dcId, 2)
    assert.deepEqual(r.server, { host: '149.154.167.51', port: 443 })
    assert.equal(r.testMode, false)
    assert.equal(r.apiId, null)
    assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
  })

  it('uses the DC default address when the record has none, and refuses hostnames', () => {
    const s = TelethonStringCodec.export(record({ dcId: 2 }))
    assert.deepEqual(TelethonStringCodec.import(s).server, { host: '149.154.167.51', port: 443 })
    assert.throws(
      () => TelethonStringCodec.export(record({ server: { host: 'localhost', port: 4430 } })),
      SessionStringError,
    )
  })

  it('rejects a bad version or length without echoing the input', () => {
    const good = TelethonStringCodec.export(record())
    assertRejects(`2${good.slice(1)}`, (s) => TelethonStringCodec.import(s))
    assertRejects(good.slice(0, 200), (s) => TelethonStringCodec.import(s))
  })
})

describe('GramJS StringSession', () => {
  it('round-trips a record with a hostname and a high port', () => {
    const r = record({ dcId: 2, server: { host: 'localhost', port: 40_443 } })
    const s = GramJsStringCodec.export(r)
    assert.equal(detectSessionStringFormat(s), 'gramjs')
    const back = GramJsStringCodec.import(s)
    assert.deepEqual(back.server, r.server)
    assert.deepEqual(Buffer.from(back.authKey), Buffer.from(r.authKey))
  })

  it('decodes a string packed by hand (dc u8, len u16, address, port u16, key)', () => {
    const authKey = key()
    const address = Buffer.from('149.154.167.51') // 14 bytes: as long as a Telethon IPv6 string
    const bytes = new Uint8Array(1 + 2 + address.length + 2 + 256)
    const view = new DataView(bytes.buffer)
    view.setUint8(0, 2)
    view.setUint16(1, address.length)
    bytes.set(address, 3)
    view.setUint16(3 + address.length, 443)
    bytes.set(authKey, 5 + address.length)
    const s = `1${Buffer.from(bytes).toString('base64')}`
    assert.equal(detectSessionStringFormat(s), 'gramjs')
    const r = importSessionString(s)
    assert.equal(r.dcId, 2)
    assert.deepEqual(r.server, { host: '149.154.167.51', port: 443 })
    assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
  })

  it('interoperates with the telegram (GramJS) package', async (t) => {
    let gram: typeof import('telegram').sessions
    let crypto: typeof import('telegram/crypto/AuthKey.js')
    try {
      gram = (await import('telegram')).sessions // the package root first: its modules import each other in a cycle
      crypto = await import('telegram/crypto/AuthKey.js')
    } catch {
      t.skip('telegram (GramJS) is not installed')
      return
    }
    const authKey = key()
    // GramJS → us
    const theirs = new gram.StringSession('')
    theirs.setDC(4, '149.154.167.91', 443)
    const gramKey = new crypto.AuthKey()
    await gramKey.setKey(Buffer.from(authKey))
    theirs.setAuthKey(gramKey)
    const exported = theirs.save()
    assert.equal(detectSessionStringFormat(exported), 'gramjs')
    const r = importSessionString(exported)
    assert.equal(r.dcId, 4)
    assert.deepEqual(r.server, { host: '149.154.167.91', port: 443 })
    assert.deepEqual(Buffer.from(r.authKey), Buffer.from(authKey))
    // us → GramJS
    const ours = GramJsStringCodec.export(record({ dcId: 1, authKey, server: { host: '127.0.0.1', port: 8443 } }))
    const loaded = new gram.StringSession(ours)
    await loaded.load()
    assert.equal(loaded.dcId, 1)
    assert.equal(loaded.serverAddress, '127.0.0.1')
    assert.equal(loaded.port, 8443)
    assert.deepEqual(loaded.authKey?.getKey(), Buffer.from(authKey))
  })
})

describe('StringSessionStorage', () => {
  it('starts from a string of any format and exports any format', async () => {
    const r = record({ dcId: 2, server: { host: '149.154.167.51', port: 443 } })
    const storage = new StringSessionStorage(TelethonStringCodec.export(r))
    await storage.open()
    const loaded = await storage.load()
    assert.ok(loaded)
    assert.deepEqual(Buffer.from(loaded.authKey), Buffer.from(r.authKey))
    await storage.save({ apiId: 777, userId: 42n, isBot: false })
    const pyro = SessionStringCodec.import(await storage.exportString())
    assert.deepEqual({ dcId: pyro.dcId, apiId: pyro.apiId, userId: pyro.userId }, { dcId: 2, apiId: 777, userId: 42n })
    const gram = GramJsStringCodec.import(await storage.exportString('gramjs'))
    assert.deepEqual(gram.server, r.server)
    await storage.close()
  })

  it('fails open() with SessionStringError on a bad string, and has nothing to export when empty', async () => {
    await assert.rejects(new StringSessionStorage('garbage-garbage-garbage').open(), SessionStringError)
    const empty = new StringSessionStorage('')
    await empty.open()
    assert.equal(await empty.load(), null)
    await assert.rejects(empty.exportString(), { code: 'NO_SESSION' })
  })
})
