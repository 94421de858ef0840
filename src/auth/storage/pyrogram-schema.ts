// Pyrogram's `.session` SQLite schema, version 7 (as Kurigram and Irenogram write it), the upgrade path from older
// versions, and our own extra tables (which Pyrogram never reads, so it ignores them).
//
// Version history as Pyrogram's FileStorage.update() applies it:
//   1 → 2  peers emptied (the id format changed)          2 → 3  sessions.api_id added
//   3 → 4  usernames(id, username) table                  4 → 5  update_state table
//   5 → 6  index idx_usernames_id                          6 → 7  sessions.server_address + port
// Pyrogram 2.0 (v3) kept the username in peers.username; v7 keeps usernames in their own table.
import { SessionFormatError } from './errors.ts'
import { defaultDcAddress } from './pyrogram-dc-addresses.ts'
import type { SqliteDb } from './sqlite-wasm.ts'

export const PYROGRAM_SCHEMA_VERSION = 7

const V7_TABLES = `
CREATE TABLE sessions
(
    dc_id          INTEGER PRIMARY KEY,
    server_address TEXT,
    port           INTEGER,
    api_id         INTEGER,
    test_mode      INTEGER,
    auth_key       BLOB,
    date           INTEGER NOT NULL,
    user_id        INTEGER,
    is_bot         INTEGER
);
CREATE TABLE peers
(
    id             INTEGER PRIMARY KEY,
    access_hash    INTEGER,
    type           INTEGER NOT NULL,
    phone_number   TEXT,
    last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER))
);
CREATE TABLE usernames
(
    id       INTEGER,
    username TEXT,
    FOREIGN KEY (id) REFERENCES peers(id)
);
CREATE TABLE update_state
(
    id   INTEGER PRIMARY KEY,
    pts  INTEGER,
    qts  INTEGER,
    date INTEGER,
    seq  INTEGER
);
CREATE TABLE version
(
    number INTEGER PRIMARY KEY
);
CREATE INDEX idx_peers_id ON peers (id);
CREATE INDEX idx_peers_phone_number ON peers (phone_number);
CREATE INDEX idx_usernames_id ON usernames (id);
CREATE INDEX idx_usernames_username ON usernames (username);
CREATE TRIGGER trg_peers_last_update_on
    AFTER UPDATE
    ON peers
BEGIN
    UPDATE peers
    SET last_update_on = CAST(STRFTIME('%s', 'now') AS INTEGER)
    WHERE id = NEW.id;
END;
`

const USERNAMES_TABLE = `
CREATE TABLE usernames
(
    id       INTEGER,
    username TEXT,
    FOREIGN KEY (id) REFERENCES peers(id)
);
CREATE INDEX idx_usernames_username ON usernames (username);
`

const UPDATE_STATE_TABLE = `
CREATE TABLE IF NOT EXISTS update_state
(
    id   INTEGER PRIMARY KEY,
    pts  INTEGER,
    qts  INTEGER,
    date INTEGER,
    seq  INTEGER
);
`

/** Auth keys for DCs other than sessions.dc_id (Pyrogram keeps one DC per file). */
export const DC_KEYS_TABLE = 'gramfarm_dc_keys'
export const DC_KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${DC_KEYS_TABLE}
(
    dc_id    INTEGER PRIMARY KEY,
    auth_key BLOB NOT NULL
);
`

/** The account's device identity, one row. */
export const DEVICE_TABLE = 'gramfarm_device'
export const DEVICE_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${DEVICE_TABLE}
(
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    device_model     TEXT NOT NULL,
    system_version   TEXT NOT NULL,
    app_version      TEXT NOT NULL,
    system_lang_code TEXT NOT NULL,
    lang_code        TEXT NOT NULL,
    lang_pack        TEXT NOT NULL
);
`

export function hasTable(db: SqliteDb, table: string): boolean {
  return db.get("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?", [table]) !== undefined
}

export function columnsOf(db: SqliteDb, table: string): Set<string> {
  // PRAGMA takes no parameters; table names here are our own constants.
  return new Set(db.all(`PRAGMA table_info(${table})`).map((row) => String(row['name'])))
}

