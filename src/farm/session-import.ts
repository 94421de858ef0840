// `gramfarm sessions import`: accounts from the files farms trade in, into the farm's Redis session storage.
//   - Pyrogram `.session` (SQLite, schema v1–v7), Telethon `.session` (SQLite, schema 7/8) — each with an optional
//     `.json` sidecar (identity, api id/hash, proxy, phone, user id, 2FA password);
//   - text files of session strings, one a line (Pyrogram, Telethon, GramJS; `#` comments), or our own JSON strings
//     file (`sessions export --strings`);
//   - Telegram Desktop `tdata` folders (a local passcode given by the caller);
//   - an encrypted bundle (`secrets`' format), recognised by its magic and handed to its reader.
// Per account: the record (key, DC, user id, api id, identity) in one atomic write, its secrets (api_hash, proxy,
// 2FA password) in the per-session secret store, its user id in the except_ids registry. An account already in the
// farm, or twice in the input (same auth key or same user), is stored once and reported as a duplicate. A file we
// cannot read is one row with a clear error; the rest goes on.
import { createHash } from 'node:crypto'
import { open, readFile, readdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { RedisClient } from '../queue/redis-connection.ts'
import {
  RedisSessionStorage,
  importSessionString,
  detectSessionStringFormat,
  type SessionRecord,
  type SessionStringFormat,
} from '../auth/storage/index.ts'
import { readPyrogramSessionImage } from '../auth/storage/file-storage.ts'
import { isTelethonDb, readTelethonSessionImage } from '../auth/storage/telethon-file.ts'
import { SqliteDb } from '../auth/storage/sqlite-wasm.ts'
import { readTdata } from '../auth/storage/tdata/index.ts'
import type { Sealer } from '../foundation/sealed-value.ts'
import { identityOf, presetFor, type IdentityChoice } from '../auth/device-identity.ts'
import { ExceptIdsRegistry } from '../queue/except-ids-registry.ts'
import { sessionKeyPrefix } from '../queue/redis-keys.ts'
import { listRedisSessions } from './session-export.ts'
import { EMPTY_SIDECAR, parseSidecar, readSidecarOf, type Sidecar } from './session-sidecar.ts'

export type ImportFormat = 'pyrogram' | 'telethon' | `string:${SessionStringFormat}` | 'tdata' | 'bundle'

/** One account found in the input, before it is stored. */
export interface ImportCandidate {
  /** The file, `file:line` for a strings file, `folder#index` for a tdata account. */
  readonly source: string
  readonly format: ImportFormat
  readonly record: SessionRecord
  readonly sidecar: Sidecar
  /** The source named no identity and import gave it a preset. */
  readonly presetAssigned?: boolean
}

export type ImportStatus = 'imported' | 'duplicate' | 'error'

/** One row of the report: an account (or a file that yielded none). */
export interface ImportRow {
  readonly source: string
  readonly format: ImportFormat | null
  readonly status: ImportStatus
  /** The session's name in Redis (imported), or the one it duplicates. */
  readonly session?: string
  readonly userId?: string | null
  readonly dcId?: number
  /** What it duplicates: another source of this run, or `farm:<session>`. */
  readonly duplicateOf?: string
  readonly error?: string
  readonly warnings: readonly string[]
}

/** The per-session secret store (`health`'s SessionSecretStore has this face). */
export interface SessionSecretsWriter {
  put(name: string, secrets: { proxy?: string; apiHash?: string; password?: string }): Promise<void>
  delete(name: string): Promise<void>
}

/** An encrypted bundle reader (secrets' session-bundle.ts): recognises its magic, imports its accounts. */
export interface BundleReader {
  isBundle(head: Buffer): boolean
  importBundle(path: string): Promise<readonly ImportRow[]>
}

export interface ReadOptions {
  /** tdata local passcode. */
  readonly passcode?: string
  /** Test-DC accounts: sources that do not say (Pyrogram strings, tdata without a sidecar) are test mode. */
  readonly testMode?: boolean
}

export interface ImportOptions extends ReadOptions {
  readonly sealer?: Sealer
  /** The records' lifetime in Redis (the farm's sessionTtlSeconds); absent: kept. */
  readonly ttlSeconds?: number
  readonly secrets?: SessionSecretsWriter
  readonly bundle?: BundleReader
  /** Learns the user id of a key whose source does not say it (a getMe with the account's identity). */
  readonly resolveUser?: (
    candidate: ImportCandidate,
  ) => Promise<{ userId: bigint; isBot: boolean; phone: string | null }>
  /**
   * How an account whose source names no identity gets one (the farm's `identity` setting): a preset, saved with
   * the session and presented from the first connection on (the getMe included). Absent or `library`: none (warned).
   */
  readonly identityChoice?: IdentityChoice
  /** The farm's api id (what an account without its own connects with), for the preset's lang_pack rule. */
  readonly defaultApiId?: number
  /** Report only: read, check for duplicates, store nothing. */
  readonly dryRun?: boolean
}

/** Telegram Desktop's api id: what the farm uses when not told (apiCredentials' test-DC default too). */
const FARM_DEFAULT_API_ID = 2040
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1')
const TDATA_KEY_FILES = ['key_datas', 'key_data0', 'key_data1']

class ImportSourceError extends Error {}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function head(path: string, n = 16): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buf = Buffer.alloc(n)
    const { bytesRead } = await handle.read(buf, 0, n, 0)
    return buf.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

async function isTdataDir(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[])
  return TDATA_KEY_FILES.some((f) => names.includes(f))
}

