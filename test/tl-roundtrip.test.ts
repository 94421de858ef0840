// Every constructor and method of the pinned layer and of the MTProto schema survives encode → decode →
// encode, with all optional fields set and with none set.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tlCodec, API_LAYER, TlEncodeError, type TlValue } from '../src/mtproto/tl/index.ts'
import { TlSampleFactory, loadSchema, type OptionalMode } from './support/tl-samples.ts'

for (const file of [`api-${API_LAYER}.tl`, 'mtproto.tl']) {
  const factory = new TlSampleFactory(loadSchema(file), 7)
  for (const mode of ['all', 'none'] as OptionalMode[]) {
    test(`${file}: every constructor and method round-trips with ${mode} optional fields`, () => {
      let count = 0
      for (const entry of factory.entries()) {
        const sample = factory.sample(entry, mode)
        const bytes = tlCodec.encode(sample)
        assert.equal(new DataView(bytes.buffer).getUint32(0, true), entry.id, `${entry.name}: constructor id`)
        const decoded = tlCodec.decode(bytes)
        assert.deepStrictEqual(decoded, sample, `${entry.name} (${mode}) decodes to what was encoded`)
        assert.deepStrictEqual(tlCodec.encode(decoded), bytes, `${entry.name} (${mode}) re-encodes byte-exact`)
        count++
      }
      assert.ok(count > (file === 'mtproto.tl' ? 40 : 2000), `covered ${count} entries`)
    })
  }
}

test('flags are computed from the fields that are present', () => {
  const bytes = tlCodec.encode({
    _: 'codeSettings',
    allowFlashcall: true,
    currentNumber: false,
    logoutTokens: [new Uint8Array([1, 2, 3])],
  })
  const flags = new DataView(bytes.buffer).getUint32(4, true)
  assert.equal(flags, 0b1000001, 'allow_flashcall is flags.0, logout_tokens flags.6')
})

test('flags2 fields are read after their own flags word', () => {
  const user = { _: 'user', id: 5n, botCanEdit: true, usernames: [], firstName: 'a' } as unknown as TlValue
  const decoded = tlCodec.decode(tlCodec.encode(user))
  assert.equal(decoded['botCanEdit'], true)
  assert.deepEqual(decoded['usernames'], [])
  assert.equal(decoded['firstName'], 'a')
})

test('a missing required field is a TlEncodeError naming the constructor and field', () => {
  assert.throws(
    () => tlCodec.encode({ _: 'auth.sendCode', phoneNumber: '+1', apiId: 1, settings: { _: 'codeSettings' } }),
    (e: unknown) => e instanceof TlEncodeError && e.constructorName === 'auth.sendCode' && /apiHash/.test(e.message),
  )
})

test('an object of the wrong type in a typed field is a TlEncodeError', () => {
  assert.throws(
    () =>
      tlCodec.encode({
        _: 'auth.sendCode',
        phoneNumber: '+1',
        apiId: 1,
        apiHash: 'h',
        settings: { _: 'user', id: 1n },
      }),
    (e: unknown) => e instanceof TlEncodeError && /not a constructor of CodeSettings/.test(e.message),
  )
  assert.throws(() => tlCodec.encode({ _: 'noSuchThing' }), TlEncodeError)
})

test('fields sharing one flag bit must be set together', () => {
  // requestedPeerUser: first_name and last_name are both flags.0
  assert.throws(
    () => tlCodec.encode({ _: 'requestedPeerUser', userId: 1n, firstName: 'a' }),
    (e: unknown) => e instanceof TlEncodeError && /firstName, lastName share one flag bit/.test(e.message),
  )
  assert.doesNotThrow(() => tlCodec.encode({ _: 'requestedPeerUser', userId: 1n, firstName: 'a', lastName: '' }))
  assert.doesNotThrow(() => tlCodec.encode({ _: 'requestedPeerUser', userId: 1n }))
})

test('long accepts the unsigned form of a 64-bit id and reads it back signed', () => {
  const bytes = tlCodec.encode({ _: 'inputPeerUser', userId: 2n ** 64n - 1n, accessHash: 0xffffffffffffffffn })
  const decoded = tlCodec.decode(bytes)
  assert.equal(decoded['userId'], -1n)
  assert.equal(decoded['accessHash'], -1n)
})

test('strings: UTF-8, the 4-byte length form above 253 bytes, and padding to 4', () => {
  for (const s of ['', 'a', 'abc', 'abcd', 'é', 'x'.repeat(253), 'x'.repeat(254), 'ж'.repeat(200), '👋'.repeat(70)]) {
    const bytes = tlCodec.encode({ _: 'username', editable: false, active: false, username: s })
    assert.equal(bytes.length % 4, 0)
    const len = Buffer.byteLength(s)
    assert.equal(bytes[8], len <= 253 ? len : 254)
    assert.equal(tlCodec.decode(bytes)['username'], s)
  }
})

test('requests know their result type, through invokeWithLayer(initConnection(...))', () => {
  const req = {
    _: 'invokeWithLayer',
    layer: API_LAYER,
    query: {
      _: 'initConnection',
      apiId: 1,
      deviceModel: 'd',
      systemVersion: 's',
      appVersion: 'a',
      systemLangCode: 'en',
      langPack: '',
      langCode: 'en',
      query: { _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] },
    },
  }
  const users = [{ _: 'userEmpty', id: 7n }]
  const bytes = tlCodec.encodeResult(req, users)
  assert.deepStrictEqual(tlCodec.decodeResult(req, bytes), users)
  const ids = tlCodec.encodeResult({ _: 'contacts.getContactIDs', hash: 0n }, [1, 2, 3])
  assert.deepStrictEqual(tlCodec.decodeResult({ _: 'contacts.getContactIDs', hash: 0n }, ids), [1, 2, 3])
})
