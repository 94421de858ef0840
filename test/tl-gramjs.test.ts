// Byte-exact agreement with a third-party serializer: GramJS (`telegram`, layer 198) against our layer-198
// codec, for every constructor and method where GramJS can serialize the sample at all, and for the
// requests a login sends.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { codecForLayer, type TlValue } from '../src/mtproto/tl/index.ts'
import { fieldName } from '../src/mtproto/tl/tl-names.ts'
import { TELEGRAM_CLIENT_LIMITS } from '../src/testdc/services/help-service.ts'
import { TlSampleFactory, loadSchema } from './support/tl-samples.ts'
import { gramjsBytes, GRAMJS_LAYER } from './support/gramjs-objects.ts'

const schema = loadSchema('api-198.tl')
const fields = new Map<string, { tlName: string; type: string }>()
for (const e of schema.entries)
  for (const a of e.args) fields.set(`${e.name}.${fieldName(a.name)}`, { tlName: a.name, type: a.type.kind })
const tlFieldOf = (ctor: string, field: string): { tlName: string; type: string } => {
  const f = fields.get(`${ctor}.${field}`)
  if (!f) throw new Error(`no field ${field} in ${ctor}`)
  return f
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('GramJS speaks layer 198, the layer we compare against', () => {
  assert.equal(GRAMJS_LAYER, 198)
})

test('every layer-198 constructor and method: our bytes equal GramJS bytes', async (t) => {
  const codec = await codecForLayer(198)
  const factory = new TlSampleFactory(schema, 11)
  let same = 0
  const gramjsCannot: string[] = []
  const gramjsRewrites: string[] = []
  for (const entry of factory.entries()) {
    for (const mode of ['all', 'none'] as const) {
      const sample = factory.sample(entry, mode)
      // GramJS patches its Message classes with getters that rewrite peer ids ("marked" ids) on construction.
      if (
        /"_":"message(Service)?"/.test(
          JSON.stringify(sample, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)),
        )
      ) {
        gramjsRewrites.push(entry.name)
        continue
      }
      let theirs: Buffer
      try {
        theirs = gramjsBytes(sample, tlFieldOf)
      } catch {
        // GramJS throws on flags.31 (1 << 31 is negative for writeUInt32LE): nothing to compare against.
        gramjsCannot.push(`${entry.name}/${mode}`)
        continue
      }
      assert.equal(hex(codec.encode(sample)), hex(theirs), `${entry.name} (${mode})`)
      same++
    }
  }
  t.diagnostic(
    `byte-exact: ${same} samples; GramJS cannot serialize ${gramjsCannot.length}; GramJS rewrites ${gramjsRewrites.length}`,
  )
  assert.ok(
    same > 3500,
    `compared ${same} samples (GramJS could not serialize ${gramjsCannot.length}: ${gramjsCannot.slice(0, 5).join(', ')})`,
  )
  assert.ok(gramjsRewrites.length < 200, `${gramjsRewrites.length} samples held GramJS's patched Message classes`)
  assert.ok(gramjsCannot.length < 60, `GramJS failed on ${gramjsCannot.length} samples`)
})

