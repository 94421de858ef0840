// Encrypted session bundles: `sessions export --encrypt` writes the farm's sessions (their records, the `.json`
// sidecars' metadata and the session's own secrets: proxy, api_hash, 2FA password) into one file sealed under the farm's master key or a key given for the bundle, and
// `sessions import <bundle>` reads it back into the farm's Redis storage with that key.
//
// AES-256-GCM from node's crypto, envelope encryption as for the values in Redis (sealed-value.ts): a fresh data
// key encrypts the body, and is itself encrypted under a key derived from the bundle key for this purpose only.
// The whole header (magic, version, key id, count) is the associated data of both, so a header edited (another key
// id, another count) or a body moved under another header does not open.
//
// Layout:
//   magic 'GFSESSB1' (8) | header length (uint32 BE) | header (UTF-8 JSON) |
//   wrapped data key: iv 12 | 32 | tag 16 | body: iv 12 | ciphertext (UTF-8 JSON) | tag 16
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { open as openFile, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { mkdir } from 'node:fs/promises'
import type { RedisClient } from '../queue/redis-connection.ts'
import { RedisSessionStorage, type DeviceIdentity, type SessionRecord } from '../auth/storage/index.ts'
import { writePrivateFile } from '../foundation/private-file.ts'
import type { MasterKey, Sealer } from '../foundation/sealed-value.ts'
import { sessionKeyPrefix } from '../queue/redis-keys.ts'
import { FarmError } from './farm-error.ts'
import {
  loadRedisSession,
  sessionFileName,
  sessionSidecar,
  type SessionRef,
  type SessionSecretsReader,
} from './session-export.ts'

/** 'GF' + 'SESSB' (session bundle) + the layout's version. */
export const SESSION_BUNDLE_MAGIC = Buffer.from('GFSESSB1', 'latin1')
const IV_BYTES = 12 // GCM's standard nonce length
const TAG_BYTES = 16 // GCM's full-length tag
const DATA_KEY_BYTES = 32 // AES-256
const WRAPPED_KEY_BYTES = IV_BYTES + DATA_KEY_BYTES + TAG_BYTES
/** A header is a few hundred bytes; anything far larger is not one of ours. */
const MAX_HEADER_BYTES = 64 * 1024
const BUNDLE_PURPOSE = 'session bundle v1 wrap key'

export type SessionBundleErrorReason =
  /** Not a session bundle (no magic), or a layout version we do not read. */
  | 'not-a-bundle'
  /** Sealed under a key id not given. */
  | 'unknown-key'
  /** Does not open under its key: altered, or cut short. */
  | 'does-not-open'
  /** Opens, but what is inside is not a session list. */
  | 'malformed'

/** A bundle that cannot be read. Names the file and the key id, never a key or a session. */
export class SessionBundleError extends FarmError {
  override readonly name = 'SessionBundleError'
  constructor(
    readonly reason: SessionBundleErrorReason,
    readonly file: string,
    message: string,
    readonly keyId?: string,
  ) {
    super(`${file}: ${message}`)
  }
}

/** The bundle's header (in clear, authenticated). */
export interface SessionBundleHeader {
  readonly format: 'gramfarm-sessions'
  readonly version: 1
  readonly cipher: 'aes-256-gcm'
  /** The id of the key the bundle is sealed under (MasterKey.id: names the key, reveals nothing of it). */
  readonly keyId: string
  /** 'master': the farm's master key; 'bundle': a key given for the bundle (`--key-file`). */
  readonly keySource: 'master' | 'bundle'
  readonly createdAt: string
  readonly sessions: number
}

/** One session in a bundle: enough to put it back into Redis storage, and the sidecar the files would have. */
export interface BundledSession {
  readonly name: string
  readonly account: string
  readonly kind: string
  readonly record: SessionRecord
  readonly sidecar: Record<string, unknown>
  /** The session's own secrets the farm holds (session-secrets.ts), when any. */
  readonly secrets?: BundledSecrets
}

/** What a bundle carries of a session's own secrets. */
export interface BundledSecrets {
  proxy?: string
  apiHash?: string
  password?: string
}

const SECRET_FIELDS = ['proxy', 'apiHash', 'password'] as const satisfies readonly (keyof BundledSecrets)[]

/** Where an import puts a session's own secrets (health's SessionSecretStore has this face). */
export interface SessionSecretsWriter {
  put(name: string, secrets: BundledSecrets): Promise<void>
}

/** Only the known fields, only strings; undefined when there are none. */
function secretsOf(value: unknown): BundledSecrets | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const out: BundledSecrets = {}
  for (const f of SECRET_FIELDS) {
    const v = (value as Record<string, unknown>)[f]
    if (typeof v === 'string' && v !== '') out[f] = v
  }
  return Object.keys(out).length > 0 ? out : undefined
}

