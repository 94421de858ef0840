// The one storage interface every session engine implements (file, memory, string, Redis), and the record it keeps.
import { phoneDigits } from '../../foundation/phone-number.ts'
import { SessionStorageError } from './errors.ts'

export const AUTH_KEY_LENGTH = 256

/** Pyrogram treats a cached username older than this as unknown: usernames change hands. */
export const USERNAME_TTL_SECONDS = 8 * 60 * 60

/** Pyrogram's default for a session that has never connected. */
export const DEFAULT_DC_ID = 2

/** Where to reach the session's DC when that is not Telegram's default address for dcId (e.g. our local test DC). */
export interface ServerAddress {
  readonly host: string
  readonly port: number
}

/** The account's stable device identity (initConnection fields): a farm must present the same one every time. */
export interface DeviceIdentity {
  readonly deviceModel: string
  readonly systemVersion: string
  readonly appVersion: string
  readonly systemLangCode: string
  readonly langCode: string
  readonly langPack: string
}

export interface SessionRecord {
  readonly dcId: number
  /** null when the source did not say (Telethon/GramJS strings, Pyrogram's legacy strings). */
  readonly apiId: number | null
  readonly testMode: boolean
  /** 256 bytes. */
  readonly authKey: Uint8Array
  /** Unix seconds of the last save. */
  readonly date: number
  readonly userId: bigint | null
  readonly isBot: boolean | null
  readonly server?: ServerAddress
  /** Auth keys for DCs other than dcId, keyed by DC id. */
  readonly dcAuthKeys?: Readonly<Record<number, Uint8Array>>
  readonly device?: DeviceIdentity
}

/**
 * What save() takes: fields left undefined keep their stored value; null clears an optional one. `date` defaults to
 * now, as Pyrogram stamps every save. `dcAuthKeys` replaces the whole set.
 */
export interface SessionPatch {
  readonly dcId?: number
  readonly apiId?: number | null
  readonly testMode?: boolean
  readonly authKey?: Uint8Array
  readonly date?: number
  readonly userId?: bigint | null
  readonly isBot?: boolean | null
  readonly server?: ServerAddress | null
  readonly dcAuthKeys?: Readonly<Record<number, Uint8Array>> | null
  readonly device?: DeviceIdentity | null
}

/** Peer types as Pyrogram (and its forks) write them in `peers.type`. */
export const PEER_TYPES = ['user', 'bot', 'group', 'channel', 'supergroup', 'forum', 'direct', 'community'] as const
export type PeerType = (typeof PEER_TYPES)[number]

export function isPeerType(value: unknown): value is PeerType {
  return typeof value === 'string' && (PEER_TYPES as readonly string[]).includes(value)
}

/** One entry of the peer cache, shaped like a row of Pyrogram's `peers` (+ `usernames`) tables. */
export interface CachedPeer {
  /** Bot-API style ("marked") id, as Pyrogram stores it: users > 0, groups -id, channels -100…id. */
  readonly id: bigint
  /** 0 for basic groups, which have none. */
  readonly accessHash: bigint
  readonly type: PeerType
  readonly username: string | null
  readonly phone: string | null
  /** Unix seconds of the last put; filled in by the storage on reads. */
  readonly updatedAt?: number
}

export interface SessionStorage {
  /** Acquires what the engine needs (a file lock, a connection check) and reads existing data. */
  open(): Promise<void>
  /** The stored session, or null when there is no auth key yet. */
  load(): Promise<SessionRecord | null>
  save(patch: SessionPatch): Promise<void>
  /** Removes every trace of the session (what logOut calls); the storage is closed afterwards. */
  delete(): Promise<void>
  close(): Promise<void>
  putPeers(peers: readonly CachedPeer[]): Promise<void>
  getPeerById(id: bigint): Promise<CachedPeer | null>
  /** Case-insensitive, a leading '@' ignored; entries older than USERNAME_TTL_SECONDS count as unknown. */
  getPeerByUsername(username: string): Promise<CachedPeer | null>
  /** Digits only are compared ('+1 555…' finds '1555…'). */
  getPeerByPhone(phone: string): Promise<CachedPeer | null>
}

/** The full stored state, record or not yet (no auth key before login). Engines keep this and convert. */
export interface SessionState {
  dcId: number
  apiId: number | null
  testMode: boolean
  authKey: Uint8Array | null
  date: number
  userId: bigint | null
  isBot: boolean | null
  server: ServerAddress | null
  dcAuthKeys: Map<number, Uint8Array>
  device: DeviceIdentity | null
}

export function emptySessionState(): SessionState {
  return {
    dcId: DEFAULT_DC_ID,
    apiId: null,
    testMode: false,
    authKey: null,
    date: 0,
    userId: null,
    isBot: null,
    server: null,
    dcAuthKeys: new Map(),
    device: null,
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

const INT64_MIN = -(1n << 63n)
const INT64_MAX = (1n << 63n) - 1n

function invalid(message: string): SessionStorageError {
  return new SessionStorageError('INVALID_DATA', message)
}

export function checkDcId(dcId: number, what = 'dcId'): number {
  if (!Number.isSafeInteger(dcId) || dcId < 1 || dcId > 0xffff) throw invalid(`${what} must be an integer in 1..65535`)
  return dcId
}

export function checkAuthKey(key: Uint8Array, what = 'authKey'): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== AUTH_KEY_LENGTH) {
    throw invalid(`${what} must be ${AUTH_KEY_LENGTH} bytes`)
  }
  return Uint8Array.from(key) // a copy: callers may wipe their buffer
}

