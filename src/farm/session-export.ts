// Sessions out of the farm's Redis storage (where workers save them) into what operators hand to other tools, in
// a directory, one account per file (0600) with its `.json` sidecar in the TGConvertor/opentele convention
// (session-sidecar.ts; identity, api id/hash, proxy and 2FA password when the farm holds them):
//   pyrogram  <name>.session (Pyrogram v7 SQLite)      telethon  <name>.session (Telethon v7 SQLite)
//   gramjs    <name>.txt (a GramJS StringSession)      strings   strings.txt, one string a line (any string format)
//   tdata     <name>/tdata/ (Telegram Desktop, optional local passcode)
// and/or one JSON file of Pyrogram session strings (0600). They stay in Redis unless removed.
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Sealer } from '../foundation/sealed-value.ts'
import {
  FileSessionStorage,
  RedisSessionStorage,
  SessionStringCodec,
  type ServerAddress,
  type SessionRecord,
} from '../auth/storage/index.ts'
import { sessionKeyPrefix } from '../queue/redis-keys.ts'
import { keysUnderPattern, listKeys } from '../queue/redis-scan.ts'
import type { AccountResult } from './coordinator.ts'
import { writePrivateFile } from '../foundation/private-file.ts'
import { telethonSessionImage } from '../auth/storage/telethon-file.ts'
import { writeTdata } from '../auth/storage/tdata/index.ts'
import { exportSessionString, type SessionStringFormat } from '../auth/storage/index.ts'
import { sidecarJson } from './session-sidecar.ts'