/** The sidecar of a tdata folder: `<folder>.json`, or `<parent>.json` when the folder is `<parent>/tdata`. */
async function tdataSidecar(dir: string): Promise<Sidecar> {
  const candidates = [`${dir}.json`]
  if (basename(dir) === 'tdata')
    candidates.push(`${dirname(dir)}.json`, join(dirname(dir), `${basename(dirname(dir))}.json`))
  for (const path of candidates) {
    const text = await readFile(path, 'utf8').catch(() => null)
    if (text === null) continue
    try {
      return parseSidecar(text)
    } catch (err) {
      throw new ImportSourceError(`${path}: ${message(err)}`)
    }
  }
  return EMPTY_SIDECAR
}

function withSidecar(record: SessionRecord, sidecar: Sidecar, opts: ReadOptions): SessionRecord {
  return {
    ...record,
    apiId: sidecar.apiId ?? record.apiId,
    userId: record.userId ?? sidecar.userId,
    isBot: record.isBot ?? sidecar.isBot,
    testMode: sidecar.testMode ?? (record.server ? record.testMode : record.testMode || opts.testMode === true),
    ...(sidecar.device ? { device: sidecar.device } : record.device ? { device: record.device } : {}),
  }
}

async function readSqliteSession(path: string, opts: ReadOptions): Promise<ImportCandidate> {
  const image = new Uint8Array(await readFile(path))
  const db = await SqliteDb.open(image).catch((err: unknown) => {
    throw new ImportSourceError(`not an SQLite database (${message(err)})`)
  })
  const telethon = isTelethonDb(db)
  db.close()
  const record = telethon ? await readTelethonSessionImage(image, path) : await readPyrogramSessionImage(image, path)
  if (!record) throw new ImportSourceError('holds no auth key (never logged in)')
  const side = await readSidecarOf(path)
  const sidecar = side?.sidecar ?? EMPTY_SIDECAR
  return {
    source: path,
    format: telethon ? 'telethon' : 'pyrogram',
    record: withSidecar(record, sidecar, opts),
    sidecar,
  }
}

/** Our own strings file (session-export's SessionStringsFile), or null when the text is not one. */
function stringsJson(text: string): { session: string; userId: string | null }[] | null {
  if (!text.trimStart().startsWith('{')) return null
  try {
    const doc = JSON.parse(text) as { sessions?: unknown }
    if (!Array.isArray(doc.sessions)) return null
    return doc.sessions
      .filter(
        (s): s is { session: string; userId?: unknown } => typeof (s as { session?: unknown })?.session === 'string',
      )
      .map((s) => ({ session: s.session, userId: typeof s.userId === 'string' ? s.userId : null }))
  } catch {
    return null
  }
}