export function checkServer(server: ServerAddress): ServerAddress {
  const { host, port } = server
  if (typeof host !== 'string' || host.length === 0 || host.length > 253)
    throw invalid('server.host must be 1..253 chars')
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('server.port must be in 1..65535')
  return { host, port }
}

export function checkDevice(device: DeviceIdentity): DeviceIdentity {
  const keys = ['deviceModel', 'systemVersion', 'appVersion', 'systemLangCode', 'langCode', 'langPack'] as const
  for (const key of keys) {
    if (typeof device[key] !== 'string') throw invalid(`device.${key} must be a string`)
  }
  return {
    deviceModel: device.deviceModel,
    systemVersion: device.systemVersion,
    appVersion: device.appVersion,
    systemLangCode: device.systemLangCode,
    langCode: device.langCode,
    langPack: device.langPack,
  }
}

/** Reads a DeviceIdentity from untrusted JSON (a file or Redis written by someone else); null if malformed. */
export function parseDevice(value: unknown): DeviceIdentity | null {
  if (typeof value !== 'object' || value === null) return null
  const v = value as Record<string, unknown>
  const keys = ['deviceModel', 'systemVersion', 'appVersion', 'systemLangCode', 'langCode', 'langPack'] as const
  if (!keys.every((key) => typeof v[key] === 'string')) return null
  return checkDevice(v as unknown as DeviceIdentity)
}

/** Applies a save() patch to a state, validating every value. Returns a new state. */
export function applyPatch(state: SessionState, patch: SessionPatch, now = nowSeconds()): SessionState {
  const next: SessionState = { ...state, dcAuthKeys: new Map(state.dcAuthKeys) }
  if (patch.dcId !== undefined) next.dcId = checkDcId(patch.dcId)
  if (patch.apiId !== undefined) {
    if (patch.apiId !== null && (!Number.isInteger(patch.apiId) || patch.apiId < 0 || patch.apiId > 0xffffffff)) {
      throw invalid('apiId must be an unsigned 32-bit integer')
    }
    next.apiId = patch.apiId
  }
  if (patch.testMode !== undefined) next.testMode = Boolean(patch.testMode)
  if (patch.authKey !== undefined) next.authKey = checkAuthKey(patch.authKey)
  if (patch.userId !== undefined) {
    if (
      patch.userId !== null &&
      (typeof patch.userId !== 'bigint' || patch.userId < INT64_MIN || patch.userId > INT64_MAX)
    ) {
      throw invalid('userId must be a signed 64-bit bigint')
    }
    next.userId = patch.userId
  }
  if (patch.isBot !== undefined) next.isBot = patch.isBot === null ? null : Boolean(patch.isBot)
  if (patch.server !== undefined) next.server = patch.server === null ? null : checkServer(patch.server)
  if (patch.dcAuthKeys !== undefined) {
    next.dcAuthKeys = new Map()
    for (const [dc, key] of Object.entries(patch.dcAuthKeys ?? {})) {
      const dcId = checkDcId(Number(dc), 'dcAuthKeys id')
      next.dcAuthKeys.set(dcId, checkAuthKey(key, `dcAuthKeys[${dcId}]`))
    }
  }
  if (patch.device !== undefined) next.device = patch.device === null ? null : checkDevice(patch.device)
  const date = patch.date ?? now
  if (!Number.isSafeInteger(date) || date < 0) throw invalid('date must be non-negative unix seconds')
  next.date = date
  return next
}

/** The record view of a state; null while there is no auth key. */
export function stateToRecord(state: SessionState): SessionRecord | null {
  if (!state.authKey) return null
  const record: {
    -readonly [K in keyof SessionRecord]: SessionRecord[K]
  } = {
    dcId: state.dcId,
    apiId: state.apiId,
    testMode: state.testMode,
    authKey: Uint8Array.from(state.authKey),
    date: state.date,
    userId: state.userId,
    isBot: state.isBot,
  }
  if (state.server) record.server = { ...state.server }
  if (state.dcAuthKeys.size > 0) {
    const keys: Record<number, Uint8Array> = {}
    for (const [dc, key] of state.dcAuthKeys) keys[dc] = Uint8Array.from(key)
    record.dcAuthKeys = keys
  }
  if (state.device) record.device = { ...state.device }
  return record
}

/** The state a record describes (for engines that start from one, e.g. a session string). */
export function recordToState(record: SessionRecord): SessionState {
  return applyPatch(emptySessionState(), { ...record }, record.date)
}

export function normalizeUsername(username: string): string {
  return username.trim().replace(/^@/, '').toLowerCase()
}

export function checkPeer(peer: CachedPeer): CachedPeer {
  if (typeof peer.id !== 'bigint' || peer.id < INT64_MIN || peer.id > INT64_MAX)
    throw invalid('peer.id must be an int64 bigint')
  if (typeof peer.accessHash !== 'bigint' || peer.accessHash < INT64_MIN || peer.accessHash > INT64_MAX) {
    throw invalid('peer.accessHash must be an int64 bigint')
  }
  if (!isPeerType(peer.type)) throw invalid('peer.type is not a known peer type')
  const username = peer.username ? normalizeUsername(peer.username) : ''
  const phone = peer.phone ? phoneDigits(peer.phone) : ''
  return {
    id: peer.id,
    accessHash: peer.accessHash,
    type: peer.type,
    username: username || null,
    phone: phone || null,
  }
}

export function isUsernameFresh(updatedAt: number, now = nowSeconds()): boolean {
  return Math.abs(now - updatedAt) <= USERNAME_TTL_SECONDS
}