export const EXPORT_FORMATS = ['pyrogram', 'telethon', 'gramjs', 'strings', 'tdata'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** The per-session secrets the sidecars carry (`health`'s SessionSecretStore has this face). */
export interface SessionSecretsReader {
  get(name: string): Promise<{ proxy?: string; apiHash?: string; password?: string }>
}

export interface SessionRef {
  /** The session's name in Redis storage (`<prefix>session:<name>`). */
  readonly name: string
  /** Phone, `bot<id>`, or QR label. */
  readonly account: string
  readonly kind: string
  /** From the session's record (listRedisSessions): whom it logs in, and on which DC; null when not authorized. */
  readonly userId?: string | null
  readonly dcId?: number | null
}

export interface ExportTarget {
  /** Directory for the files of `format` (default pyrogram) + `<name>.json` sidecars. */
  readonly dir?: string
  readonly format?: ExportFormat
  /** Which string format `gramjs`/`strings` write (gramjs: always GramJS; strings: default pyrogram). */
  readonly stringFormat?: SessionStringFormat
  /** tdata: the local passcode the folder is locked with. */
  readonly passcode?: string
  /** Where the sidecars' app_hash, proxy and twoFA come from; without it they are null. */
  readonly secrets?: SessionSecretsReader
  /** File for the session strings. */
  readonly json?: string
  /** Where a DC is, when it is not Telegram's address (the test DC): written into the `.session` files. */
  readonly serverOf?: (dcId: number) => ServerAddress | undefined
}

export interface ExportedSession {
  readonly ref: SessionRef
  /** The session file or folder written (in `dir`). */
  readonly file?: string
  readonly sidecar?: string
  readonly format?: ExportFormat
  readonly userId: string | null
  readonly dcId: number
}

export interface ExportSummary {
  readonly exported: readonly ExportedSession[]
  /** Sessions named but not (or no longer) in Redis. */
  readonly missing: readonly SessionRef[]
  readonly dir?: string
  readonly json?: string
}

/** The session strings file: Pyrogram strings (SessionStringCodec) with what each belongs to. */
export interface SessionStringsFile {
  readonly format: 'pyrogram'
  readonly sessions: readonly { account: string; kind: string; userId: string | null; dcId: number; session: string }[]
}

/** `user-99966…` → `99966…`, `bot-bot123` → `bot123`, `qr-desk 1` → `qr-desk_1`: a plain, safe file name. */
export function sessionFileName(ref: SessionRef): string {
  const base = ref.kind === 'user' || ref.kind === 'bot' ? ref.account : `${ref.kind}-${ref.account}`
  return (
    base
      .replace(/[^\w.+-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 120) || 'session'
  )
}

/** The sessions a run's results name (authorized accounts of this run). */
export function sessionsOfResults(results: readonly AccountResult[]): SessionRef[] {
  return results
    .filter((r) => r.session !== undefined)
    .map((r) => ({ name: r.session!, account: r.account, kind: r.kind }))
}

/** Every session in the farm's Redis storage. */
export async function listRedisSessions(redis: RedisClient, prefix: string): Promise<SessionRef[]> {
  const keyPrefix = sessionKeyPrefix(prefix)
  const out: SessionRef[] = []
  for (const key of await listKeys(redis, keysUnderPattern(keyPrefix))) {
    const name = key.slice(keyPrefix.length)
    if (name.includes(':')) continue // `<name>:peers`
    const dash = name.indexOf('-')
    const kind = dash > 0 ? name.slice(0, dash) : 'user'
    out.push({ name, kind, account: dash > 0 ? name.slice(dash + 1) : name })
  }
  // The record's plain fields (the auth key may be sealed; these are not): one pipelined HMGET per session.
  const pipe = redis.pipeline()
  for (const r of out) pipe.hmget(`${keyPrefix}${r.name}`, 'userId', 'dcId')
  const replies = (await pipe.exec()) ?? []
  const withIds = out.map((r, i) => {
    const [err, v] = replies[i] ?? [null, null]
    const [userId, dcId] = !err && Array.isArray(v) ? (v as (string | null)[]) : [null, null]
    return {
      ...r,
      userId: userId ?? null,
      dcId: dcId !== null && dcId !== undefined && /^\d+$/.test(dcId) ? Number(dcId) : null,
    }
  })
  return withIds.sort((a, b) => a.name.localeCompare(b.name))
}

export async function loadRedisSession(
  redis: RedisClient,
  prefix: string,
  name: string,
  sealer: Sealer | undefined,
): Promise<SessionRecord | null> {
  const storage = new RedisSessionStorage({
    redis,
    name,
    keyPrefix: sessionKeyPrefix(prefix),
    ...(sealer ? { sealer } : {}),
  })
  await storage.open()
  try {
    return await storage.load()
  } finally {
    await storage.close()
  }
}

/** The `.json` beside a `.session`: who the account is and which identity to present (no secret). */
export function sessionSidecar(ref: SessionRef, fileName: string, record: SessionRecord): Record<string, unknown> {
  const d = record.device
  return {
    session_file: `${fileName}.session`,
    ...(ref.kind === 'user' ? { phone: ref.account } : {}),
    ...(ref.kind === 'bot' ? { bot: ref.account } : {}),
    user_id: record.userId?.toString() ?? null,
    is_bot: record.isBot ?? false,
    dc_id: record.dcId,
    app_id: record.apiId,
    test_mode: record.testMode,
    ...(d
      ? {
          device: d.deviceModel,
          sdk: d.systemVersion,
          app_version: d.appVersion,
          lang_code: d.langCode,
          system_lang_code: d.systemLangCode,
          lang_pack: d.langPack,
        }
      : {}),
  }
}

/** Writes one account's file(s) in `format` and its sidecar; returns their paths. */
async function writeAccount(
  dir: string,
  fileName: string,
  ref: SessionRef,
  record: SessionRecord,
  target: ExportTarget,
  format: ExportFormat,
  stringLines: string[],
): Promise<{ file: string; sidecar: string }> {
  let file: string
  if (format === 'pyrogram') {
    const storage = new FileSessionStorage({ workdir: dir, name: fileName })
    await storage.open()
    try {
      await storage.save({
        dcId: record.dcId,
        apiId: record.apiId,
        testMode: record.testMode,
        authKey: record.authKey,
        userId: record.userId,
        isBot: record.isBot,
        dcAuthKeys: record.dcAuthKeys ?? null,
        device: record.device ?? null,
        ...(record.server ? { server: record.server } : {}),
      })
    } finally {
      await storage.close()
    }
    file = storage.path
  } else if (format === 'telethon') {
    file = join(dir, `${fileName}.session`)
    await writePrivateBytes(file, await telethonSessionImage(record))
  } else if (format === 'gramjs') {
    file = join(dir, `${fileName}.txt`)
    await writePrivateFile(file, `${exportSessionString(record, 'gramjs')}\n`)
  } else if (format === 'strings') {
    file = join(dir, 'strings.txt')
    stringLines.push(exportSessionString(record, target.stringFormat ?? 'pyrogram'))
  } else {
    file = join(dir, fileName, 'tdata')
    await mkdir(join(dir, fileName), { recursive: true, mode: 0o700 })
    await chmod(join(dir, fileName), 0o700)
    const keys = new Map<number, Uint8Array>([[record.dcId, record.authKey]])
    for (const [dc, key] of Object.entries(record.dcAuthKeys ?? {})) keys.set(Number(dc), key)
    await writeTdata(
      file,
      [{ userId: record.userId ?? 0n, mainDcId: record.dcId, authKeys: keys }],
      target.passcode !== undefined ? { passcode: target.passcode } : {},
    )
  }
  const secrets = (await target.secrets?.get(ref.name)) ?? {}
  const sidecar = join(dir, `${fileName}.json`)
  await writePrivateFile(
    sidecar,
    sidecarJson({
      sessionFile:
        format === 'tdata' ? `${fileName}/tdata` : format === 'strings' ? 'strings.txt' : file.slice(dir.length + 1),
      dcId: record.dcId,
      testMode: record.testMode,
      apiId: record.apiId,
      apiHash: secrets.apiHash ?? null,
      device: record.device ?? null,
      phone: ref.kind === 'user' && /^\d+$/.test(ref.account) ? ref.account : null,
      userId: record.userId,
      isBot: record.isBot,
      password: secrets.password ?? null,
      proxy: secrets.proxy ?? null,
    }),
  )
  return { file, sidecar }
}

async function writePrivateBytes(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`
  try {
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.writeFile(bytes)
      await handle.chmod(0o600)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined)
    throw err
  }
}

/** `sealer`: the farm's keyring, which opens auth keys sealed under its master key. */
export async function exportSessions(
  redis: RedisClient,
  prefix: string,
  refs: readonly SessionRef[],
  target: ExportTarget,
  sealer?: Sealer,
): Promise<ExportSummary> {
  const format = target.format ?? 'pyrogram'
  const stringLines: string[] = []
  if (target.dir !== undefined) await mkdir(target.dir, { recursive: true, mode: 0o700 })
  if (target.json !== undefined) await mkdir(dirname(target.json), { recursive: true })
  const exported: ExportedSession[] = []
  const missing: SessionRef[] = []
  const strings: SessionStringsFile['sessions'][number][] = []
  const used = new Set<string>()
  for (const ref of refs) {
    const record = await loadRedisSession(redis, prefix, ref.name, sealer)
    // An auth key that never logged in (a login in progress) is not a session to hand out.
    if (record === null || record.userId === null) {
      missing.push(ref)
      continue
    }
    let written: { file: string; sidecar: string } | undefined
    if (target.dir !== undefined) {
      let fileName = sessionFileName(ref)
      for (let n = 2; used.has(fileName); n++) fileName = `${sessionFileName(ref)}-${n}`
      used.add(fileName)
      const server = target.serverOf?.(record.dcId)
      const placed: SessionRecord = server ? { ...record, server } : record
      written = await writeAccount(target.dir, fileName, ref, placed, target, format, stringLines)
    }
    if (target.json !== undefined) {
      strings.push({
        account: ref.account,
        kind: ref.kind,
        userId: record.userId?.toString() ?? null,
        dcId: record.dcId,
        session: SessionStringCodec.export(record),
      })
    }
    exported.push({
      ref,
      ...(written ? { ...written, format } : {}),
      userId: record.userId?.toString() ?? null,
      dcId: record.dcId,
    })
  }
  if (target.dir !== undefined && format === 'strings')
    await writePrivateFile(join(target.dir, 'strings.txt'), stringLines.map((l) => `${l}\n`).join(''))
  if (target.json !== undefined) {
    const doc: SessionStringsFile = { format: 'pyrogram', sessions: strings }
    await writePrivateFile(target.json, `${JSON.stringify(doc, null, 2)}\n`)
  }
  return {
    exported,
    missing,
    ...(target.dir !== undefined ? { dir: target.dir } : {}),
    ...(target.json !== undefined ? { json: target.json } : {}),
  }
}

/** Removes sessions from Redis storage (after they were written elsewhere, when asked). */
export async function deleteRedisSessions(
  redis: RedisClient,
  prefix: string,
  refs: readonly SessionRef[],
): Promise<void> {
  for (const ref of refs)
    await new RedisSessionStorage({ redis, name: ref.name, keyPrefix: sessionKeyPrefix(prefix) }).delete()
}
