// The `.session` file engine: Pyrogram v3/v7 files built here with raw SQL (values as literals, not bound by our
// code), our files checked column by column against Pyrogram v7, file mode, and the single-owner lock.
import { strict as assert } from 'node:assert'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import {
  FileSessionStorage,
  SessionFormatError,
  SessionLockedError,
  type SessionRecord,
} from '../src/auth/storage/index.ts'
import { SqliteDb } from '../src/auth/storage/sqlite-wasm.ts'

const root = mkdtempSync(join(tmpdir(), 'gramfarm-storage-'))
after(() => rmSync(root, { recursive: true, force: true }))

let counter = 0
function workdir(): string {
  const dir = join(root, `w${++counter}`)
  mkdirSync(dir)
  return dir
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const key = (): Uint8Array => new Uint8Array(randomBytes(256))

async function sqlite(path: string): Promise<SqliteDb> {
  return SqliteDb.open(new Uint8Array(readFileSync(path)))
}

/** Builds a database with raw SQL and writes it where a session file is expected. */
async function writeFixture(path: string, sql: string, mode = 0o644): Promise<void> {
  const db = await SqliteDb.open()
  db.exec(sql)
  writeFileSync(path, db.export(), { mode })
  db.close()
}

// Pyrogram 2.0's schema, version 3 (sessions, peers with username, version).
const PYROGRAM_V3 = `
CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, api_id INTEGER, test_mode INTEGER, auth_key BLOB, date INTEGER NOT NULL,
  user_id INTEGER, is_bot INTEGER);
CREATE TABLE peers (id INTEGER PRIMARY KEY, access_hash INTEGER, type INTEGER NOT NULL, username TEXT, phone_number TEXT,
  last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER)));
CREATE TABLE version (number INTEGER PRIMARY KEY);
CREATE INDEX idx_peers_id ON peers (id);
CREATE INDEX idx_peers_username ON peers (username);
CREATE INDEX idx_peers_phone_number ON peers (phone_number);
CREATE TRIGGER trg_peers_last_update_on AFTER UPDATE ON peers
BEGIN UPDATE peers SET last_update_on = CAST(STRFTIME('%s', 'now') AS INTEGER) WHERE id = NEW.id; END;
INSERT INTO version VALUES (3);
`

// Kurigram/Irenogram schema, version 7.
const PYROGRAM_V7 = `
CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, server_address TEXT, port INTEGER, api_id INTEGER, test_mode INTEGER,
  auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER);
CREATE TABLE peers (id INTEGER PRIMARY KEY, access_hash INTEGER, type INTEGER NOT NULL, phone_number TEXT,
  last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER)));
CREATE TABLE usernames (id INTEGER, username TEXT, FOREIGN KEY (id) REFERENCES peers(id));
CREATE TABLE update_state (id INTEGER PRIMARY KEY, pts INTEGER, qts INTEGER, date INTEGER, seq INTEGER);
CREATE TABLE version (number INTEGER PRIMARY KEY);
CREATE INDEX idx_peers_id ON peers (id);
CREATE INDEX idx_peers_phone_number ON peers (phone_number);
CREATE INDEX idx_usernames_id ON usernames (id);
CREATE INDEX idx_usernames_username ON usernames (username);
CREATE TRIGGER trg_peers_last_update_on AFTER UPDATE ON peers
BEGIN UPDATE peers SET last_update_on = CAST(STRFTIME('%s', 'now') AS INTEGER) WHERE id = NEW.id; END;
INSERT INTO version VALUES (7);
`

// PRAGMA table_info of each v7 table: name, type, notnull, default, pk.
const V7_COLUMNS: Record<string, [string, string, number, string | null, number][]> = {
  sessions: [
    ['dc_id', 'INTEGER', 0, null, 1],
    ['server_address', 'TEXT', 0, null, 0],
    ['port', 'INTEGER', 0, null, 0],
    ['api_id', 'INTEGER', 0, null, 0],
    ['test_mode', 'INTEGER', 0, null, 0],
    ['auth_key', 'BLOB', 0, null, 0],
    ['date', 'INTEGER', 1, null, 0],
    ['user_id', 'INTEGER', 0, null, 0],
    ['is_bot', 'INTEGER', 0, null, 0],
  ],
  peers: [
    ['id', 'INTEGER', 0, null, 1],
    ['access_hash', 'INTEGER', 0, null, 0],
    ['type', 'INTEGER', 1, null, 0],
    ['phone_number', 'TEXT', 0, null, 0],
    ['last_update_on', 'INTEGER', 1, "CAST(STRFTIME('%s', 'now') AS INTEGER)", 0],
  ],
  usernames: [
    ['id', 'INTEGER', 0, null, 0],
    ['username', 'TEXT', 0, null, 0],
  ],
  update_state: [
    ['id', 'INTEGER', 0, null, 1],
    ['pts', 'INTEGER', 0, null, 0],
    ['qts', 'INTEGER', 0, null, 0],
    ['date', 'INTEGER', 0, null, 0],
    ['seq', 'INTEGER', 0, null, 0],
  ],
  version: [['number', 'INTEGER', 0, null, 1]],
}

function tableInfo(db: SqliteDb, table: string): [string, string, number, string | null, number][] {
  return db
    .all(`PRAGMA table_info(${table})`)
    .map((r) => [
      String(r['name']),
      String(r['type']),
      Number(r['notnull']),
      r['dflt_value'] === null ? null : String(r['dflt_value']),
      Number(r['pk']),
    ])
}

function names(db: SqliteDb, type: 'table' | 'index' | 'trigger'): string[] {
  return db
    .all(`SELECT name FROM sqlite_master WHERE type = '${type}' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .map((r) => String(r['name']))
}

function fullRecord(): SessionRecord {
  return {
    dcId: 4,
    apiId: 611335,
    testMode: false,
    authKey: key(),
    date: 1_750_000_000,
    userId: 7_123_456_789n,
    isBot: false,
    server: { host: '127.0.0.1', port: 40443 },
    dcAuthKeys: { 2: key(), 5: key() },
    device: {
      deviceModel: 'Pixel 8',
      systemVersion: 'Android 14',
      appVersion: '11.2.3',
      systemLangCode: 'en-US',
      langCode: 'en',
      langPack: 'android',
    },
  }
}

function assertSameRecord(actual: SessionRecord | null, expected: SessionRecord): void {
  assert.ok(actual, 'a record was loaded')
  const norm = (r: SessionRecord) => ({
    ...r,
    authKey: hex(r.authKey),
    dcAuthKeys: r.dcAuthKeys
      ? Object.fromEntries(Object.entries(r.dcAuthKeys).map(([k, v]) => [k, hex(v)]))
      : undefined,
  })
  assert.deepEqual(norm(actual), norm(expected))
}

describe('FileSessionStorage', () => {
  it('round-trips a full record and the peer cache across instances', async () => {
    const dir = workdir()
    const rec = fullRecord()
    const a = new FileSessionStorage({ workdir: dir, name: 'acc' })
    await a.open()
    assert.equal(await a.load(), null, 'a new session has no record')
    await a.save(rec)
    await a.putPeers([
      {
        id: 777_000n,
        accessHash: -9_223_372_036_854_775_000n,
        type: 'user',
        username: '@Some_User',
        phone: '+1 555 0100',
      },
      { id: -1_001_234_567_890n, accessHash: 9_007_199_254_740_993n, type: 'channel', username: 'news', phone: null },
      { id: -4242n, accessHash: 0n, type: 'group', username: null, phone: null },
    ])
    await a.close()

    const b = new FileSessionStorage({ workdir: dir, name: 'acc' })
    await b.open()
    assertSameRecord(await b.load(), rec)
    const user = await b.getPeerByUsername('some_user')
    assert.deepEqual(user && { ...user, updatedAt: undefined }, {
      id: 777_000n,
      accessHash: -9_223_372_036_854_775_000n,
      type: 'user',
      username: 'some_user',
      phone: '15550100',
      updatedAt: undefined,
    })
    assert.equal((await b.getPeerByPhone('15550100'))?.id, 777_000n)
    assert.equal((await b.getPeerById(-1_001_234_567_890n))?.accessHash, 9_007_199_254_740_993n)
    assert.equal((await b.getPeerByUsername('@NEWS'))?.type, 'channel')
    assert.equal((await b.getPeerById(-4242n))?.type, 'group')
    assert.equal(await b.getPeerById(1n), null)

    // a username that moves: the old one no longer resolves
    await b.putPeers([{ id: 777_000n, accessHash: 1n, type: 'user', username: 'renamed', phone: null }])
    assert.equal(await b.getPeerByUsername('some_user'), null)
    assert.equal((await b.getPeerByUsername('renamed'))?.id, 777_000n)

    // clearing optional fields
    await b.save({ server: null, dcAuthKeys: null, device: null })
    const cleared = await b.load()
    assert.equal(cleared?.server, undefined)
    assert.equal(cleared?.dcAuthKeys, undefined)
    assert.equal(cleared?.device, undefined)
    await b.close()
  })

  it('writes files with mode 0600 and fixes the mode of an existing one', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'm' })
    await s.open()
    await s.save({ dcId: 2, authKey: key() })
    assert.equal(statSync(s.path).mode & 0o777, 0o600)
    await s.close()

    const loose = new FileSessionStorage({ workdir: dir, name: 'loose' })
    await writeFixture(
      loose.path,
      PYROGRAM_V7 + "INSERT INTO sessions VALUES (2, '149.154.167.51', 443, 1, 0, NULL, 0, NULL, NULL);",
      0o644,
    )
    assert.equal(statSync(loose.path).mode & 0o777, 0o644)
    await loose.open()
    assert.equal(statSync(loose.path).mode & 0o777, 0o600)
    await loose.close()
  })

  it('has exactly Pyrogram v7 tables and columns, version 7, and a Pyrogram-readable row', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'schema' })
    await s.open()
    const authKey = key()
    await s.save({ dcId: 2, apiId: 94575, authKey, userId: 123_456n, isBot: true })
    await s.putPeers([{ id: 5n, accessHash: 6n, type: 'bot', username: 'x_bot', phone: null }])
    await s.close()

    const db = await sqlite(s.path)
    assert.deepEqual(names(db, 'table'), ['peers', 'sessions', 'update_state', 'usernames', 'version'])
    for (const [table, columns] of Object.entries(V7_COLUMNS)) assert.deepEqual(tableInfo(db, table), columns, table)
    assert.deepEqual(names(db, 'index'), [
      'idx_peers_id',
      'idx_peers_phone_number',
      'idx_usernames_id',
      'idx_usernames_username',
    ])
    assert.deepEqual(names(db, 'trigger'), ['trg_peers_last_update_on'])
    assert.equal(db.get('SELECT number FROM version')?.['number'], 7n)
    // Pyrogram reads "the" row with SELECT <column> FROM sessions, and peers with its own joins.
    assert.equal(db.all('SELECT * FROM sessions').length, 1)
    const row = db.get(
      'SELECT dc_id, server_address, port, api_id, test_mode, hex(auth_key) AS k, user_id, is_bot, typeof(user_id) AS t FROM sessions',
    )
    assert.deepEqual(row, {
      dc_id: 2n,
      server_address: '149.154.167.51',
      port: 443n,
      api_id: 94575n,
      test_mode: 0n,
      k: hex(authKey).toUpperCase(),
      user_id: 123_456n,
      is_bot: 1n,
      t: 'integer',
    })
    const peer = db.get(
      "SELECT p.id, p.access_hash, p.type FROM peers p JOIN usernames u ON p.id = u.id WHERE u.username = 'x_bot'",
    )
    assert.deepEqual(peer, { id: 5n, access_hash: 6n, type: 'bot' })
    db.close()
  })

  it('keeps extra data in gramfarm_* tables only', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'extra' })
    await s.open()
    await s.save(fullRecord())
    await s.close()
    const db = await sqlite(s.path)
    const extra = names(db, 'table').filter((t) => !(t in V7_COLUMNS))
    assert.deepEqual(extra, ['gramfarm_dc_keys', 'gramfarm_device'])
    for (const [table, columns] of Object.entries(V7_COLUMNS)) assert.deepEqual(tableInfo(db, table), columns, table)
    // the server override is in Pyrogram's own columns, where Pyrogram v7 connects to it
    assert.deepEqual(db.get('SELECT server_address, port FROM sessions'), { server_address: '127.0.0.1', port: 40443n })
    db.close()
  })

  it('reads a Pyrogram v7 file built with raw SQL, and keeps its update_state', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'v7' })
    const authKey = key()
    const now = Math.floor(Date.now() / 1000)
    await writeFixture(
      s.path,
      PYROGRAM_V7 +
        `INSERT INTO sessions VALUES (4, '149.154.167.91', 443, 2040, 0, X'${hex(authKey)}', 1700000000, 8123456789, 0);
         INSERT INTO peers VALUES (8123456789, -5000000000000000001, 'user', '447700900123', ${now});
         INSERT INTO peers VALUES (-1001500000001, 42, 'supergroup', NULL, ${now});
         INSERT INTO usernames VALUES (-1001500000001, 'bigchat');
         INSERT INTO usernames VALUES (-1001500000001, 'bigchat_alt');
         INSERT INTO peers VALUES (6000000001, 9, 'user', NULL, ${now - 9 * 3600});
         INSERT INTO usernames VALUES (6000000001, 'stale_name');
         INSERT INTO update_state VALUES (1, 100, 5, 1700000000, 3);`,
    )
    await s.open()
    const rec = await s.load()
    assert.ok(rec)
    assert.deepEqual(
      { ...rec, authKey: hex(rec.authKey) },
      {
        dcId: 4,
        apiId: 2040,
        testMode: false,
        authKey: hex(authKey),
        date: 1_700_000_000,
        userId: 8_123_456_789n,
        isBot: false,
      },
      'the default DC address is no override',
    )
    const user = await s.getPeerByPhone('+44 7700 900123')
    assert.equal(user?.accessHash, -5_000_000_000_000_000_001n)
    assert.equal((await s.getPeerByUsername('bigchat_alt'))?.id, -1_001_500_000_001n)
    assert.equal(await s.getPeerByUsername('stale_name'), null, 'usernames older than 8 h are unknown, as in Pyrogram')
    assert.equal((await s.getPeerById(6_000_000_001n))?.username, 'stale_name')
    await s.save({ userId: 8_123_456_789n })
    await s.close()
    const db = await sqlite(s.path)
    assert.deepEqual(db.get('SELECT id, pts, qts, date, seq FROM update_state'), {
      id: 1n,
      pts: 100n,
      qts: 5n,
      date: 1_700_000_000n,
      seq: 3n,
    })
    assert.equal(db.all('SELECT * FROM usernames').length, 3)
    db.close()
  })

  it('reads a Pyrogram v3 file built with raw SQL and migrates it to v7 on write', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'v3' })
    const authKey = key()
    const now = Math.floor(Date.now() / 1000)
    await writeFixture(
      s.path,
      PYROGRAM_V3 +
        `INSERT INTO sessions VALUES (2, 21724, 0, X'${hex(authKey)}', 1650000000, 5000000001, 0);
         INSERT INTO peers VALUES (5000000002, 1234567890123, 'user', 'OldFriend', '15550001', ${now});
         INSERT INTO peers VALUES (-1001000000002, 77, 'channel', NULL, NULL, ${now});`,
    )
    await s.open()
    const rec = await s.load()
    assert.ok(rec)
    assert.deepEqual(
      { ...rec, authKey: hex(rec.authKey) },
      {
        dcId: 2,
        apiId: 21724,
        testMode: false,
        authKey: hex(authKey),
        date: 1_650_000_000,
        userId: 5_000_000_001n,
        isBot: false,
      },
    )
    assert.equal((await s.getPeerByUsername('oldfriend'))?.id, 5_000_000_002n)
    assert.equal((await s.getPeerById(-1_001_000_000_002n))?.accessHash, 77n)
    await s.close()
    let db = await sqlite(s.path)
    assert.equal(db.get('SELECT number FROM version')?.['number'], 3n, 'opening alone does not rewrite the file')
    db.close()

    await s.open()
    await s.save({ isBot: false })
    await s.close()
    db = await sqlite(s.path)
    assert.equal(db.get('SELECT number FROM version')?.['number'], 7n)
    assert.deepEqual(names(db, 'table'), ['peers', 'sessions', 'update_state', 'usernames', 'version'])
    const sessionCols = tableInfo(db, 'sessions')
      .map((c) => c[0])
      .sort()
    assert.deepEqual(sessionCols, V7_COLUMNS['sessions']?.map((c) => c[0]).sort())
    assert.deepEqual(db.get('SELECT server_address, port FROM sessions'), {
      server_address: '149.154.167.51',
      port: 443n,
    })
    assert.deepEqual(db.get("SELECT id FROM usernames WHERE username = 'oldfriend'"), { id: 5_000_000_002n })
    db.close()
    const again = new FileSessionStorage({ workdir: dir, name: 'v3' })
    await again.open()
    assert.equal(hex((await again.load())?.authKey ?? new Uint8Array()), hex(authKey))
    await again.close()
  })

  it('reads a v3 file whose api_id was appended by the v2 → v3 upgrade', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'v2up' })
    const authKey = key()
    await writeFixture(
      s.path,
      `CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, test_mode INTEGER, auth_key BLOB, date INTEGER NOT NULL,
         user_id INTEGER, is_bot INTEGER);
       ALTER TABLE sessions ADD api_id INTEGER;
       CREATE TABLE peers (id INTEGER PRIMARY KEY, access_hash INTEGER, type INTEGER NOT NULL, username TEXT,
         phone_number TEXT, last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER)));
       CREATE TABLE version (number INTEGER PRIMARY KEY);
       INSERT INTO version VALUES (3);
       INSERT INTO sessions VALUES (1, 1, X'${hex(authKey)}', 1600000000, 99, 1, 555);`,
    )
    await s.open()
    const rec = await s.load()
    assert.deepEqual(
      rec && { dcId: rec.dcId, apiId: rec.apiId, testMode: rec.testMode, userId: rec.userId, isBot: rec.isBot },
      {
        dcId: 1,
        apiId: 555,
        testMode: true,
        userId: 99n,
        isBot: true,
      },
    )
    await s.close()
  })

  it('refuses files that are not Pyrogram sessions, or are newer than v7', async () => {
    const dir = workdir()
    const junk = new FileSessionStorage({ workdir: dir, name: 'junk' })
    writeFileSync(junk.path, 'this is not sqlite')
    await assert.rejects(junk.open(), SessionFormatError)
    assert.ok(!existsSync(junk.lockPath), 'a failed open releases the lock')
    const future = new FileSessionStorage({ workdir: dir, name: 'future' })
    await writeFixture(
      future.path,
      PYROGRAM_V7.replace('INSERT INTO version VALUES (7)', 'INSERT INTO version VALUES (8)'),
    )
    await assert.rejects(future.open(), SessionFormatError)
  })

  it('allows a single owner: a second open fails with SessionLockedError', async () => {
    const dir = workdir()
    const a = new FileSessionStorage({ workdir: dir, name: 'locked' })
    await a.open()
    const lock = JSON.parse(readFileSync(a.lockPath, 'utf8')) as { pid: number; host: string }
    assert.deepEqual([lock.pid, lock.host], [process.pid, hostname()])
    assert.equal(statSync(a.lockPath).mode & 0o777, 0o600)
    const b = new FileSessionStorage({ workdir: dir, name: 'locked' })
    await assert.rejects(b.open(), (err: unknown) => {
      assert.ok(err instanceof SessionLockedError)
      assert.equal(err.owner?.pid, process.pid)
      return true
    })
    await a.close()
    assert.ok(!existsSync(a.lockPath), 'close() releases the lock')
    await b.open()
    await b.close()
  })

  it('takes over a stale lock whose pid is dead on this host, not one from another host', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'stale' })
    await s.open() // creates the directory
    await s.close()
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    assert.ok(dead)
    writeFileSync(s.lockPath, JSON.stringify({ pid: dead, host: hostname(), since: Date.now() - 60_000, token: 'old' }))
    await s.open()
    assert.equal((JSON.parse(readFileSync(s.lockPath, 'utf8')) as { pid: number }).pid, process.pid)
    await s.close()

    writeFileSync(s.lockPath, JSON.stringify({ pid: dead, host: 'another-host', since: Date.now(), token: 'x' }))
    await assert.rejects(s.open(), SessionLockedError)
    rmSync(s.lockPath)
  })

  it('locks out another process, and takes over once that process is killed', async () => {
    const dir = workdir()
    const script = join(dir, 'owner.mts')
    const moduleUrl = new URL('../src/auth/storage/file-storage.ts', import.meta.url).href
    writeFileSync(
      script,
      `import { FileSessionStorage } from ${JSON.stringify(moduleUrl)};
       const s = new FileSessionStorage({ workdir: ${JSON.stringify(dir)}, name: 'shared' });
       await s.open();
       process.stdout.write('locked\\n');
       setInterval(() => {}, 1000);`,
    )
    const repo = fileURLToPath(new URL('..', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('locked')) resolve()
        })
        child.once('exit', (code) => reject(new Error(`owner exited early (${code})`)))
      })
      const s = new FileSessionStorage({ workdir: dir, name: 'shared' })
      await assert.rejects(
        s.open(),
        (err: unknown) => err instanceof SessionLockedError && err.owner?.pid === child.pid,
      )
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL') // no close(), no exit hook: the lock file stays behind
      await exited
      assert.ok(existsSync(s.lockPath))
      await s.open()
      await s.close()
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('delete() removes the file and the lock', async () => {
    const dir = workdir()
    const s = new FileSessionStorage({ workdir: dir, name: 'gone' })
    await s.open()
    await s.save({ dcId: 2, authKey: key() })
    await s.putPeers([{ id: 1n, accessHash: 2n, type: 'user', username: null, phone: null }])
    assert.ok(existsSync(s.path))
    assert.ok(existsSync(s.lockPath))
    await s.delete()
    assert.ok(!existsSync(s.path))
    assert.ok(!existsSync(s.lockPath))
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.ok(!existsSync(s.path), 'no pending peer flush recreates it')
  })
})