async function readStringsFile(path: string, opts: ReadOptions): Promise<(ImportCandidate | ImportRow)[]> {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path))
  } catch {
    throw new ImportSourceError('not a session file we know (binary, neither SQLite nor text)')
  }
  if (/[\x00-\x08\x0e-\x1f]/.test(text))
    throw new ImportSourceError('not a session file we know (binary, neither SQLite nor text)')
  const entries =
    stringsJson(text) ?? text.split(/\r?\n/).map((line) => ({ session: line.trim(), userId: null as string | null }))
  const out: (ImportCandidate | ImportRow)[] = []
  entries.forEach((entry, i) => {
    const source = `${path}:${i + 1}`
    if (entry.session === '' || entry.session.startsWith('#')) return
    try {
      const kind = detectSessionStringFormat(entry.session)
      const record = importSessionString(entry.session, kind)
      const userId =
        record.userId ?? (entry.userId !== null && /^\d+$/.test(entry.userId) ? BigInt(entry.userId) : null)
      out.push({
        source,
        format: `string:${kind}`,
        record: withSidecar({ ...record, userId }, EMPTY_SIDECAR, opts),
        sidecar: EMPTY_SIDECAR,
      })
    } catch (err) {
      out.push({ source, format: null, status: 'error', error: message(err), warnings: [] })
    }
  })
  if (out.length === 0) throw new ImportSourceError('holds no session string')
  // A file of one string may have a sidecar (`<name>.txt` + `<name>.json`, as GramJS exports are handed over).
  const only = out.length === 1 && !('status' in out[0]!) ? out[0] : undefined
  if (only) {
    const side = await readSidecarOf(path.replace(/\.[^./]*$/, ''))
    if (side) return [{ ...only, record: withSidecar(only.record, side.sidecar, opts), sidecar: side.sidecar }]
  }
  return out
}

async function readTdataDir(dir: string, opts: ReadOptions): Promise<ImportCandidate[]> {
  const sidecar = await tdataSidecar(dir)
  const accounts = await readTdata(dir, opts.passcode !== undefined ? { passcode: opts.passcode } : {})
  return accounts.map((a) => {
    const others = Object.fromEntries([...a.authKeys].filter(([dc]) => dc !== a.mainDcId))
    const record: SessionRecord = {
      dcId: a.mainDcId,
      apiId: null,
      testMode: false,
      authKey: a.authKeys.get(a.mainDcId)!,
      date: 0,
      userId: a.userId === 0n ? null : a.userId,
      isBot: false,
      ...(Object.keys(others).length > 0 ? { dcAuthKeys: others } : {}),
    }
    // A sidecar describes the folder's first account; others of a multi-account folder have none.
    const own = a.index === accounts[0]!.index ? sidecar : EMPTY_SIDECAR
    return {
      source: `${dir}#${a.index}`,
      format: 'tdata' as const,
      record: withSidecar(record, own, opts),
      sidecar: own,
    }
  })
}

/** Every account the paths hold (candidates), and a row per file that yielded an error instead. */
export async function readImportSources(
  paths: readonly string[],
  opts: ReadOptions & { bundle?: BundleReader } = {},
): Promise<{ candidates: ImportCandidate[]; rows: ImportRow[]; bundles: string[] }> {
  const candidates: ImportCandidate[] = []
  const rows: ImportRow[] = []
  const bundles: string[] = []
  const fail = (source: string, format: ImportFormat | null, err: unknown): void => {
    rows.push({ source, format, status: 'error', error: message(err), warnings: [] })
  }
  const visit = async (path: string, depth: number): Promise<void> => {
    let info
    try {
      info = await stat(path)
    } catch (err) {
      return fail(path, null, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : err)
    }
    if (info.isDirectory()) {
      if (await isTdataDir(path)) {
        try {
          candidates.push(...(await readTdataDir(path, opts)))
        } catch (err) {
          fail(path, 'tdata', err)
        }
        return
      }
      if (depth > 2) return
      const names = (await readdir(path)).sort()
      // A folder given by name is searched; the sidecars, lock files and our own temp files are not sessions.
      for (const name of names) {
        if (name.endsWith('.json') && ['.session', '.txt'].some((e) => names.includes(name.replace(/\.json$/, e))))
          continue
        if (name.endsWith('.json') && names.includes(name.replace(/\.json$/, ''))) continue // a tdata folder's sidecar
        if (/\.(lock|tmp)$/.test(name) || name.startsWith('.')) continue
        await visit(join(path, name), depth + 1)
      }
      return
    }
    if (!info.isFile()) return fail(path, null, 'not a file or folder')
    try {
      const start = await head(path)
      if (opts.bundle?.isBundle(start)) {
        bundles.push(path)
        return
      }
      if (start.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
        candidates.push(await readSqliteSession(path, opts))
        return
      }
      if (path.endsWith('.session')) throw new ImportSourceError('not an SQLite file (neither Pyrogram nor Telethon)')
      if (path.endsWith('.json') && depth > 0) return // a sidecar of nothing we read
      for (const item of await readStringsFile(path, opts)) {
        if ('status' in item) rows.push(item)
        else candidates.push(item)
      }
    } catch (err) {
      fail(path, path.endsWith('.session') ? 'pyrogram' : null, err)
    }
  }
  for (const p of paths) await visit(p, 0)
  return { candidates, rows, bundles }
}