interface StoredRecord {
  dcId: number
  apiId: number | null
  testMode: boolean
  authKey: string
  date: number
  userId: string | null
  isBot: boolean | null
  server?: { host: string; port: number }
  dcAuthKeys?: Record<string, string>
  device?: DeviceIdentity
}

interface StoredSession {
  name: string
  account: string
  kind: string
  record: StoredRecord
  sidecar: Record<string, unknown>
  secrets?: BundledSecrets
}

/** Whether these first bytes of a file are a session bundle's (for an import that reads many formats). */
export function isSessionBundle(head: Uint8Array): boolean {
  return (
    head.length >= SESSION_BUNDLE_MAGIC.length &&
    Buffer.from(head.subarray(0, SESSION_BUNDLE_MAGIC.length)).equals(SESSION_BUNDLE_MAGIC)
  )
}

/** Whether the file at `path` starts like a session bundle (false for a file too short or unreadable as such). */
export async function isSessionBundleFile(path: string): Promise<boolean> {
  const fh = await openFile(path, 'r')
  try {
    const head = Buffer.alloc(SESSION_BUNDLE_MAGIC.length)
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    return isSessionBundle(head.subarray(0, bytesRead))
  } finally {
    await fh.close()
  }
}

function gcmSeal(key: Uint8Array, plain: Uint8Array, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES)
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(aad)
  const body = Buffer.concat([c.update(plain), c.final()])
  return Buffer.concat([iv, body, c.getAuthTag()])
}

/** null when it does not authenticate. */
function gcmOpen(key: Uint8Array, packed: Buffer, aad: Buffer): Buffer | null {
  if (packed.length < IV_BYTES + TAG_BYTES) return null
  const d = createDecipheriv('aes-256-gcm', key, packed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES })
  d.setAAD(aad)
  d.setAuthTag(packed.subarray(packed.length - TAG_BYTES))
  try {
    return Buffer.concat([d.update(packed.subarray(IV_BYTES, packed.length - TAG_BYTES)), d.final()])
  } catch {
    return null
  }
}

function toStored(s: BundledSession): StoredSession {
  const r = s.record
  return {
    name: s.name,
    account: s.account,
    kind: s.kind,
    record: {
      dcId: r.dcId,
      apiId: r.apiId,
      testMode: r.testMode,
      authKey: Buffer.from(r.authKey).toString('base64'),
      date: r.date,
      userId: r.userId === null ? null : r.userId.toString(),
      isBot: r.isBot,
      ...(r.server ? { server: { host: r.server.host, port: r.server.port } } : {}),
      ...(r.dcAuthKeys
        ? {
            dcAuthKeys: Object.fromEntries(
              Object.entries(r.dcAuthKeys).map(([dc, k]) => [dc, Buffer.from(k).toString('base64')]),
            ),
          }
        : {}),
      ...(r.device ? { device: r.device } : {}),
    },
    sidecar: s.sidecar,
    ...(s.secrets ? { secrets: s.secrets } : {}),
  }
}

/** The sessions of an opened body; throws when its shape is not ours (the record's values are checked on save). */
function fromStored(value: unknown, file: string): BundledSession[] {
  const bad = (what: string): SessionBundleError =>
    new SessionBundleError('malformed', file, `the bundle opens, but ${what}`)
  const list = (value as { sessions?: unknown } | null)?.sessions
  if (!Array.isArray(list)) throw bad('holds no session list')
  return list.map((item: unknown, i) => {
    const s = item as Partial<StoredSession> | null
    const r = s?.record as Partial<StoredRecord> | undefined
    if (
      !s ||
      typeof s.name !== 'string' ||
      typeof s.account !== 'string' ||
      typeof s.kind !== 'string' ||
      !r ||
      typeof r.dcId !== 'number' ||
      typeof r.authKey !== 'string' ||
      typeof r.date !== 'number' ||
      (r.userId !== null && typeof r.userId !== 'string') ||
      (r.userId !== null && !/^-?\d+$/.test(r.userId!))
    )
      throw bad(`session #${i + 1} is not a session record`)
    const dcAuthKeys: Record<number, Uint8Array> = {}
    for (const [dc, k] of Object.entries(r.dcAuthKeys ?? {}))
      dcAuthKeys[Number(dc)] = new Uint8Array(Buffer.from(String(k), 'base64'))
    const record: SessionRecord = {
      dcId: r.dcId,
      apiId: typeof r.apiId === 'number' ? r.apiId : null,
      testMode: r.testMode === true,
      authKey: new Uint8Array(Buffer.from(r.authKey, 'base64')),
      date: r.date,
      userId: r.userId === null ? null : BigInt(r.userId!),
      isBot: typeof r.isBot === 'boolean' ? r.isBot : null,
      ...(r.server ? { server: r.server } : {}),
      ...(Object.keys(dcAuthKeys).length > 0 ? { dcAuthKeys } : {}),
      ...(r.device ? { device: r.device } : {}),
    }
    const secrets = secretsOf(s.secrets)
    return {
      name: s.name,
      account: s.account,
      kind: s.kind,
      record,
      sidecar: typeof s.sidecar === 'object' && s.sidecar !== null ? s.sidecar : {},
      ...(secrets ? { secrets } : {}),
    }
  })
}

