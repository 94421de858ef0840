// Device identities end to end: a farm onboarding gives each account a preset (a real app on a real device) at its
// first login, saves it with the session, and every later connection of the account shows the same — the test DC's
// account.getAuthorizations is the witness. With `identity: library` each such account is warned about once.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '../src/auth/client.ts'
import {
  DEVICE_PRESETS,
  parseIdentityChoice,
  presetFor,
  resolveIdentity,
  IdentityChoiceError,
} from '../src/auth/device-identity.ts'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import type { AccountResult } from '../src/farm/coordinator.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { createLogger } from '../src/foundation/logger.ts'
import { sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { clientOptionsFor } from '../src/testdc/testdc-endpoint.ts'
import type { tl } from '../src/mtproto/tl/index.ts'
import { tmpdir } from 'node:os'
import { loadFarmConfig } from '../src/cli/farm-config.ts'
import { CliError } from '../src/cli/exit-codes.ts'
import { API, sink, startFarm, type Farm } from './farm-e2e-harness.ts'

const PHONES = ['9996621801', '9996631802', '9996621803', '9996641804', '9996651805', '9996631806', '9996621807']
/** Its accounts-file row names a device: that identity is kept whatever the preset. */
const OWN_DEVICE = '9996631808'

async function onboard(farm: Farm, text: string, file: string): Promise<Map<string, AccountResult>> {
  const { outcome } = await runOnboarding(farm.redis, farm.prefix, parseAccounts(text, { file }), {
    progress: false,
    timeoutMs: 30_000,
    stdout: sink(),
    stderr: sink(),
  })
  assert.equal(outcome.timedOut, false)
  return new Map(outcome.results.map((r) => [r.account, r]))
}

async function storedDevice(farm: Farm, session: string) {
  const storage = new RedisSessionStorage({
    redis: farm.redis,
    name: session,
    keyPrefix: sessionKeyPrefix(farm.prefix),
  })
  await storage.open()
  const record = await storage.load()
  await storage.close()
  assert.ok(record?.device, `session ${session} has its identity`)
  return { record, device: record.device }
}

describe('preset identities (default choice: a mix of platforms)', () => {
  let farm: Farm
  let results: Map<string, AccountResult>

  before(async () => {
    farm = await startFarm({ tag: 'identity' })
    await farm.startWorker({ threads: 1 })
    const csv = `phone,device_model,system_version,app_version\n${PHONES.join(',,,\n')},,,\n${OWN_DEVICE},Pixel 6,SDK 33,10.0.5 (3804)\n`
    results = await onboard(farm, csv, 'identity.csv')
  })
  after(() => farm.stop())

  it('gives each account a preset at its first login: the DC lists it, the session keeps it', async () => {
    const platforms = new Set<string>()
    for (const phone of PHONES) {
      const r = results.get(phone)
      assert.equal(r?.state, 'authorized', `${phone}: ${r?.state}`)
      const sessions = farm.testDc.accounts.sessionsOf(BigInt(r.userId!))
      assert.equal(sessions.length, 1)
      const shown = sessions[0]!.client
      assert.ok(shown)
      const preset = DEVICE_PRESETS.find(
        (p) =>
          p.deviceModel === shown.deviceModel &&
          p.systemVersion === shown.systemVersion &&
          p.appVersion === shown.appVersion,
      )
      assert.ok(preset, `${phone} connected as a preset, not ${shown.deviceModel} / ${shown.appVersion}`)
      assert.equal(
        preset.id,
        presetFor(phone, parseIdentityChoice('mix'))!.id,
        'the preset is the one derived from the account',
      )
      platforms.add(preset.platform)
      const { device } = await storedDevice(farm, r.session!)
      assert.deepEqual(
        [device.deviceModel, device.systemVersion, device.appVersion],
        [shown.deviceModel, shown.systemVersion, shown.appVersion],
      )
      // lang_pack only with the preset's official api_id (the test farm's is Telegram Desktop's, 2040)
      assert.equal(device.langPack, API.apiId === preset.officialApiId ? preset.langPack : '')
    }
    assert.ok(platforms.size >= 2, `a mix of platforms, got ${[...platforms].join(', ')}`)
  })

  it("keeps the accounts file's device fields", async () => {
    const r = results.get(OWN_DEVICE)
    assert.equal(r?.state, 'authorized')
    const shown = farm.testDc.accounts.sessionsOf(BigInt(r.userId!))[0]!.client!
    assert.deepEqual([shown.deviceModel, shown.systemVersion, shown.appVersion], ['Pixel 6', 'SDK 33', '10.0.5 (3804)'])
  })

  it('a later connection from the stored session shows the same device and app (getAuthorizations)', async () => {
    for (const phone of [PHONES[0]!, PHONES[3]!, OWN_DEVICE]) {
      const r = results.get(phone)!
      const { device } = await storedDevice(farm, r.session!)
      const warned: string[] = []
      const client = new Client(r.session!, {
        ...API,
        ...clientOptionsFor(farm.testDc.endpoint),
        storage: new RedisSessionStorage({
          redis: farm.redis,
          name: r.session!,
          keyPrefix: sessionKeyPrefix(farm.prefix),
        }),
        onDefaultIdentity: (name) => warned.push(name),
      })
      await client.start()
      try {
        const list = await client.invoke<tl.account.RawAuthorizations>({ _: 'account.getAuthorizations' })
        assert.equal(list.authorizations.length, 1, 'the same key: no second session')
        const me = list.authorizations[0]!
        assert.equal(me.current, true)
        assert.deepEqual(
          [me.deviceModel, me.systemVersion, me.appVersion, me.apiId],
          [device.deviceModel, device.systemVersion, device.appVersion, API.apiId],
        )
        // the DC saw where the key connected from and when it was last active
        const activity = farm.testDc.accounts.sessionsOf(BigInt(r.userId!))[0]!
        assert.equal(activity.ip, '127.0.0.1')
        assert.ok(activity.activeAt >= activity.createdAt)
        assert.equal(me.ip, '127.0.0.1')
        assert.deepEqual(warned, [])
      } finally {
        await client.stop()
      }
    }
  })
})

describe('identity: library', () => {
  let farm: Farm
  const lines: string[] = []

  before(async () => {
    farm = await startFarm({ tag: 'identity-lib' })
    const logger = createLogger({
      level: 'warn',
      pretty: false,
      destination: { write: (line: string) => void lines.push(line) } as never,
    })
    await farm.startWorker({ threads: 1, identity: 'library', logger })
  })
  after(() => farm.stop())

  it('connects with the library defaults and warns once per account', async () => {
    const results = await onboard(farm, `${PHONES[0]}\n${PHONES[1]}\n`, 'lib.txt')
    for (const r of results.values()) {
      assert.equal(r.state, 'authorized')
      assert.equal(farm.testDc.accounts.sessionsOf(BigInt(r.userId!))[0]!.client!.deviceModel, 'gramfarm')
    }
    const warnings = lines.filter((l) => l.includes('library default identity'))
    assert.equal(warnings.length, 2, warnings.join('\n'))
    assert.ok(!warnings.some((l) => l.includes(PHONES[0]!)), 'the phone is masked in the log')
  })
})

it('parseIdentityChoice: the spellings, and what is refused', () => {
  assert.equal(parseIdentityChoice('preset:ios-15pro').kind, 'preset')
  assert.deepEqual(parseIdentityChoice('android'), { kind: 'mix', weights: [{ platform: 'android', weight: 1 }] })
  const mix = parseIdentityChoice('mix:windows=3,ios=1,android=0')
  assert.deepEqual(mix, {
    kind: 'mix',
    weights: [
      { platform: 'windows', weight: 3 },
      { platform: 'ios', weight: 1 },
    ],
  })
  for (let i = 0; i < 50; i++) assert.notEqual(presetFor(`acct${i}`, mix)!.platform, 'android')
  assert.equal(presetFor('x', parseIdentityChoice('desktop'))!.officialApiId, 2040)
  for (const bad of ['preset:nope', 'mix:bsd=1', 'mix:ios=0', 'symbian'])
    assert.throws(() => parseIdentityChoice(bad), IdentityChoiceError)
})

it('config: identity from the file, GRAMFARM_IDENTITY or --identity; a bad one is a usage error', () => {
  assert.equal(loadFarmConfig({}, {}, tmpdir()).identity, 'mix')
  assert.equal(loadFarmConfig({}, { GRAMFARM_IDENTITY: 'android' }, tmpdir()).identity, 'android')
  assert.equal(
    loadFarmConfig({ identity: 'preset:ios-14' }, { GRAMFARM_IDENTITY: 'android' }, tmpdir()).identity,
    'preset:ios-14',
  )
  assert.throws(() => loadFarmConfig({ identity: 'mix:bsd=1' }, {}, tmpdir()), CliError)
})

it('resolveIdentity: the saved identity wins; a preset with the operator fields over it; library only when chosen', () => {
  const lib = {
    deviceModel: 'gramfarm',
    systemVersion: 'Linux',
    appVersion: '0.1.0',
    systemLangCode: 'en',
    langCode: 'en',
    langPack: '',
  }
  const stored = { ...lib, deviceModel: 'Saved', appVersion: '1.0' }
  const mix = parseIdentityChoice('mix')
  const base = { choice: mix, accountKey: '15550001', apiId: 2040, libraryDefaults: lib }
  assert.deepEqual(resolveIdentity({ ...base, stored, overrides: { deviceModel: 'Other' } }), {
    device: stored,
    source: 'session',
  })
  const fromPreset = resolveIdentity({ ...base, stored: undefined })
  assert.equal(fromPreset.source, 'preset')
  assert.equal(fromPreset.device.deviceModel, presetFor('15550001', mix)!.deviceModel)
  const own = resolveIdentity({ ...base, stored: null, overrides: { deviceModel: 'Pixel 6', appVersion: undefined } })
  assert.deepEqual(
    [own.source, own.device.deviceModel, own.device.appVersion],
    ['accounts-file', 'Pixel 6', fromPreset.device.appVersion],
  )
  const library = resolveIdentity({ ...base, stored: undefined, choice: parseIdentityChoice('library') })
  assert.deepEqual(library, { device: lib, source: 'library' })
})