/** auth_key_id: the low 64 bits of SHA1(auth_key) (core.telegram.org/mtproto/description), as hex. */
export function authKeyIdHex(key: Uint8Array): string {
  return createHash('sha1').update(key).digest().subarray(12, 20).toString('hex')
}

/** The session name an imported account gets: `user-<phone>` (as a login's), else by user id, else by key id. */
export function importedSessionName(record: SessionRecord, phone: string | null): string {
  if (phone) return `user-${phone}`
  if (record.userId !== null) return `user-id${record.userId}`
  return `user-key${authKeyIdHex(record.authKey)}`
}

function accountKeyOf(name: string): string {
  return name.replace(/^user-/, '')
}

/** What the farm already holds: auth key ids and user ids → session name. */
async function farmIndex(
  redis: RedisClient,
  prefix: string,
  sealer: Sealer | undefined,
): Promise<{ keys: Map<string, string>; users: Map<string, string>; names: Set<string> }> {
  const keys = new Map<string, string>()
  const users = new Map<string, string>()
  const names = new Set<string>()
  for (const ref of await listRedisSessions(redis, prefix)) {
    names.add(ref.name)
    if (ref.userId) users.set(ref.userId, ref.name)
    const storage = new RedisSessionStorage({
      redis,
      name: ref.name,
      keyPrefix: sessionKeyPrefix(prefix),
      ...(sealer ? { sealer } : {}),
    })
    await storage.open()
    const record = await storage.load().catch(() => null)
    if (record) keys.set(authKeyIdHex(record.authKey), ref.name)
  }
  return { keys, users, names }
}

/** The source named no identity: a preset under the farm's choice, fixed by the account (phone, user, or key). */
function withPreset(c: ImportCandidate, choice: IdentityChoice | undefined, fallbackApiId: number): ImportCandidate {
  if (c.record.device || !choice) return c
  const accountKey = c.sidecar.phone ?? c.record.userId?.toString() ?? authKeyIdHex(c.record.authKey)
  const preset = presetFor(accountKey, choice)
  if (!preset) return c
  return {
    ...c,
    record: { ...c.record, device: identityOf(preset, c.record.apiId ?? fallbackApiId) },
    presetAssigned: true,
  }
}

function warningsOf(c: ImportCandidate): string[] {
  const w: string[] = []
  if (c.presetAssigned) w.push(`no identity in the source: preset "${c.record.device!.deviceModel}" assigned and saved`)
  else if (!c.record.device)
    w.push('no identity in the source: it will connect with the library default identity (a known fingerprint)')
  if (c.record.apiId === null) w.push('no api id in the source: the farm api id will be used')
  else if (c.sidecar.apiHash === null) w.push('api id without api_hash: the farm api id/hash will be used')
  return w
}