const LOGIN_OBJECTS: [string, TlValue][] = [
  [
    'invokeWithLayer(initConnection(auth.sendCode))',
    {
      _: 'invokeWithLayer',
      layer: 198,
      query: {
        _: 'initConnection',
        apiId: 2040,
        deviceModel: 'gramfarm',
        systemVersion: 'Linux 6.1',
        appVersion: '0.1.0',
        systemLangCode: 'en',
        langPack: '',
        langCode: 'en',
        params: {
          _: 'jsonObject',
          value: [{ _: 'jsonObjectValue', key: 'tz_offset', value: { _: 'jsonNumber', value: 3600 } }],
        },
        query: {
          _: 'auth.sendCode',
          phoneNumber: '+9996621234',
          apiId: 2040,
          apiHash: 'b18441a1ff607e10a989891a5462e627',
          settings: {
            _: 'codeSettings',
            allowFlashcall: true,
            currentNumber: true,
            logoutTokens: [new Uint8Array([1, 2, 3, 4, 5])],
          },
        },
      },
    },
  ],
  ['auth.signIn', { _: 'auth.signIn', phoneNumber: '+9996621234', phoneCodeHash: 'f1e2d3c4b5a6', phoneCode: '22222' }],
  [
    'auth.signUp',
    {
      _: 'auth.signUp',
      noJoinedNotifications: true,
      phoneNumber: '+9996621234',
      phoneCodeHash: 'abc',
      firstName: 'Ann',
      lastName: '',
    },
  ],
  [
    'auth.exportLoginToken with except_ids',
    {
      _: 'auth.exportLoginToken',
      apiId: 2040,
      apiHash: 'b18441a1ff607e10a989891a5462e627',
      exceptIds: [123456789n, 987654321n, -5n],
    },
  ],
  ['auth.importLoginToken', { _: 'auth.importLoginToken', token: new Uint8Array(32).fill(7) }],
  [
    'auth.checkPassword',
    {
      _: 'auth.checkPassword',
      password: {
        _: 'inputCheckPasswordSRP',
        srpId: -2046015018n,
        A: new Uint8Array(256).fill(3),
        M1: new Uint8Array(32).fill(9),
      },
    },
  ],
  [
    'auth.importBotAuthorization',
    { _: 'auth.importBotAuthorization', flags: 0, apiId: 2040, apiHash: 'h', botAuthToken: '123456:ABC-DEF' },
  ],
  [
    'auth.sentCode',
    {
      _: 'auth.sentCode',
      type: { _: 'auth.sentCodeTypeSms', length: 5 },
      phoneCodeHash: 'abcdef',
      nextType: { _: 'auth.codeTypeCall' },
      timeout: 60,
    },
  ],
  [
    'auth.authorization',
    {
      _: 'auth.authorization',
      setupPasswordRequired: true,
      otherwiseReloginDays: 7,
      tmpSessions: undefined,
      futureAuthToken: new Uint8Array([9, 9]),
      user: {
        _: 'user',
        self: true,
        id: 777000n,
        accessHash: 123n,
        firstName: 'Telegram',
        phone: '42777',
        status: { _: 'userStatusOnline', expires: 1700000000 },
        usernames: [{ _: 'username', editable: true, active: true, username: 'tg' }],
      },
    },
  ],
  ['auth.loginToken', { _: 'auth.loginToken', expires: 1700000030, token: new Uint8Array(16).fill(1) }],
  ['auth.loginTokenMigrateTo', { _: 'auth.loginTokenMigrateTo', dcId: 4, token: new Uint8Array(16).fill(2) }],
  ['updateLoginToken in updateShort', { _: 'updateShort', update: { _: 'updateLoginToken' }, date: 1700000000 }],
  [
    'account.password',
    {
      _: 'account.password',
      hasPassword: true,
      currentAlgo: {
        _: 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow',
        salt1: new Uint8Array(40).fill(1),
        salt2: new Uint8Array(16).fill(2),
        g: 3,
        p: new Uint8Array(256).fill(0xc7),
      },
      srpB: new Uint8Array(256).fill(5),
      srpId: 42n,
      hint: 'my hint',
      newAlgo: { _: 'passwordKdfAlgoUnknown' },
      newSecureAlgo: { _: 'securePasswordKdfAlgoUnknown' },
      secureRandom: new Uint8Array(32),
    },
  ],
  [
    'config',
    {
      _: 'config',
      thisDc: 2,
      date: 1700000000,
      expires: 1700003600,
      testMode: true,
      dcOptions: [
        { _: 'dcOption', id: 1, ipAddress: '127.0.0.1', port: 40001 },
        {
          _: 'dcOption',
          ipv6: true,
          mediaOnly: true,
          id: 2,
          ipAddress: '::1',
          port: 40002,
          secret: new Uint8Array(16).fill(1),
        },
      ],
      suggestedLangCode: 'en',
      baseLangPackVersion: 1,
      dcTxtDomainName: 'apv3.stel.com',
      ...TELEGRAM_CLIENT_LIMITS,
      captionLengthMax: 1024,
      messageLengthMax: 4096,
      webfileDcId: 4,
      langPackVersion: 1,
      reactionsDefault: { _: 'reactionEmoji', emoticon: '👍' },
    },
  ],
  [
    'users.getUsers',
    { _: 'users.getUsers', id: [{ _: 'inputUserSelf' }, { _: 'inputUser', userId: 5n, accessHash: -7n }] },
  ],
  ['help.getConfig', { _: 'help.getConfig' }],
]

for (const [label, obj] of LOGIN_OBJECTS) {
  test(`byte-exact with GramJS: ${label}`, async () => {
    const codec = await codecForLayer(198)
    const ours = codec.encode(obj)
    assert.equal(hex(ours), hex(gramjsBytes(obj, tlFieldOf)))
    assert.deepStrictEqual(codec.encode(codec.decode(ours)), ours)
  })
}
