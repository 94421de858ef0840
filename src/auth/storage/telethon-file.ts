// Telethon's SQLite session file (LonamiWebs/Telethon v1, telethon/sessions/sqlite.py), schema version 7:
//   version(version integer primary key)                  = 7
//   sessions(dc_id integer primary key, server_address text, port integer, auth_key blob, takeout_id integer)
//   entities(id integer primary key, hash integer not null, username text, phone integer, name text, date integer)
//   sent_files(md5_digest blob, file_size integer, type integer, id integer, hash integer,
//              primary key(md5_digest, file_size, type))
//   update_state(id integer primary key, pts integer, qts integer, date integer, seq integer)
// Newer Telethon (version 8) adds sessions.tmp_auth_key; older ones lack takeout_id: we read columns by name.
// A Telethon file holds no api id, user id or identity: those come from its `.json` sidecar.
import { SessionFormatError } from './errors.ts'
import { defaultDcAddress, isDefaultDcAddress, isTestDcHost } from './pyrogram-dc-addresses.ts'
import { columnsOf, hasTable } from './pyrogram-schema.ts'
import { AUTH_KEY_LENGTH, checkAuthKey, checkDcId, type SessionRecord } from './session-storage.ts'
import { SqliteDb, openSessionImage, type SqlValue } from './sqlite-wasm.ts'

export const TELETHON_SCHEMA_VERSION = 7

const V7_TABLES = `
create table version (version integer primary key);
create table sessions (
    dc_id integer primary key,
    server_address text,
    port integer,
    auth_key blob,
    takeout_id integer
);
create table entities (
    id integer primary key,
    hash integer not null,
    username text,
    phone integer,
    name text,
    date integer
);
create table sent_files (
    md5_digest blob,
    file_size integer,
    type integer,
    id integer,
    hash integer,
    primary key(md5_digest, file_size, type)
);
create table update_state (
    id integer primary key,
    pts integer,
    qts integer,
    date integer,
    seq integer
);
`

/** What tells a Telethon file from a Pyrogram one: a `version` table whose column is `version` (Pyrogram's: `number`). */
export function isTelethonDb(db: SqliteDb): boolean {
  return (
    hasTable(db, 'version') &&
    hasTable(db, 'sessions') &&
    hasTable(db, 'entities') &&
    columnsOf(db, 'version').has('version')
  )
}

function asNumber(value: SqlValue | undefined): number | null {
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'number' && Number.isInteger(value)) return value
  return null
}

/** The session of an opened Telethon database (throws SessionFormatError naming `path` when it is not one). */
export function telethonRecordOf(db: SqliteDb, path: string): SessionRecord {
  if (!isTelethonDb(db)) throw new SessionFormatError(path, 'not a Telethon session (tables version/sessions/entities)')
  const version = asNumber(db.get('SELECT version FROM version')?.['version'])
  if (version === null || version < 1) throw new SessionFormatError(path, 'the version table holds no schema version')
  const columns = columnsOf(db, 'sessions')
  for (const c of ['dc_id', 'auth_key']) {
    if (!columns.has(c)) throw new SessionFormatError(path, `sessions has no ${c} column`)
  }
  const rows = db.all('SELECT * FROM sessions')
  const row = rows.find((r) => r['auth_key'] instanceof Uint8Array && r['auth_key'].length > 0)
  if (!row) throw new SessionFormatError(path, 'holds no auth key (never logged in)')
  const key = row['auth_key'] as Uint8Array
  if (key.length !== AUTH_KEY_LENGTH) throw new SessionFormatError(path, 'sessions.auth_key is not 256 bytes')
  const dcId = asNumber(row['dc_id'])
  if (dcId === null || dcId < 1 || dcId > 0xffff) throw new SessionFormatError(path, 'sessions.dc_id is not a DC id')
  const host = row['server_address']
  const port = asNumber(row['port'])
  const server = typeof host === 'string' && host !== '' && port !== null && port > 0 ? { host, port } : null
  const testMode = server !== null && isTestDcHost(server.host)
  return {
    dcId,
    apiId: null,
    testMode,
    authKey: Uint8Array.from(key),
    date: 0,
    userId: null,
    isBot: null,
    ...(server && !isDefaultDcAddress(dcId, testMode, server) ? { server } : {}),
  }
}

/** Reads a Telethon `.session` image (the file's bytes). */
export async function readTelethonSessionImage(image: Uint8Array, path: string): Promise<SessionRecord> {
  const db = await openSessionImage(image, path)
  try {
    return telethonRecordOf(db, path)
  } finally {
    db.close()
  }
}

/**
 * A Telethon v7 `.session` image of a record, as Telethon itself creates it: the tables above, version 7, one
 * sessions row with the DC's address (Telethon dials server_address:port). Write it 0600.
 */
export async function telethonSessionImage(record: SessionRecord): Promise<Uint8Array> {
  const dcId = checkDcId(record.dcId)
  const authKey = checkAuthKey(record.authKey)
  const server = record.server ?? defaultDcAddress(dcId, record.testMode)
  if (!server) throw new SessionFormatError('telethon', `no server address is known for DC ${dcId}`)
  const db = await SqliteDb.open()
  try {
    db.transaction(() => {
      db.exec(V7_TABLES)
      db.run('insert into version values (?)', [TELETHON_SCHEMA_VERSION])
      db.run('insert or replace into sessions values (?,?,?,?,?)', [dcId, server.host, server.port, authKey, null])
    })
    return db.export()
  } finally {
    db.close()
  }
}