/** Reads the paths and stores every account found; one report row per account or unreadable file. */
export async function importSessions(
  redis: RedisClient,
  prefix: string,
  paths: readonly string[],
  opts: ImportOptions = {},
): Promise<ImportRow[]> {
  const { candidates, rows, bundles } = await readImportSources(paths, opts)
  for (const path of bundles) {
    try {
      rows.push(...(await opts.bundle!.importBundle(path)))
    } catch (err) {
      rows.push({ source: path, format: 'bundle', status: 'error', error: message(err), warnings: [] })
    }
  }
  const farm = await farmIndex(redis, prefix, opts.sealer)
  const registry = new ExceptIdsRegistry({ redis, prefix })
  const seenKeys = new Map<string, string>()
  const seenUsers = new Map<string, string>()
  for (const candidate of candidates) {
    let c = withPreset(candidate, opts.identityChoice, opts.defaultApiId ?? FARM_DEFAULT_API_ID)
    const base = { source: c.source, format: c.format, dcId: c.record.dcId }
    try {
      let phone = c.sidecar.phone
      if (c.record.userId === null && opts.resolveUser) {
        const me = await opts.resolveUser(c)
        c = { ...c, record: { ...c.record, userId: me.userId, isBot: me.isBot } }
        phone ??= me.phone
      }
      const keyId = authKeyIdHex(c.record.authKey)
      const userId = c.record.userId?.toString() ?? null
      const name = importedSessionName(c.record, phone)
      const dupOf =
        seenKeys.get(keyId) ??
        (userId !== null ? seenUsers.get(userId) : undefined) ??
        (
          farm.keys.get(keyId) ??
          (userId !== null ? farm.users.get(userId) : undefined) ??
          (farm.names.has(name) ? name : undefined)
        )?.replace(/^/, 'farm:') ??
        (userId !== null && (await registry.isAuthorizedId(userId)) ? 'farm:except_ids' : undefined)
      if (dupOf !== undefined) {
        rows.push({ ...base, status: 'duplicate', userId, duplicateOf: dupOf, warnings: [] })
        continue
      }
      seenKeys.set(keyId, c.source)
      if (userId !== null) seenUsers.set(userId, c.source)
      if (!opts.dryRun) await storeAccount(redis, prefix, name, c, registry, opts)
      rows.push({ ...base, status: 'imported', session: name, userId, warnings: warningsOf(c) })
    } catch (err) {
      rows.push({ ...base, status: 'error', error: message(err), warnings: [] })
    }
  }
  return rows
}

class DuplicateAccountError extends Error {}

/** One account: secrets, then the record (one MULTI), then except_ids; undone if a later step fails. */
async function storeAccount(
  redis: RedisClient,
  prefix: string,
  name: string,
  c: ImportCandidate,
  registry: ExceptIdsRegistry,
  opts: ImportOptions,
): Promise<void> {
  const storage = new RedisSessionStorage({
    redis,
    name,
    keyPrefix: sessionKeyPrefix(prefix),
    ...(opts.sealer ? { sealer: opts.sealer } : {}),
    ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}),
  })
  const secrets = {
    ...(c.sidecar.proxy ? { proxy: c.sidecar.proxy } : {}),
    ...(c.sidecar.apiHash ? { apiHash: c.sidecar.apiHash } : {}),
    ...(c.sidecar.password ? { password: c.sidecar.password } : {}),
  }
  let wroteSecrets = false
  let wroteSession = false
  try {
    if (Object.keys(secrets).length > 0 && opts.secrets) {
      await opts.secrets.put(name, secrets)
      wroteSecrets = true
    }
    await storage.open()
    const r = c.record
    await storage.save({
      dcId: r.dcId,
      apiId: r.apiId,
      testMode: r.testMode,
      authKey: r.authKey,
      userId: r.userId,
      isBot: r.isBot,
      server: r.server ?? null,
      dcAuthKeys: r.dcAuthKeys ?? null,
      device: r.device ?? null,
    })
    wroteSession = true
    if (r.userId !== null) {
      const recorded = await registry.recordAuthorized(r.userId, accountKeyOf(name), 'import')
      if (recorded.status === 'duplicate')
        throw new DuplicateAccountError(
          `user ${r.userId} was registered by ${recorded.firstAccountKey ?? 'another account'} meanwhile`,
        )
    }
  } catch (err) {
    if (err instanceof DuplicateAccountError) await registry.forgetAccount(accountKeyOf(name)).catch(() => undefined)
    if (wroteSession) await storage.delete().catch(() => undefined)
    if (wroteSecrets) await opts.secrets!.delete(name).catch(() => undefined)
    throw err
  } finally {
    await storage.close()
  }
}
