// Session strings of Pyrogram, Telethon and GramJS: one codec per format, plus detection for strings of unknown
// origin (farms receive accounts exported from all three).
//
// Pyrogram (storage.py, current forks): urlsafe base64 without padding of big-endian
//   '>BI?256sQ?'  dc_id u8, api_id u32, test_mode bool, auth_key 256, user_id u64, is_bot bool  = 271 bytes, 362 chars
// and, read only, the legacy forms told apart by their length:
//   '>B?256sI?'   dc_id, test_mode, auth_key, user_id u32, is_bot  = 263 bytes, 351 chars
//   '>B?256sQ?'   dc_id, test_mode, auth_key, user_id u64, is_bot  = 267 bytes, 356 chars
// A Pyrogram string has no server address: the DC id alone names the server.
import { SessionStringError } from './errors.ts'
import { decodeBase64, encodeBase64Url } from './base64.ts'
import { AUTH_KEY_LENGTH, type SessionRecord } from './session-storage.ts'
import { TelethonStringCodec, fitsTelethonLayout } from './telethon-string.ts'
import { GramJsStringCodec, fitsGramJsLayout } from './gramjs-string.ts'
import type { SessionStringFormat, StringCodec } from './string-codec.ts'

export type { SessionStringFormat, StringCodec }

const CURRENT_SIZE = 271
const LEGACY_SIZE_32 = 263
const LEGACY_SIZE_64 = 267
const CURRENT_CHARS = 362
const LEGACY_CHARS_32 = 351
const LEGACY_CHARS_64 = 356
const PYROGRAM_LENGTHS: readonly number[] = [CURRENT_CHARS, LEGACY_CHARS_32, LEGACY_CHARS_64]
const UINT64_MAX = (1n << 64n) - 1n

export function isAllZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0)
}

function exportPyrogram(record: SessionRecord): string {
  if (record.dcId > 0xff) throw new SessionStringError('unsupported', 'a Pyrogram string holds DC ids up to 255')
  const userId = record.userId ?? 0n
  if (userId < 0n || userId > UINT64_MAX)
    throw new SessionStringError('unsupported', 'a Pyrogram string holds an unsigned user id')
  if (record.authKey.length !== AUTH_KEY_LENGTH)
    throw new SessionStringError('layout', `auth key must be ${AUTH_KEY_LENGTH} bytes`)
  const bytes = new Uint8Array(CURRENT_SIZE)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, record.dcId)
  view.setUint32(1, record.apiId ?? 0)
  view.setUint8(5, record.testMode ? 1 : 0)
  bytes.set(record.authKey, 6)
  view.setBigUint64(262, userId)
  view.setUint8(270, record.isBot ? 1 : 0)
  return encodeBase64Url(bytes, { padded: false })
}

function importPyrogram(value: string): SessionRecord {
  const text = value.trim()
  if (text.length === 0) throw new SessionStringError('empty', 'the session string is empty')
  const chars = text.replace(/=+$/, '').length
  if (!PYROGRAM_LENGTHS.includes(chars)) {
    throw new SessionStringError(
      'length',
      `a Pyrogram session string has 351, 356 or 362 characters, this one has ${chars}`,
    )
  }
  const bytes = decodeBase64(text)
  if (!bytes) throw new SessionStringError('encoding', 'the session string is not base64url')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let dcId: number
  let apiId: number | null = null
  let testMode: boolean
  let authKey: Uint8Array
  let userId: bigint
  let isBot: boolean
  if (bytes.length === CURRENT_SIZE) {
    dcId = view.getUint8(0)
    apiId = view.getUint32(1)
    testMode = view.getUint8(5) !== 0
    authKey = bytes.slice(6, 262)
    userId = view.getBigUint64(262)
    isBot = view.getUint8(270) !== 0
  } else if (bytes.length === LEGACY_SIZE_32 || bytes.length === LEGACY_SIZE_64) {
    dcId = view.getUint8(0)
    testMode = view.getUint8(1) !== 0
    authKey = bytes.slice(2, 258)
    userId = bytes.length === LEGACY_SIZE_32 ? BigInt(view.getUint32(258)) : view.getBigUint64(258)
    isBot = view.getUint8(bytes.length - 1) !== 0
  } else {
    throw new SessionStringError('layout', 'the session string does not decode to a Pyrogram layout')
  }
  if (dcId === 0) throw new SessionStringError('layout', 'the session string names DC 0')
  if (isAllZero(authKey)) throw new SessionStringError('no-auth-key', 'the session string holds no auth key')
  if (userId > (1n << 63n) - 1n)
    throw new SessionStringError('layout', 'the user id does not fit a signed 64-bit integer')
  return {
    dcId,
    apiId,
    testMode,
    authKey,
    date: 0, // a string carries no date; Pyrogram uses 0 too
    userId: userId === 0n ? null : userId,
    isBot,
  }
}

/** Pyrogram's session string (the current 271-byte form out; all three forms in). */
export const SessionStringCodec: StringCodec = {
  format: 'pyrogram',
  export: exportPyrogram,
  import: importPyrogram,
}

export { TelethonStringCodec, GramJsStringCodec }

export const SESSION_STRING_CODECS: Readonly<Record<SessionStringFormat, StringCodec>> = {
  pyrogram: SessionStringCodec,
  telethon: TelethonStringCodec,
  gramjs: GramJsStringCodec,
}

/**
 * Which tool wrote a string. Telethon and GramJS both start with version '1'; GramJS's length-prefixed address
 * is checked first because a GramJS string with a 14-character IPv4 is as long as a Telethon IPv6 one.
 */
export function detectSessionStringFormat(value: string): SessionStringFormat {
  const text = value.trim()
  if (text.length === 0) throw new SessionStringError('empty', 'the session string is empty')
  if (text.startsWith('1')) {
    const bytes = decodeBase64(text.slice(1))
    if (bytes && fitsGramJsLayout(bytes)) return 'gramjs'
    if (bytes && fitsTelethonLayout(bytes)) return 'telethon'
  }
  if (PYROGRAM_LENGTHS.includes(text.replace(/=+$/, '').length)) return 'pyrogram'
  throw new SessionStringError('length', `no known session string format has ${text.length} characters`)
}

/** Imports a Pyrogram, Telethon or GramJS string; `format` skips detection. */
export function importSessionString(value: string, format: SessionStringFormat | 'auto' = 'auto'): SessionRecord {
  if (typeof value !== 'string') throw new SessionStringError('empty', 'the session string is not a string')
  return SESSION_STRING_CODECS[format === 'auto' ? detectSessionStringFormat(value) : format].import(value)
}

export function exportSessionString(record: SessionRecord, format: SessionStringFormat = 'pyrogram'): string {
  return SESSION_STRING_CODECS[format].export(record)
}
