// `<workdir>/<name>.session`: Pyrogram's SQLite session file (schema v7; v1–v6 read and upgraded on write), so a
// session moves between gramfarm and Pyrogram both ways. What Pyrogram has no column for goes in our own tables
// (gramfarm_dc_keys, gramfarm_device), created only when there is something to keep; Pyrogram ignores them.
// The server override lives in Pyrogram's own sessions.server_address/port, which Pyrogram v7 connects to.
//
// SQLite library: sql.js 1.16.0 (SQLite 3.54 in WASM), measured against better-sqlite3 12.11.1 on this machine
// (Node 20.20, 2 cores), scratch project, 1000 × open+read+write+close of a v7 session file growing to 1000 peers:
//   fresh `npm ci`:       sql.js 1.2 s (1 package, no install script)
//                         better-sqlite3 92 s (38 packages, compiles SQLite with node-gyp: no prebuilt binaries here)
//   1000 cycles, durable: sql.js 2.20 s (fsync + rename)   better-sqlite3 1.96 s (synchronous=FULL)
//   1000 cycles, no sync: sql.js 1.71 s                    better-sqlite3 0.51 s (synchronous=OFF)
// Durable writes cost the same; sql.js saves 90 s on every CI run and fresh machine, needs no native toolchain or
// script approval, and suits a few-KB file that one owner rewrites whole (atomically: temp file, fsync, rename).
// This engine end to end (lock, read, save with file + directory fsync, close, unlock): ~6.4 ms per cycle.
// Peer-cache writes are batched (peerFlushDelayMs) so a burst of updates costs one file write.
import { phoneDigits } from '../../foundation/phone-number.ts'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { SessionFormatError, SessionStorageError } from './errors.ts'
import { defaultDcAddress, isDefaultDcAddress } from './pyrogram-dc-addresses.ts'
import {
  DC_KEYS_SCHEMA,
  DC_KEYS_TABLE,
  DEVICE_SCHEMA,
  DEVICE_TABLE,
  createV7,
  hasTable,
  upgradeToV7,
} from './pyrogram-schema.ts'
import { SessionLock } from './session-lock.ts'
import {
  AUTH_KEY_LENGTH,
  applyPatch,
  checkPeer,
  emptySessionState,
  isPeerType,
  isUsernameFresh,
  normalizeUsername,
  nowSeconds,
  stateToRecord,
  type CachedPeer,
  type SessionPatch,
  type SessionRecord,
  type SessionState,
  type SessionStorage,
} from './session-storage.ts'
import { SqliteDb, openSessionImage, type SqlRow, type SqlValue } from './sqlite-wasm.ts'

export const SESSION_FILE_EXTENSION = '.session'
const FILE_MODE = 0o600
const DEFAULT_PEER_FLUSH_DELAY_MS = 1000

export interface FileSessionStorageOptions {
  readonly workdir: string
  /** File name without extension, as Pyrogram's Client(name=…). */
  readonly name: string
  /** Peer-cache writes reach the file after this delay, batched (ms; default 1000). save() writes at once. */
  readonly peerFlushDelayMs?: number
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

function asInt(value: SqlValue | undefined): bigint | null {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value)
  return null
}

function asNumber(value: SqlValue | undefined): number | null {
  const n = asInt(value)
  return n === null ? null : Number(n)
}

function asBool(value: SqlValue | undefined): boolean | null {
  const n = asInt(value)
  return n === null ? null : n !== 0n
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch (err) {
    if (errno(err) !== 'EINVAL' && errno(err) !== 'EISDIR') throw err // some file systems cannot fsync a dir
  } finally {
    await handle.close()
  }
}

/** Whole-file replace: a crash leaves the old file or the new one, never half of each. */
async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', FILE_MODE)
  try {
    await handle.writeFile(data)
    await handle.chmod(FILE_MODE) // the umask cannot widen it, but a pre-set ACL default might
    await handle.sync()
    await handle.close()
    await rename(temp, path)
  } catch (err) {
    await handle.close().catch(() => undefined)
    await rm(temp, { force: true })
    throw err
  }
  await fsyncDir(dirname(path))
}

