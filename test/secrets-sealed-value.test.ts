// Sealed values: envelope encryption under the master key, bound to their Redis key name, a keyring with old
// keys, typed errors naming the key id, the master key's sources, and clear storage without a key.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Keyring, MasterKey, MasterKeyError, SealedValueError, parseMasterKey } from '../src/foundation/sealed-value.ts'
import {
  loadKeyring,
  loadMasterKey,
  masterKeySourcesFromEnv,
  warnOnceIfClear,
} from '../src/foundation/master-key-source.ts'

const newKey = (): MasterKey => new MasterKey(randomBytes(32))

function assertSealedError(fn: () => unknown, reason: string, keyId?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SealedValueError, String(err))
    assert.equal(err.reason, reason)
    if (keyId !== undefined) {
      assert.equal(err.keyId, keyId)
      assert.match(err.message, new RegExp(keyId))
    }
    assert.equal(err.transient, false)
    return true
  })
}

describe('sealed values', () => {
  it('seal hides the value, names the key id, and opens back (text and bytes)', () => {
    const key = newKey()
    const ring = new Keyring({ current: key })
    const secret = 'hunter2-password'
    const sealed = ring.seal(secret, 'farm:secret:job1')
    assert.ok(!sealed.includes(secret))
    assert.ok(!sealed.includes(Buffer.from(secret).toString('base64')))
    assert.ok(sealed.startsWith(`gfs1.${key.id}.`))
    assert.equal(Keyring.keyIdOf(sealed), key.id)
    assert.equal(ring.openText(sealed, 'farm:secret:job1'), secret)
    const authKey = randomBytes(256)
    assert.deepEqual(ring.open(ring.seal(authKey, 'farm:session:a'), 'farm:session:a'), authKey)
    // envelope: a fresh data key and IV each time
    assert.notEqual(ring.seal(secret, 'k'), ring.seal(secret, 'k'))
  })

  it('a value copied under another Redis key does not open (associated data)', () => {
    const key = newKey()
    const ring = new Keyring({ current: key })
    const sealed = ring.seal('123456', 'farm:code:pending:+15550001')
    assertSealedError(() => ring.open(sealed, 'farm:code:pending:+15550002'), 'does-not-open', key.id)
  })

  it('a tampered value does not open', () => {
    const ring = new Keyring({ current: newKey() })
    const sealed = ring.seal('token', 'k')
    const last = sealed.at(-2) === 'A' ? 'B' : 'A'
    const bad = sealed.slice(0, -2) + last + sealed.slice(-1)
    assertSealedError(() => ring.open(bad, 'k'), 'does-not-open')
    assertSealedError(() => ring.open('gfs1.zz.yy', 'k'), 'malformed')
  })

  it('an unknown key id is a typed error naming it; old keys stay readable', () => {
    const oldKey = newKey()
    const newer = newKey()
    const sealedOld = new Keyring({ current: oldKey }).seal('pw', 'k')
    assertSealedError(() => new Keyring({ current: newer }).open(sealedOld, 'k'), 'unknown-key', oldKey.id)
    const ring = new Keyring({ current: newer, old: [oldKey] })
    assert.equal(ring.openText(sealedOld, 'k'), 'pw')
    assert.equal(ring.needsReseal(sealedOld), true)
    assert.equal(ring.needsReseal(ring.seal('pw', 'k')), false)
  })

  it('without a key values are in clear (and a clear value looking sealed stays clear)', () => {
    const ring = Keyring.clear()
    assert.equal(ring.encrypting, false)
    assert.equal(ring.seal('abc', 'k'), 'abc')
    assert.equal(ring.openText(ring.seal('gfs1.looks.sealed.x', 'k'), 'k'), 'gfs1.looks.sealed.x')
    const bytes = randomBytes(256)
    assert.deepEqual(ring.open(ring.seal(bytes, 'k'), 'k'), bytes)
    // a keyed farm still reads what was stored in clear before it had a key …
    assert.equal(new Keyring({ current: newKey() }).openText('abc', 'k'), 'abc')
    // … unless encryption is required
    assertSealedError(
      () => new Keyring({ current: newKey(), requireEncryption: true }).open('abc', 'k'),
      'clear-refused',
    )
    assert.throws(() => new Keyring({ current: null, requireEncryption: true }), MasterKeyError)
  })

  it('warns once per process when storing in clear', () => {
    const said: string[] = []
    warnOnceIfClear(new Keyring({ current: newKey() }), (m) => said.push(m))
    assert.equal(said.length, 0)
    warnOnceIfClear(Keyring.clear(), (m) => said.push(m))
    warnOnceIfClear(Keyring.clear(), (m) => said.push(m))
    assert.equal(said.length, 1)
    assert.match(said[0]!, /in clear/)
  })
})

describe('master key sources', () => {
  const hex = randomBytes(32).toString('hex')
  const expectedId = parseMasterKey(hex, 't').id

  it('parses hex and base64; refuses anything else without echoing it', () => {
    assert.equal(parseMasterKey(Buffer.from(hex, 'hex').toString('base64'), 't').id, expectedId)
    assert.equal(parseMasterKey(Buffer.from(hex, 'hex').toString('base64url'), 't').id, expectedId)
    assert.throws(
      () => parseMasterKey('correct horse battery staple', 'GRAMFARM_MASTER_KEY'),
      (err: unknown) => {
        assert.ok(err instanceof MasterKeyError)
        assert.ok(!err.message.includes('horse'))
        return true
      },
    )
  })

  it('reads the key from the environment, a file or a command; only one of them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gf-key-'))
    try {
      const file = join(dir, 'master.key')
      await writeFile(file, `${hex}\n`, { mode: 0o600 })
      assert.equal((await loadMasterKey(masterKeySourcesFromEnv({ GRAMFARM_MASTER_KEY: hex })))!.id, expectedId)
      assert.equal((await loadMasterKey({ keyFile: file }))!.id, expectedId)
      assert.equal((await loadMasterKey({ keyCommand: `cat '${file}'` }))!.id, expectedId)
      assert.equal(await loadMasterKey({}), null)
      await assert.rejects(loadMasterKey({ key: hex, keyFile: file }), MasterKeyError)
      await assert.rejects(loadMasterKey({ keyCommand: 'exit 3' }), MasterKeyError)
      await assert.rejects(loadMasterKey({ keyFile: join(dir, 'absent') }), MasterKeyError)
      const oldHex = randomBytes(32).toString('hex')
      const ring = await loadKeyring(
        masterKeySourcesFromEnv({ GRAMFARM_MASTER_KEY: hex, GRAMFARM_OLD_MASTER_KEYS: oldHex }),
      )
      assert.deepEqual(ring.keyIds.sort(), [expectedId, parseMasterKey(oldHex, 't').id].sort())
      await assert.rejects(loadKeyring(masterKeySourcesFromEnv({ GRAMFARM_REQUIRE_ENCRYPTION: '1' })), MasterKeyError)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