/** The bundle's bytes: `sessions` sealed under `key`. */
export function sealSessionBundle(
  sessions: readonly BundledSession[],
  key: MasterKey,
  keySource: SessionBundleHeader['keySource'],
  now = new Date(),
): Buffer {
  const header: SessionBundleHeader = {
    format: 'gramfarm-sessions',
    version: 1,
    cipher: 'aes-256-gcm',
    keyId: key.id,
    keySource,
    createdAt: now.toISOString(),
    sessions: sessions.length,
  }
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32BE(headerBytes.length)
  const aad = Buffer.concat([SESSION_BUNDLE_MAGIC, length, headerBytes])
  const plain = Buffer.from(JSON.stringify({ sessions: sessions.map(toStored) }), 'utf8')
  const dataKey = randomBytes(DATA_KEY_BYTES)
  const wrapped = gcmSeal(key.derive(BUNDLE_PURPOSE), dataKey, aad)
  const body = gcmSeal(dataKey, plain, aad)
  dataKey.fill(0)
  plain.fill(0)
  return Buffer.concat([aad, wrapped, body])
}

/** The header of a bundle's bytes (in clear: which key it needs), without opening it. */
export function readSessionBundleHeader(bytes: Buffer, file: string): { header: SessionBundleHeader; aad: Buffer } {
  if (!isSessionBundle(bytes))
    throw new SessionBundleError(
      'not-a-bundle',
      file,
      'not a gramfarm session bundle (its first bytes are not GFSESSB1)',
    )
  const start = SESSION_BUNDLE_MAGIC.length
  if (bytes.length < start + 4) throw new SessionBundleError('does-not-open', file, 'the bundle is cut short')
  const length = bytes.readUInt32BE(start)
  if (length > MAX_HEADER_BYTES || bytes.length < start + 4 + length + WRAPPED_KEY_BYTES + IV_BYTES + TAG_BYTES)
    throw new SessionBundleError('does-not-open', file, 'the bundle is cut short or its header length is wrong')
  let header: SessionBundleHeader
  try {
    header = JSON.parse(bytes.subarray(start + 4, start + 4 + length).toString('utf8')) as SessionBundleHeader
  } catch {
    throw new SessionBundleError('not-a-bundle', file, 'the bundle header is not JSON')
  }
  if (header.format !== 'gramfarm-sessions' || header.version !== 1 || header.cipher !== 'aes-256-gcm')
    throw new SessionBundleError('not-a-bundle', file, 'a session bundle version this gramfarm does not read')
  if (typeof header.keyId !== 'string' || !/^[a-p]{16}$/.test(header.keyId))
    throw new SessionBundleError('not-a-bundle', file, 'the bundle header names no key id')
  return { header, aad: bytes.subarray(0, start + 4 + length) }
}

/**
 * Opens a bundle's bytes with whichever of `keys` it names. Throws SessionBundleError: 'unknown-key' naming the
 * bundle's key id when none of `keys` is it, 'does-not-open' when it was altered.
 */
export function openSessionBundle(
  bytes: Buffer,
  keys: readonly MasterKey[],
  file: string,
): { header: SessionBundleHeader; sessions: BundledSession[] } {
  const { header, aad } = readSessionBundleHeader(bytes, file)
  const key = keys.find((k) => k.id === header.keyId)
  if (!key)
    throw new SessionBundleError(
      'unknown-key',
      file,
      `sealed under ${header.keySource === 'bundle' ? 'a bundle key' : 'the master key'} ${header.keyId}, which was not given` +
        ` (given: ${keys.map((k) => k.id).join(', ') || 'no key'}; --key-file <file> for a bundle key)`,
      header.keyId,
    )
  const wrapped = bytes.subarray(aad.length, aad.length + WRAPPED_KEY_BYTES)
  const dataKey = gcmOpen(key.derive(BUNDLE_PURPOSE), wrapped, aad)
  const doesNotOpen = (): SessionBundleError =>
    new SessionBundleError('does-not-open', file, `does not open under key ${key.id} (altered or cut short)`, key.id)
  if (!dataKey || dataKey.length !== DATA_KEY_BYTES) throw doesNotOpen()
  const plain = gcmOpen(dataKey, bytes.subarray(aad.length + WRAPPED_KEY_BYTES), aad)
  dataKey.fill(0)
  if (!plain) throw doesNotOpen()
  let value: unknown
  try {
    value = JSON.parse(plain.toString('utf8'))
  } catch {
    throw new SessionBundleError('malformed', file, 'the bundle opens, but its body is not JSON')
  } finally {
    plain.fill(0)
  }
  const sessions = fromStored(value, file)
  if (sessions.length !== header.sessions)
    throw new SessionBundleError(
      'malformed',
      file,
      `the header says ${header.sessions} sessions, the body holds ${sessions.length}`,
    )
  return { header, sessions }
}