function pyrogramStateOf(db: SqliteDb, path: string): SessionState {
  const state = emptySessionState()
  const row = db.get('SELECT * FROM sessions LIMIT 1')
  if (!row) return state
  state.dcId = asNumber(row['dc_id']) ?? state.dcId
  state.apiId = asNumber(row['api_id'])
  state.testMode = asBool(row['test_mode']) ?? false
  state.date = asNumber(row['date']) ?? 0
  state.userId = asInt(row['user_id'])
  state.isBot = asBool(row['is_bot'])
  const key = row['auth_key']
  if (key instanceof Uint8Array && key.length === AUTH_KEY_LENGTH) state.authKey = Uint8Array.from(key)
  else if (key !== null && key !== undefined) throw new SessionFormatError(path, 'sessions.auth_key is not 256 bytes')
  const host = row['server_address']
  const port = asNumber(row['port'])
  if (typeof host === 'string' && host !== '' && port !== null) {
    const server = { host, port }
    if (!isDefaultDcAddress(state.dcId, state.testMode, server)) state.server = server
  }
  if (hasTable(db, DC_KEYS_TABLE)) {
    for (const r of db.all(`SELECT dc_id, auth_key FROM ${DC_KEYS_TABLE}`)) {
      const dc = asNumber(r['dc_id'])
      const k = r['auth_key']
      if (dc !== null && k instanceof Uint8Array && k.length === AUTH_KEY_LENGTH)
        state.dcAuthKeys.set(dc, Uint8Array.from(k))
    }
  }
  if (hasTable(db, DEVICE_TABLE)) {
    const d = db.get(`SELECT * FROM ${DEVICE_TABLE} WHERE id = 1`)
    if (d) {
      state.device = {
        deviceModel: String(d['device_model']),
        systemVersion: String(d['system_version']),
        appVersion: String(d['app_version']),
        systemLangCode: String(d['system_lang_code']),
        langCode: String(d['lang_code']),
        langPack: String(d['lang_pack']),
      }
    }
  }
  return state
}

/**
 * The session in a Pyrogram `.session` file's bytes (any version we read), without touching the file: what an
 * import reads from someone else's file (no lock file beside it, no mode change). null when it holds no auth key.
 */
export async function readPyrogramSessionImage(image: Uint8Array, path: string): Promise<SessionRecord | null> {
  const db = await openSessionImage(image, path)
  try {
    upgradeToV7(db, path)
    return stateToRecord(pyrogramStateOf(db, path))
  } finally {
    db.close()
  }
}

export class FileSessionStorage implements SessionStorage {
  readonly path: string
  readonly lockPath: string
  private readonly workdir: string
  private readonly peerFlushDelayMs: number
  private db: SqliteDb | null = null
  private lock: SessionLock | null = null
  private dirty = false
  private flushTimer: NodeJS.Timeout | null = null
  private writes: Promise<void> = Promise.resolve()

  constructor(options: FileSessionStorageOptions) {
    const { workdir, name } = options
    if (!name || name !== basename(name) || name.includes('\0') || name === '.' || name === '..') {
      throw new SessionStorageError('INVALID_DATA', 'session name must be a plain file name')
    }
    this.workdir = workdir
    this.path = join(workdir, name + SESSION_FILE_EXTENSION)
    this.lockPath = `${this.path}.lock`
    this.peerFlushDelayMs = options.peerFlushDelayMs ?? DEFAULT_PEER_FLUSH_DELAY_MS
  }

