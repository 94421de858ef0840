// `sessions import` / `sessions export` end to end against a real test DC and Redis: accounts logged in with
// distinct identities are handed over as a Pyrogram file, Telethon files (with and without a sidecar), a strings
// file and a tdata folder (with a passcode); import stores each once (duplicates and foreign files reported),
// learns user ids it was not told with a getMe, registers them in except_ids, seals proxies; every imported account
// then connects with the identity it came with (the DC's account.getAuthorizations shows it). Export writes every
// format 0600 with sidecars, readable by other tools' readers, and importing the export gives the same accounts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { convertFromTdata, convertFromTelethonSession } from '@mtcute/convert'
import { StringSession } from 'telegram/sessions/index.js'
import { Client } from '../src/auth/client.ts'
import {
  FileSessionStorage,
  MemorySessionStorage,
  RedisSessionStorage,
  exportSessionString,
  type DeviceIdentity,
  type SessionRecord,
} from '../src/auth/storage/index.ts'
import { telethonSessionImage } from '../src/auth/storage/telethon-file.ts'
import { writeTdata } from '../src/auth/storage/tdata/index.ts'
import { Keyring, MasterKey } from '../src/foundation/sealed-value.ts'
import { ExceptIdsRegistry } from '../src/queue/except-ids-registry.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { SessionSecretStore } from '../src/queue/session-secrets.ts'
import { exportSessions, listRedisSessions, type ExportFormat } from '../src/farm/session-export.ts'
import { importSessions, type ImportRow } from '../src/farm/session-import.ts'
import { accountClientOptions, whoAmI } from '../src/farm/session-whoami.ts'
import { startAccountsDc, type AccountsDc } from './support/accounts-dc.ts'
import { scratchScope } from './farm-e2e-harness.ts'

const API_HASH = 'b18441a1ff607e10a989891a5462e627'

interface Seller {
  phone: string
  apiId: number
  device: DeviceIdentity
}

const SELLERS: Seller[] = [
  {
    phone: '9996621001',
    apiId: 2040,
    device: {
      deviceModel: 'Desktop',
      systemVersion: 'Windows 10',
      appVersion: '5.8.3 x64',
      systemLangCode: 'en-US',
      langCode: 'en',
      langPack: 'tdesktop',
    },
  },
  {
    phone: '9996621002',
    apiId: 6,
    device: {
      deviceModel: 'Samsung SM-G998B',
      systemVersion: 'SDK 33',
      appVersion: '11.5.3 (5212)',
      systemLangCode: 'de-DE',
      langCode: 'de',
      langPack: 'android',
    },
  },
  {
    phone: '9996621003',
    apiId: 8,
    device: {
      deviceModel: 'iPhone 15 Pro',
      systemVersion: 'iOS 17.5.1',
      appVersion: '11.2',
      systemLangCode: 'es',
      langCode: 'es',
      langPack: 'ios',
    },
  },
  {
    phone: '9996621004',
    apiId: 2040,
    device: {
      deviceModel: 'MacBookPro18,1',
      systemVersion: 'macOS 14.5',
      appVersion: '10.14.2',
      systemLangCode: 'fr',
      langCode: 'fr',
      langPack: 'macos',
    },
  },
  // no sidecar: imported with the farm's default identity (a warning), its user id learned by a getMe
  { phone: '9996621005', apiId: 2040, device: null as unknown as DeviceIdentity },
]

/** Logs a seller in on the test DC (as the seller's own tool did) and returns the session. */
async function login(env: AccountsDc, s: Seller): Promise<SessionRecord> {
  const storage = new MemorySessionStorage()
  const client = new Client(
    s.phone,
    env.clientOptions({
      storage,
      phoneNumber: s.phone,
      phoneCode: '22222',
      apiId: s.apiId,
      ...(s.device
        ? {
            deviceModel: s.device.deviceModel,
            systemVersion: s.device.systemVersion,
            appVersion: s.device.appVersion,
            systemLangCode: s.device.systemLangCode,
            langCode: s.device.langCode,
            langPack: s.device.langPack,
          }
        : {}),
    }),
  )
  await client.start()
  const record = (await storage.load())!
  await client.stop()
  return record
}

function sidecarOf(s: Seller, record: SessionRecord, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    app_id: s.apiId,
    app_hash: API_HASH,
    device: s.device.deviceModel,
    sdk: s.device.systemVersion,
    app_version: s.device.appVersion,
    system_lang_pack: s.device.systemLangCode,
    lang_code: s.device.langCode,
    lang_pack: s.device.langPack,
    phone: `+${s.phone}`,
    id: Number(record.userId),
    twoFA: null,
    proxy: null,
    ...extra,
  })
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