export interface BundleExportSummary {
  readonly file: string
  readonly keyId: string
  readonly exported: readonly SessionRef[]
  /** Named but not (or no longer, or never logged in) in Redis. */
  readonly missing: readonly SessionRef[]
}

/**
 * Writes the sessions `refs` names, from the farm's Redis storage (opened with `sealer`), as one bundle sealed under
 * `key` (file 0600). A session that never logged in is not a session to hand out: listed as missing.
 */
export async function writeSessionBundle(
  redis: RedisClient,
  prefix: string,
  refs: readonly SessionRef[],
  file: string,
  key: { readonly key: MasterKey; readonly source: SessionBundleHeader['keySource'] },
  sealer?: Sealer,
  /** The sessions' own secrets to carry (opened with the farm's key); absent: none in the bundle. */
  secrets?: SessionSecretsReader,
): Promise<BundleExportSummary> {
  const sessions: BundledSession[] = []
  const exported: SessionRef[] = []
  const missing: SessionRef[] = []
  for (const ref of refs) {
    const record = await loadRedisSession(redis, prefix, ref.name, sealer)
    if (record === null || record.userId === null) {
      missing.push(ref)
      continue
    }
    const fileName = sessionFileName(ref)
    const own = secrets ? secretsOf(await secrets.get(ref.name)) : undefined
    sessions.push({
      name: ref.name,
      account: ref.account,
      kind: ref.kind,
      record,
      sidecar: sessionSidecar(ref, fileName, record),
      ...(own ? { secrets: own } : {}),
    })
    exported.push(ref)
  }
  await mkdir(dirname(file), { recursive: true })
  await writePrivateFile(file, sealSessionBundle(sessions, key.key, key.source))
  return { file, keyId: key.key.id, exported, missing }
}

export interface BundleImportOptions {
  /** Seals the auth keys as the farm's workers do (absent: clear). */
  readonly sealer?: Sealer
  /** The records' lifetime in Redis (the farm's sessionTtlSeconds); absent: kept. */
  readonly ttlSeconds?: number
  /** Overwrite a session already in Redis under the same name (default: leave it, and say so). */
  readonly replace?: boolean
  /** Where the sessions' own secrets go (sealed by it); absent: those in the bundle are not imported. */
  readonly secrets?: SessionSecretsWriter
}

export interface BundleImportSummary {
  readonly file: string
  readonly keyId: string
  readonly imported: readonly { name: string; account: string; kind: string; userId: string | null }[]
  /** Already in Redis, left as they are (without `replace`). */
  readonly existing: readonly { name: string; account: string; kind: string }[]
}

/** Reads a bundle with one of `keys` and writes its sessions into the farm's Redis storage. */
export async function importSessionBundle(
  redis: RedisClient,
  prefix: string,
  file: string,
  keys: readonly MasterKey[],
  opts: BundleImportOptions = {},
): Promise<BundleImportSummary> {
  const { header, sessions } = openSessionBundle(await readFile(file), keys, file)
  const imported: BundleImportSummary['imported'][number][] = []
  const existing: BundleImportSummary['existing'][number][] = []
  for (const s of sessions) {
    const storage = new RedisSessionStorage({
      redis,
      name: s.name,
      keyPrefix: sessionKeyPrefix(prefix),
      ...(opts.sealer ? { sealer: opts.sealer } : {}),
      ...(opts.ttlSeconds !== undefined ? { ttlSeconds: opts.ttlSeconds } : {}),
    })
    if (!opts.replace && (await redis.exists(storage.key)) === 1) {
      existing.push({ name: s.name, account: s.account, kind: s.kind })
      continue
    }
    await storage.open()
    try {
      const r = s.record
      await storage.save({
        dcId: r.dcId,
        apiId: r.apiId,
        testMode: r.testMode,
        authKey: r.authKey,
        date: r.date,
        userId: r.userId,
        isBot: r.isBot,
        server: r.server ?? null,
        dcAuthKeys: r.dcAuthKeys ?? null,
        device: r.device ?? null,
      })
    } finally {
      await storage.close()
    }
    if (s.secrets && opts.secrets) await opts.secrets.put(s.name, s.secrets)
    imported.push({ name: s.name, account: s.account, kind: s.kind, userId: s.record.userId?.toString() ?? null })
  }
  return { file, keyId: header.keyId, imported, existing }
}
