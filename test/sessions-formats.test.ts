// The file formats of `sessions import` without a DC: Telethon `.session` files made by an independent writer
// (Python's sqlite3 with Telethon's own CREATE statements, schema 7 and 8) read by ours, ours read by Telethon's
// reading code; the `.json` sidecar spellings sellers use; foreign files rejected with a clear error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readTelethonSessionImage, telethonSessionImage } from '../src/auth/storage/telethon-file.ts'
import { readPyrogramSessionImage } from '../src/auth/storage/file-storage.ts'
import { SessionFormatError } from '../src/auth/storage/errors.ts'
import { parseSidecar, parseSidecarProxy, sidecarJson, SidecarError } from '../src/farm/session-sidecar.ts'
import { readImportSources } from '../src/farm/session-import.ts'
import { readFile } from 'node:fs/promises'

const hasPython = ((): boolean => {
  try {
    execFileSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/** Telethon's sqlite.py schema and insert, version 7 or 8 (8 adds sessions.tmp_auth_key), run by Python. */
function telethonWrites(path: string, version: 7 | 8, dcId: number, host: string, port: number, key: Buffer): void {
  const script = `
import sqlite3, sys
path, version, dc, host, port, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), bytes.fromhex(sys.argv[6])
conn = sqlite3.connect(path)
c = conn.cursor()
c.execute("create table version (version integer primary key)")
if version == 8:
    c.execute("create table sessions (dc_id integer primary key, server_address text, port integer, auth_key blob, takeout_id integer, tmp_auth_key blob)")
else:
    c.execute("create table sessions (dc_id integer primary key, server_address text, port integer, auth_key blob, takeout_id integer)")
c.execute("create table entities (id integer primary key, hash integer not null, username text, phone integer, name text, date integer)")
c.execute("create table sent_files (md5_digest blob, file_size integer, type integer, id integer, hash integer, primary key(md5_digest, file_size, type))")
c.execute("create table update_state (id integer primary key, pts integer, qts integer, date integer, seq integer)")
c.execute("insert into version values (?)", (version,))
if version == 8:
    c.execute("insert or replace into sessions values (?,?,?,?,?,?)", (dc, host, port, key, None, None))
else:
    c.execute("insert or replace into sessions values (?,?,?,?,?)", (dc, host, port, key, None))
c.execute("insert or replace into entities values (?,?,?,?,?,?)", (777000, 123, 'telegram', None, 'Telegram', 0))
conn.commit()
conn.close()
`
  execFileSync('python3', ['-c', script, path, String(version), String(dcId), host, String(port), key.toString('hex')])
}

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gramfarm-formats-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

for (const version of [7, 8] as const) {
  test(
    `a Telethon schema ${version} file written by Python's sqlite3 is read by ours`,
    { skip: !hasPython && 'no python3' },
    async (t) => {
      const dir = await scratch(t)
      const key = randomBytes(256)
      telethonWrites(join(dir, 'a.session'), version, 4, '149.154.167.91', 443, key)
      const record = await readTelethonSessionImage(new Uint8Array(await readFile(join(dir, 'a.session'))), 'a.session')
      assert.equal(record.dcId, 4)
      assert.deepEqual(Buffer.from(record.authKey), key)
      assert.equal(record.testMode, false)
      assert.equal(record.userId, null, 'a Telethon file says no user id')
      // and the import reader tells it from a Pyrogram file
      const { candidates, rows } = await readImportSources([join(dir, 'a.session')])
      assert.equal(rows.length, 0)
      assert.equal(candidates[0]!.format, 'telethon')
    },
  )
}

test(
  "a Telethon file we write has Telethon's exact schema (sqlite_master compared with Python-made)",
  { skip: !hasPython && 'no python3' },
  async (t) => {
    const dir = await scratch(t)
    const key = randomBytes(256)
    telethonWrites(join(dir, 'ref.session'), 7, 2, '149.154.167.51', 443, key)
    await writeFile(
      join(dir, 'ours.session'),
      await telethonSessionImage({
        dcId: 2,
        apiId: null,
        testMode: false,
        authKey: key,
        date: 0,
        userId: null,
        isBot: null,
      }),
    )
    const schema = (file: string): string =>
      execFileSync(
        'python3',
        [
          '-c',
          `import sqlite3,sys,re
c=sqlite3.connect(sys.argv[1]).cursor()
for t,n,s in c.execute("select type,name,sql from sqlite_master order by name"): print(t,n,re.sub(r"\\s+"," ",s or "").replace("( ","(").replace(" )",")"))
print(c.execute("select * from version").fetchall())
dc, host, port, key, takeout = c.execute("select * from sessions").fetchone()
print(dc, host, port, len(key), takeout)`,
          join(dir, file),
        ],
        { encoding: 'utf8' },
      )
    assert.equal(schema('ours.session'), schema('ref.session'))
  },
)

test('foreign files: random bytes, an SQLite file of neither tool, an empty Telethon file', async (t) => {
  const dir = await scratch(t)
  await assert.rejects(readTelethonSessionImage(new Uint8Array(randomBytes(64)), 'x'), SessionFormatError)
  await assert.rejects(readPyrogramSessionImage(new Uint8Array(randomBytes(64)), 'x'), SessionFormatError)
  await writeFile(join(dir, 'random.session'), randomBytes(2048))
  await writeFile(join(dir, 'empty.txt'), '\n# nothing\n')
  const { candidates, rows } = await readImportSources([dir, join(dir, 'missing.session')])
  assert.equal(candidates.length, 0)
  const errors = Object.fromEntries(rows.map((r) => [r.source.split('/').pop(), r.error]))
  assert.match(errors['random.session']!, /not an SQLite file \(neither Pyrogram nor Telethon\)/)
  assert.match(errors['empty.txt']!, /no session string/)
  assert.match(errors['missing.session']!, /no such file/)
})

test('sidecars: the spellings sellers use (opentele, TGConvertor and others)', () => {
  const opentele = parseSidecar(
    JSON.stringify({
      app_id: 2040,
      app_hash: 'B18441A1FF607E10A989891A5462E627',
      device: 'Desktop',
      sdk: 'Windows 10',
      app_version: '4.16.8 x64',
      system_lang_pack: 'en-US',
      lang_pack: 'tdesktop',
      lang_code: 'en',
      twoFA: 'hunter2',
      id: 5000000001,
      phone: '+999 66 21234',
      proxy: null,
    }),
  )
  assert.equal(opentele.apiId, 2040)
  assert.equal(opentele.apiHash, 'b18441a1ff607e10a989891a5462e627')
  assert.deepEqual(opentele.device, {
    deviceModel: 'Desktop',
    systemVersion: 'Windows 10',
    appVersion: '4.16.8 x64',
    systemLangCode: 'en-US',
    langCode: 'en',
    langPack: 'tdesktop',
  })
  assert.equal(opentele.userId, 5000000001n)
  assert.equal(opentele.phone, '9996621234')
  assert.equal(opentele.password, 'hunter2')
  const other = parseSidecar(
    JSON.stringify({
      api_id: '6',
      device_model: 'Pixel 8',
      system_version: 'SDK 34',
      app_version: '10.9.1',
      tg_id: '42',
      proxy: 'socks5://u:p@10.0.0.1:1080',
    }),
  )
  assert.equal(other.apiId, 6)
  assert.equal(other.device?.langCode, 'en', 'missing language fields get a default')
  assert.equal(other.userId, 42n)
  assert.equal(other.proxy, 'socks5://u:p@10.0.0.1:1080')
  assert.equal(parseSidecar('{}').device, null)
  assert.throws(() => parseSidecar('[1]'), SidecarError)
  assert.throws(() => parseSidecar('{"app_hash": "nothex"}'), /app_hash/)
  assert.throws(() => parseSidecar('{"device": "Pixel"}'), /incomplete/)
})

test('sidecar proxies: Telethon tuples, host:port:user:pass, objects, URLs; HTTP refused', () => {
  assert.equal(parseSidecarProxy([2, '1.2.3.4', 1080, true, 'u', 'p']), 'socks5://u:p@1.2.3.4:1080')
  assert.equal(parseSidecarProxy(['socks5', '1.2.3.4', 1080, 'u', 'p']), 'socks5://u:p@1.2.3.4:1080')
  assert.equal(parseSidecarProxy('1.2.3.4:1080:u:p@ss'), 'socks5://u:p%40ss@1.2.3.4:1080')
  assert.equal(parseSidecarProxy('1.2.3.4:1080'), 'socks5://1.2.3.4:1080')
  assert.equal(
    parseSidecarProxy({ proxy_type: 'socks5', addr: '::1', port: 9050, username: 'a', password: 'b' }),
    'socks5://a:b@[::1]:9050',
  )
  assert.equal(parseSidecarProxy(null), null)
  assert.throws(() => parseSidecarProxy([3, '1.2.3.4', 8080]), /http is not supported/)
  assert.throws(() => parseSidecarProxy('1.2.3.4'), SidecarError)
})

test('the sidecar we write reads back to the same account', () => {
  const device = {
    deviceModel: 'iPhone 15 Pro',
    systemVersion: 'iOS 17.5.1',
    appVersion: '11.2',
    systemLangCode: 'es',
    langCode: 'es',
    langPack: 'ios',
  }
  const text = sidecarJson({
    sessionFile: 'a.session',
    dcId: 2,
    testMode: true,
    apiId: 8,
    apiHash: 'b18441a1ff607e10a989891a5462e627',
    device,
    phone: '9996621234',
    userId: 99n,
    isBot: false,
    password: 'pw',
    proxy: 'socks5://u:p@1.2.3.4:1080',
  })
  const back = parseSidecar(text)
  assert.deepEqual(back.device, device)
  assert.equal(back.apiId, 8)
  assert.equal(back.userId, 99n)
  assert.equal(back.testMode, true)
  assert.equal(back.proxy, 'socks5://u:p@1.2.3.4:1080')
  assert.equal(back.password, 'pw')
})