test('import the formats farms trade in, connect each account with its identity, export every format', async (t) => {
  const env = await startAccountsDc()
  t.after(() => env.stop())
  const scope = scratchScope('formats')
  const keyring = new Keyring({ current: new MasterKey(randomBytes(32)) })
  const secrets = new SessionSecretStore(scope.redis, scope.prefix, keyring)
  const dcs = { apiId: 2040, apiHash: API_HASH, dcs: env.dc.dcs, rsaKeys: [env.dc.publicKey] }

  const records: SessionRecord[] = []
  for (const s of SELLERS) records.push(await login(env, s))
  const [pyro, tele, tdata, str, bare] = records as [
    SessionRecord,
    SessionRecord,
    SessionRecord,
    SessionRecord,
    SessionRecord,
  ]
  const inbox = join(scope.dir, 'inbox')
  await mkdir(inbox)

  // 1. a Pyrogram file with its sidecar (and a proxy, which import must seal)
  const pyroFile = new FileSessionStorage({ workdir: inbox, name: 'pyro' })
  await pyroFile.open()
  await pyroFile.save({ ...pyro, device: null, apiId: null })
  await pyroFile.close()
  await writeFile(
    join(inbox, 'pyro.json'),
    sidecarOf(SELLERS[0]!, pyro, { proxy: [2, '127.0.0.1', 1080, true, 'user', 'pa:ss'] }),
  )
  // 2. a Telethon file with its sidecar, which says no user id (learned by getMe)
  await writeFile(
    join(inbox, 'tele.session'),
    await telethonSessionImage({ ...tele, server: env.dc.dcs.find((d) => d.id === 2)! }),
  )
  const teleSidecar = JSON.parse(sidecarOf(SELLERS[1]!, tele)) as Record<string, unknown>
  delete teleSidecar['id']
  await writeFile(join(inbox, 'tele.json'), JSON.stringify(teleSidecar))
  // 3. a tdata folder with a local passcode, its sidecar beside it
  await writeTdata(
    join(inbox, 'desk', 'tdata'),
    [{ userId: tdata.userId!, mainDcId: tdata.dcId, authKeys: new Map([[tdata.dcId, tdata.authKey]]) }],
    { passcode: 'pass 1' },
  )
  await writeFile(join(inbox, 'desk.json'), sidecarOf(SELLERS[2]!, tdata))
  // 4. a strings file: the 4th account as a Telethon string, the Pyrogram account again as a GramJS string (a
  //    duplicate), a bad line; and 5. a Telethon file without a sidecar
  const place = (r: SessionRecord): SessionRecord => ({ ...r, server: env.dc.dcs.find((d) => d.id === r.dcId)! })
  await writeFile(
    join(inbox, 'strings.txt'),
    `# bought 2026-12-01\n${exportSessionString(place(str), 'telethon')}\n${exportSessionString(place(pyro), 'gramjs')}\nnot-a-session\n`,
  )
  await writeFile(join(inbox, 'bare.session'), await telethonSessionImage(place(bare)))
  // foreign files
  await writeFile(join(inbox, 'junk.session'), randomBytes(300))
  await writeFile(join(inbox, 'notes.sqlite'), Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(100)]))

  const resolveUser = (c: Parameters<NonNullable<Parameters<typeof importSessions>[3]>['resolveUser'] & {}>[0]) =>
    whoAmI(c.record, { apiHash: c.sidecar.apiHash, proxy: null }, dcs)
  const rows = await importSessions(scope.redis, scope.prefix, [inbox], {
    sealer: keyring,
    secrets,
    passcode: 'pass 1',
    testMode: true,
    resolveUser,
  })
  const by = (status: ImportRow['status']): ImportRow[] => rows.filter((r) => r.status === status)
  assert.equal(by('imported').length, 5, JSON.stringify(rows, null, 1))
  assert.equal(by('duplicate').length, 1)
  assert.match(by('duplicate')[0]!.duplicateOf!, /pyro\.session/)
  const errors = by('error').map((r) => r.source.split('/').pop())
  assert.deepEqual(errors.sort(), ['junk.session', 'notes.sqlite', 'strings.txt:4'].sort())
  for (const r of by('error')) assert.ok(r.error && r.error.length > 5, `${r.source}: a clear error`)
  const bareRow = rows.find((r) => r.source.endsWith('bare.session'))!
  assert.equal(bareRow.userId, bare.userId!.toString(), 'user id learned by getMe')
  assert.match(bareRow.warnings.join(' '), /default identity/)

  // stored: identity, api id, user ids registered, secrets sealed
  const registry = new ExceptIdsRegistry({ redis: scope.redis, prefix: scope.prefix })
  const expected = [
    { seller: SELLERS[0]!, record: pyro },
    { seller: SELLERS[1]!, record: tele },
    { seller: SELLERS[2]!, record: tdata },
  ]
  for (const { seller, record } of expected) {
    const name = `user-${seller.phone}`
    const storage = new RedisSessionStorage({
      redis: scope.redis,
      name,
      keyPrefix: sessionKeyPrefix(scope.prefix),
      sealer: keyring,
    })
    await storage.open()
    const stored = (await storage.load())!
    assert.deepEqual(stored.device, seller.device, name)
    assert.equal(stored.apiId, seller.apiId)
    assert.equal(stored.userId, record.userId)
    assert.deepEqual(stored.authKey, record.authKey)
    assert.ok(await registry.isAuthorizedId(record.userId!), `${name} in except_ids`)
    assert.equal((await secrets.get(name)).apiHash, API_HASH)
  }
  const proxy = await scope.redis.hget(
    new FarmRedisKeys(scope.prefix).sessionSecrets(`user-${SELLERS[0]!.phone}`),
    'proxy',
  )
  assert.ok(proxy?.startsWith('gfs1.'), 'proxy sealed')
  assert.equal((await secrets.get(`user-${SELLERS[0]!.phone}`)).proxy, 'socks5://user:pa%3Ass@127.0.0.1:1080')

  // importing the same again: every account a duplicate of the farm's, nothing rewritten
  const again = await importSessions(scope.redis, scope.prefix, [inbox], {
    sealer: keyring,
    secrets,
    passcode: 'pass 1',
    testMode: true,
    resolveUser,
  })
  assert.equal(again.filter((r) => r.status === 'imported').length, 0)
  assert.equal(again.filter((r) => r.status === 'duplicate' && r.duplicateOf?.startsWith('farm:')).length, 6)

  // every imported account connects with the identity it came with
  const refs = await listRedisSessions(scope.redis, scope.prefix)
  assert.equal(refs.length, 5)
  for (const { seller } of [...expected, { seller: SELLERS[3]! }]) {
    const name = refs.find((r) => r.userId === records[SELLERS.indexOf(seller)]!.userId!.toString())!.name
    const storage = new RedisSessionStorage({
      redis: scope.redis,
      name,
      keyPrefix: sessionKeyPrefix(scope.prefix),
      sealer: keyring,
    })
    await storage.open()
    const record = (await storage.load())!
    const own = await secrets.get(name)
    const client = new Client(name, {
      ...accountClientOptions(record, { apiHash: own.apiHash ?? null, proxy: null }, dcs),
      storage,
    })
    await client.start()
    const auths = await client.invoke<{
      authorizations: {
        current?: boolean
        deviceModel: string
        systemVersion: string
        appVersion: string
        apiId: number
      }[]
    }>({ _: 'account.getAuthorizations' })
    await client.stop()
    const current = auths.authorizations.find((a) => a.current)!
    if (seller === SELLERS[3]) {
      // a Telethon string carries no identity: the farm's default, which import warned about
      assert.equal(current.deviceModel, 'gramfarm')
      continue
    }
    assert.equal(current.deviceModel, seller.device.deviceModel, name)
    assert.equal(current.systemVersion, seller.device.systemVersion)
    assert.equal(current.appVersion, seller.device.appVersion)
    assert.equal(current.apiId, seller.apiId)
  }

  // export every format: files 0600, sidecars in the common convention, readable by other tools
  const serverOf = (dcId: number) => {
    const d = env.dc.dcs.find((x) => x.id === dcId)
    return d ? { host: d.host, port: d.port } : undefined
  }
  const out = (f: string): string => join(scope.dir, `out-${f}`)
  const formats: ExportFormat[] = ['pyrogram', 'telethon', 'gramjs', 'strings', 'tdata']
  for (const format of formats) {
    const summary = await exportSessions(
      scope.redis,
      scope.prefix,
      refs,
      {
        dir: out(format),
        format,
        serverOf,
        secrets,
        ...(format === 'tdata' ? { passcode: 'out pass' } : {}),
        ...(format === 'strings' ? { stringFormat: 'telethon' as const } : {}),
      },
      keyring,
    )
    assert.equal(summary.exported.length, 5, format)
    for (const e of summary.exported) {
      assert.equal(await mode(e.sidecar!), 0o600)
      if (format !== 'tdata') assert.equal(await mode(e.file!), 0o600, `${format} ${e.file}`)
      const side = JSON.parse(await readFile(e.sidecar!, 'utf8')) as Record<string, unknown>
      assert.equal(side['user_id'], e.userId)
      assert.equal(side['dc_id'], e.dcId)
    }
    const pyroExport = summary.exported.find((e) => e.ref.name === `user-${SELLERS[0]!.phone}`)!
    const side = JSON.parse(await readFile(pyroExport.sidecar!, 'utf8')) as Record<string, unknown>
    assert.equal(side['device'], SELLERS[0]!.device.deviceModel)
    assert.equal(side['app_hash'], API_HASH)
    assert.equal(side['proxy'], 'socks5://user:pa%3Ass@127.0.0.1:1080')
    assert.equal(side['phone'], SELLERS[0]!.phone)
  }

  // independent readers: mtcute's tdata reader, GramJS's StringSession, Telethon's own read (Python's sqlite3)
  const teleName = `user-${SELLERS[1]!.phone}`
  const tdataName = `user-${SELLERS[2]!.phone}`
  const fromTd = await convertFromTdata({ path: join(out('tdata'), SELLERS[2]!.phone, 'tdata'), passcode: 'out pass' })
  assert.deepEqual(new Uint8Array(fromTd.authKey), tdata.authKey)
  assert.equal(fromTd.primaryDcs?.main.id, tdata.dcId)
  assert.equal(String(fromTd.self?.userId), tdata.userId!.toString())
  assert.ok(refs.some((r) => r.name === tdataName))
  const gram = new StringSession((await readFile(join(out('gramjs'), `${SELLERS[1]!.phone}.txt`), 'utf8')).trim())
  await gram.load()
  assert.equal(gram.dcId, tele.dcId)
  assert.deepEqual(new Uint8Array(gram.authKey!.getKey()!), tele.authKey)
  const lines = (await readFile(join(out('strings'), 'strings.txt'), 'utf8')).trim().split('\n')
  assert.equal(lines.length, 5)
  assert.ok(lines.some((l) => Buffer.from(convertFromTelethonSession(l).authKey).equals(Buffer.from(tele.authKey))))
  const telethonRead = telethonReadsFile(join(out('telethon'), `${SELLERS[1]!.phone}.session`))
  if (telethonRead === null) t.diagnostic('python3 not found: Telethon reference read skipped')
  else {
    assert.equal(telethonRead.version, 7)
    assert.equal(telethonRead.dcId, tele.dcId)
    assert.equal(telethonRead.port, serverOf(tele.dcId)!.port)
    assert.equal(telethonRead.authKeyHex, Buffer.from(tele.authKey).toString('hex'))
  }
  assert.ok(refs.some((r) => r.name === teleName))

  // the export imported into a fresh farm: the same accounts with the same identities
  for (const format of formats) {
    const fresh = scratchScope(`formats-${format}`)
    const back = await importSessions(fresh.redis, fresh.prefix, [out(format)], {
      passcode: 'out pass',
      testMode: true,
      resolveUser,
      secrets: new SessionSecretStore(fresh.redis, fresh.prefix),
    })
    assert.equal(back.filter((r) => r.status === 'imported').length, 5, `${format}: ${JSON.stringify(back, null, 1)}`)
    const name = format === 'strings' ? undefined : `user-${SELLERS[1]!.phone}`
    if (name) {
      const storage = new RedisSessionStorage({ redis: fresh.redis, name, keyPrefix: sessionKeyPrefix(fresh.prefix) })
      await storage.open()
      const r = (await storage.load())!
      assert.deepEqual(r.authKey, tele.authKey, format)
      assert.deepEqual(r.device, SELLERS[1]!.device, format)
      assert.equal(r.apiId, SELLERS[1]!.apiId, format)
    }
  }
  assert.ok((await readdir(out('tdata'))).includes(`${SELLERS[2]!.phone}.json`))
})

/** Telethon 1.x's own reading code (sessions/sqlite.py), run by Python's sqlite3: null when there is no python3. */
function telethonReadsFile(path: string): { version: number; dcId: number; port: number; authKeyHex: string } | null {
  const script = `
import sqlite3, sys, json
c = sqlite3.connect(sys.argv[1], check_same_thread=False).cursor()
c.execute("select name from sqlite_master where type='table' and name='version'")
assert c.fetchone()
c.execute('select version from version')
version = c.fetchone()[0]
c.execute('select * from sessions')
dc_id, server_address, port, key, takeout_id = c.fetchone()
c.execute('select * from entities'); c.execute('select * from sent_files'); c.execute('select * from update_state')
print(json.dumps({"version": version, "dcId": dc_id, "port": port, "authKeyHex": key.hex()}))
`
  try {
    return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as {
      version: number
      dcId: number
      port: number
      authKeyHex: string
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}