  async open(): Promise<void> {
    if (this.db) return
    await mkdir(this.workdir, { recursive: true, mode: 0o700 })
    const lock = await SessionLock.acquire(this.lockPath)
    try {
      const image = await this.readImage()
      let db: SqliteDb
      if (image) {
        db = await openSessionImage(image, this.path)
        try {
          upgradeToV7(db, this.path) // in memory: the file keeps its version until we write
        } catch (err) {
          db.close()
          throw err
        }
      } else {
        db = await SqliteDb.open()
        createV7(db) // written on the first save, so a login that never completes leaves no file
      }
      this.db = db
      this.lock = lock
      this.dirty = false
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  async load(): Promise<SessionRecord | null> {
    return stateToRecord(this.readState(this.requireDb()))
  }

  async save(patch: SessionPatch): Promise<void> {
    const db = this.requireDb()
    const next = applyPatch(this.readState(db), patch)
    this.writeState(db, next)
    this.dirty = true
    await this.flush()
  }

  async delete(): Promise<void> {
    if (!this.db) {
      await this.open() // never delete a file another process owns
    }
    this.cancelFlush()
    await this.writes
    this.db?.close()
    this.db = null
    this.dirty = false
    try {
      await rm(this.path, { force: true })
    } finally {
      await this.lock?.release()
      this.lock = null
    }
  }

  async close(): Promise<void> {
    if (!this.db) return
    try {
      await this.flush()
    } finally {
      this.cancelFlush()
      this.db?.close()
      this.db = null
      await this.lock?.release()
      this.lock = null
    }
  }

  async putPeers(peers: readonly CachedPeer[]): Promise<void> {
    const db = this.requireDb()
    const checked = peers.map(checkPeer)
    if (checked.length === 0) return
    db.transaction(() => {
      for (const peer of checked) {
        // REPLACE re-inserts the row, so last_update_on takes its default (now), as in Pyrogram.
        db.run('REPLACE INTO peers (id, access_hash, type, phone_number) VALUES (?, ?, ?, ?)', [
          peer.id,
          peer.accessHash,
          peer.type,
          peer.phone,
        ])
        db.run('DELETE FROM usernames WHERE id = ?', [peer.id])
        if (peer.username) db.run('INSERT INTO usernames (id, username) VALUES (?, ?)', [peer.id, peer.username])
      }
    })
    this.dirty = true
    this.scheduleFlush()
  }

  async getPeerById(id: bigint): Promise<CachedPeer | null> {
    const db = this.requireDb()
    return this.toPeer(
      db,
      db.get('SELECT id, access_hash, type, phone_number, last_update_on FROM peers WHERE id = ?', [id]),
    )
  }

  async getPeerByUsername(username: string): Promise<CachedPeer | null> {
    const db = this.requireDb()
    const row = db.get(
      'SELECT p.id, p.access_hash, p.type, p.phone_number, p.last_update_on FROM peers p ' +
        'JOIN usernames u ON p.id = u.id WHERE u.username = ? ORDER BY p.last_update_on DESC',
      [normalizeUsername(username)],
    )
    const peer = this.toPeer(db, row)
    return peer && isUsernameFresh(peer.updatedAt ?? 0) ? peer : null
  }

  async getPeerByPhone(phone: string): Promise<CachedPeer | null> {
    const db = this.requireDb()
    const row = db.get('SELECT id, access_hash, type, phone_number, last_update_on FROM peers WHERE phone_number = ?', [
      phoneDigits(phone),
    ])
    return this.toPeer(db, row)
  }

  private toPeer(db: SqliteDb, row: SqlRow | undefined): CachedPeer | null {
    if (!row) return null
    const id = asInt(row['id'])
    const type = row['type']
    if (id === null || !isPeerType(type)) return null // a type some other fork invented: not ours to guess
    const name = db.get('SELECT username FROM usernames WHERE id = ? LIMIT 1', [id])?.['username']
    const phone = row['phone_number']
    return {
      id,
      accessHash: asInt(row['access_hash']) ?? 0n,
      type,
      username: typeof name === 'string' ? name : null,
      phone: typeof phone === 'string' ? phone : null,
      updatedAt: asNumber(row['last_update_on']) ?? 0,
    }
  }

  private readState(db: SqliteDb): SessionState {
    return pyrogramStateOf(db, this.path)
  }

  private writeState(db: SqliteDb, state: SessionState): void {
    // Pyrogram v7 connects to server_address/port: with no override, write the DC's default as Pyrogram does.
    const server = state.server ?? defaultDcAddress(state.dcId, state.testMode)
    db.transaction(() => {
      db.exec('DELETE FROM sessions') // Pyrogram reads and updates "the" row: keep exactly one
      db.run(
        'INSERT INTO sessions (dc_id, server_address, port, api_id, test_mode, auth_key, date, user_id, is_bot) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          state.dcId,
          server?.host ?? null,
          server?.port ?? null,
          state.apiId,
          state.testMode ? 1 : 0,
          state.authKey,
          state.date,
          state.userId,
          state.isBot === null ? null : state.isBot ? 1 : 0,
        ],
      )
      if (state.dcAuthKeys.size > 0) {
        db.exec(DC_KEYS_SCHEMA)
        db.exec(`DELETE FROM ${DC_KEYS_TABLE}`)
        for (const [dc, key] of state.dcAuthKeys)
          db.run(`INSERT INTO ${DC_KEYS_TABLE} (dc_id, auth_key) VALUES (?, ?)`, [dc, key])
      } else {
        db.exec(`DROP TABLE IF EXISTS ${DC_KEYS_TABLE}`)
      }
      if (state.device) {
        const d = state.device
        db.exec(DEVICE_SCHEMA)
        db.run(
          `REPLACE INTO ${DEVICE_TABLE} (id, device_model, system_version, app_version, system_lang_code, lang_code, lang_pack) ` +
            'VALUES (1, ?, ?, ?, ?, ?, ?)',
          [d.deviceModel, d.systemVersion, d.appVersion, d.systemLangCode, d.langCode, d.langPack],
        )
      } else {
        db.exec(`DROP TABLE IF EXISTS ${DEVICE_TABLE}`)
      }
    })
  }

  /** Reads the file if it exists, tightening its mode to 0600 first (session files are credentials). */
  private async readImage(): Promise<Uint8Array | null> {
    try {
      const info = await stat(this.path)
      if ((info.mode & 0o777) !== FILE_MODE) await chmod(this.path, FILE_MODE)
      return new Uint8Array(await readFile(this.path))
    } catch (err) {
      if (errno(err) === 'ENOENT') return null
      throw new SessionStorageError('IO', `cannot read session file ${this.path}`, { cause: err })
    }
  }

  /** Writes the current image if it changed; writes are serialised so an older image never lands last. */
  private flush(): Promise<void> {
    this.cancelFlush()
    const write = async (): Promise<void> => {
      if (!this.db || !this.dirty) return
      const image = this.db.export()
      this.dirty = false
      try {
        await writeFileAtomic(this.path, image)
      } catch (err) {
        this.dirty = true // retried by the next save, flush or close
        throw new SessionStorageError('IO', `cannot write session file ${this.path}`, { cause: err })
      }
    }
    const result = this.writes.then(write, write)
    this.writes = result.catch(() => undefined)
    return result
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      this.flush().catch(() => undefined) // the data stays dirty; close() or the next save() writes it
    }, this.peerFlushDelayMs)
    this.flushTimer.unref()
  }

  private cancelFlush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
  }

  private requireDb(): SqliteDb {
    if (!this.db) throw new SessionStorageError('NOT_OPEN', `session storage ${this.path} is not open`)
    return this.db
  }
}
