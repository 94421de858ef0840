// `gramfarm sessions import` and `sessions export --format …` as the operator runs them, against a farm's test DC
// (--testdc) and Redis: a Telethon file with a sidecar and a strings file go in (user ids learned by getMe with the
// account's identity, a foreign file reported, exit 1), every format comes out 0600 with sidecars, and the
// exported Telethon folder goes into another farm prefix as the same accounts.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { Client } from '../src/auth/client.ts'
import { MemorySessionStorage, exportSessionString, type SessionRecord } from '../src/auth/storage/index.ts'
import { telethonSessionImage } from '../src/auth/storage/telethon-file.ts'
import { clientOptionsFor } from '../src/testdc/testdc-endpoint.ts'
import { API, REDIS_URL, runCli, startFarm, type Farm } from './farm-e2e-harness.ts'

const PHONES = ['9996621301', '9996621302']
let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'formats-cli' })
})
after(async () => {
  await farm.stop()
})

async function login(phone: string, deviceModel: string): Promise<SessionRecord> {
  const storage = new MemorySessionStorage()
  const client = new Client(phone, {
    ...API,
    ...clientOptionsFor(farm.testDc.endpoint),
    storage,
    phoneNumber: phone,
    phoneCode: '22222',
    deviceModel,
    systemVersion: 'SDK 34',
    appVersion: '10.14.5',
  })
  await client.start()
  const record = (await storage.load())!
  await client.stop()
  return record
}

const cli = (args: string[], prefix = farm.prefix) =>
  runCli(['--redis-url', REDIS_URL, '--prefix', prefix, '--testdc', farm.endpointFile, ...args], {
    env: { GRAMFARM_TDATA_PASSCODE: 'p4ss' },
    timeoutMs: 120_000,
  })

it(
  'imports a Telethon file + sidecar and a strings file, exports every format, re-imports',
  { timeout: 300_000 },
  async () => {
    const [a, b] = [await login(PHONES[0]!, 'Pixel 8'), await login(PHONES[1]!, 'Galaxy S24')]
    const inbox = join(farm.dir, 'inbox')
    mkdirSync(inbox)
    const dc = (r: SessionRecord) => farm.testDc.endpoint.dcs.find((d) => d.id === r.dcId)!
    writeFileSync(join(inbox, 'a.session'), await telethonSessionImage({ ...a, server: dc(a) }))
    writeFileSync(
      join(inbox, 'a.json'),
      JSON.stringify({
        app_id: API.apiId,
        app_hash: API.apiHash,
        device: 'Pixel 8',
        sdk: 'SDK 34',
        app_version: '10.14.5',
        lang_pack: 'android',
        lang_code: 'en',
        system_lang_pack: 'en-US',
      }),
    )
    writeFileSync(join(inbox, 'b.txt'), `${exportSessionString({ ...b, server: dc(b) }, 'gramjs')}\n`)
    writeFileSync(join(inbox, 'c.session'), randomBytes(512))

    const imported = await cli(['sessions', 'import', inbox, '--json'])
    assert.equal(imported.code, 1, imported.stderr) // c.session is an error row
    const rows = JSON.parse(imported.stdout) as {
      source: string
      status: string
      session?: string
      userId?: string
      warnings: string[]
    }[]
    assert.deepEqual(rows.map((r) => [r.source.split('/').pop(), r.status]).sort(), [
      ['a.session', 'imported'],
      ['b.txt:1', 'imported'],
      ['c.session', 'error'],
    ])
    assert.equal(rows.find((r) => r.source.endsWith('a.session'))!.userId, a.userId!.toString())
    // the GramJS string named no identity: the farm's identity setting (default mix) gave it a preset, saved
    const bRow = rows.find((r) => r.source.endsWith('b.txt:1')) as { warnings: string[] }
    assert.match(bRow.warnings.join(' '), /preset ".+" assigned and saved/)
    // the phone was not in the files: getMe told it, so the sessions have the names a login would give them
    assert.deepEqual(
      rows
        .filter((r) => r.session)
        .map((r) => r.session)
        .sort(),
      PHONES.map((p) => `user-${p}`),
    )
    const table = await cli(['sessions', 'import', inbox])
    assert.match(table.stdout, /0 imported, 2 duplicates, 1 errors/)

    for (const format of ['pyrogram', 'telethon', 'gramjs', 'strings', 'tdata']) {
      const dir = join(farm.dir, `out-${format}`)
      const out = await cli(['sessions', 'export', '--dir', dir, '--format', format, '--json'])
      assert.equal(out.code, 0, out.stderr)
      const doc = JSON.parse(out.stdout) as { exported: { file: string; sidecar: string; format: string }[] }
      assert.equal(doc.exported.length, 2, format)
      for (const e of doc.exported) {
        assert.equal(e.format, format)
        assert.equal(statSync(e.sidecar).mode & 0o777, 0o600)
        if (format !== 'tdata') assert.equal(statSync(e.file).mode & 0o777, 0o600)
        else assert.equal(statSync(join(e.file, 'key_datas')).mode & 0o777, 0o600)
      }
      const side = JSON.parse(readFileSync(doc.exported[0]!.sidecar, 'utf8')) as Record<string, unknown>
      assert.equal(side['device'], 'Pixel 8')
      assert.equal(side['app_hash'], API.apiHash)
    }
    const bad = await cli(['sessions', 'export', '--dir', join(farm.dir, 'x'), '--format', 'kurigram'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--format must be one of/)

    // the tdata export (locked with GRAMFARM_TDATA_PASSCODE) into another farm prefix: the same two accounts
    const other = `${farm.prefix}other:`
    const back = await cli(['sessions', 'import', join(farm.dir, 'out-tdata'), '--json'], other)
    assert.equal(back.code, 0, back.stderr + back.stdout)
    const backRows = JSON.parse(back.stdout) as { status: string; userId: string }[]
    assert.deepEqual(backRows.map((r) => r.userId).sort(), [a.userId!.toString(), b.userId!.toString()].sort())
    const list = await cli(['sessions', 'list', '--json'], other)
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 2)
  },
)