/** A new database laid out exactly as Pyrogram v7 creates it, with its default sessions row. */
export function createV7(db: SqliteDb): void {
  db.transaction(() => {
    db.exec(V7_TABLES)
    db.run('INSERT INTO version (number) VALUES (?)', [PYROGRAM_SCHEMA_VERSION])
    const dc = defaultDcAddress(2, false)
    db.run(
      'INSERT INTO sessions (dc_id, server_address, port, api_id, test_mode, auth_key, date, user_id, is_bot) ' +
        'VALUES (2, ?, ?, NULL, NULL, NULL, 0, NULL, NULL)',
      [dc?.host ?? null, dc?.port ?? null],
    )
  })
}

function readVersion(db: SqliteDb, path: string): number {
  if (!hasTable(db, 'version') || !hasTable(db, 'sessions') || !hasTable(db, 'peers')) {
    throw new SessionFormatError(path, 'not a Pyrogram session (tables sessions/peers/version missing)')
  }
  const row = db.get('SELECT number FROM version')
  const version = row ? Number(row['number']) : NaN
  if (!Number.isInteger(version) || version < 1)
    throw new SessionFormatError(path, 'the version table holds no schema version')
  return version
}

/**
 * Brings an opened Pyrogram session of version 1..7 to version 7 in memory (the file changes on the next write).
 * Follows Pyrogram's own steps, so the result is what Pyrogram itself would have made of the file, plus: usernames
 * from v3's peers.username are carried into the usernames table, and Pyrofork's different `usernames` layout
 * (id = username, peer_id) is converted. Returns whether anything changed.
 */
export function upgradeToV7(db: SqliteDb, path: string): boolean {
  const version = readVersion(db, path)
  if (version > PYROGRAM_SCHEMA_VERSION) {
    throw new SessionFormatError(
      path,
      `schema version ${version} is newer than ${PYROGRAM_SCHEMA_VERSION}, refusing to rewrite it`,
    )
  }
  if (version === PYROGRAM_SCHEMA_VERSION) {
    const sessions = columnsOf(db, 'sessions')
    if (!hasTable(db, 'usernames') || !sessions.has('server_address') || !sessions.has('auth_key')) {
      throw new SessionFormatError(path, 'says version 7 but lacks version 7 tables')
    }
    return false
  }
  db.transaction(() => {
    if (version === 1) db.exec('DELETE FROM peers')
    const sessions = columnsOf(db, 'sessions')
    if (!sessions.has('api_id')) db.exec('ALTER TABLE sessions ADD api_id INTEGER')

    const peers = columnsOf(db, 'peers')
    if (!hasTable(db, 'usernames')) {
      db.exec(USERNAMES_TABLE)
      if (peers.has('username')) {
        db.exec('INSERT INTO usernames (id, username) SELECT id, lower(username) FROM peers WHERE username IS NOT NULL')
      }
    } else if (columnsOf(db, 'usernames').has('peer_id')) {
      db.exec('ALTER TABLE usernames RENAME TO usernames_pyrofork')
      db.exec(USERNAMES_TABLE.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'))
      db.exec('INSERT INTO usernames (id, username) SELECT peer_id, lower(id) FROM usernames_pyrofork')
      db.exec('DROP TABLE usernames_pyrofork')
    }
    db.exec(UPDATE_STATE_TABLE)
    db.exec('CREATE INDEX IF NOT EXISTS idx_usernames_id ON usernames (id)')

    if (!columnsOf(db, 'sessions').has('server_address')) {
      db.exec('ALTER TABLE sessions ADD server_address TEXT')
      db.exec('ALTER TABLE sessions ADD port INTEGER')
      const row = db.get('SELECT dc_id, test_mode FROM sessions LIMIT 1')
      if (row) {
        const address = defaultDcAddress(Number(row['dc_id']), Boolean(Number(row['test_mode'] ?? 0)))
        if (address) db.run('UPDATE sessions SET server_address = ?, port = ?', [address.host, address.port])
      }
    }
    db.run('UPDATE version SET number = ?', [PYROGRAM_SCHEMA_VERSION])
  })
  return true
}
