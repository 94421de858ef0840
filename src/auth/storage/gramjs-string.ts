// GramJS's StringSession (telegram/sessions/StringSession.js): '1' + standard base64 of
// dc_id u8, address length u16 BE, address (text), port u16 BE, auth_key 256.
// GramJS writes and reads the port as a signed int16: a port above 32767 round-trips through us but GramJS itself
// would refuse to write it and read it back negative.
import type { StringCodec } from './string-codec.ts'
import { SessionStringError } from './errors.ts'
import { decodeBase64, encodeBase64 } from './base64.ts'
import { defaultDcAddress, isTestDcHost } from './pyrogram-dc-addresses.ts'
import { AUTH_KEY_LENGTH, type SessionRecord } from './session-storage.ts'

const VERSION = '1'
const FIXED_SIZE = 1 + 2 + 2 + AUTH_KEY_LENGTH
// GramJS's own reader takes a length above 100 for Telethon's raw IPv6 bytes; a real address is shorter anyway.
const MAX_ADDRESS_LENGTH = 100
const utf8 = new TextDecoder('utf-8', { fatal: true })

interface GramJsFields {
  readonly dcId: number
  readonly host: string
  readonly port: number
  readonly authKey: Uint8Array
}

function parse(bytes: Uint8Array): GramJsFields | null {
  if (bytes.length < FIXED_SIZE + 1) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const length = view.getUint16(1)
  if (length === 0 || length > MAX_ADDRESS_LENGTH || bytes.length !== FIXED_SIZE + length) return null
  let host: string
  try {
    host = utf8.decode(bytes.subarray(3, 3 + length))
  } catch {
    return null
  }
  if (!/^[\x21-\x7e]+$/.test(host)) return null // printable ASCII: an IP literal or a hostname
  return {
    dcId: view.getUint8(0),
    host,
    port: view.getUint16(3 + length),
    authKey: bytes.slice(5 + length),
  }
}

export function fitsGramJsLayout(bytes: Uint8Array): boolean {
  return parse(bytes) !== null
}

function exportGramJs(record: SessionRecord): string {
  if (record.dcId > 0xff) throw new SessionStringError('unsupported', 'a GramJS string holds DC ids up to 255')
  const server = record.server ?? defaultDcAddress(record.dcId, record.testMode)
  if (!server) throw new SessionStringError('unsupported', `no server address is known for DC ${record.dcId}`)
  const address = new TextEncoder().encode(server.host)
  if (address.length > MAX_ADDRESS_LENGTH)
    throw new SessionStringError('unsupported', 'the server address is too long for GramJS')
  if (record.authKey.length !== AUTH_KEY_LENGTH)
    throw new SessionStringError('layout', `auth key must be ${AUTH_KEY_LENGTH} bytes`)
  const bytes = new Uint8Array(FIXED_SIZE + address.length)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, record.dcId)
  view.setUint16(1, address.length)
  bytes.set(address, 3)
  view.setUint16(3 + address.length, server.port)
  bytes.set(record.authKey, 5 + address.length)
  return VERSION + encodeBase64(bytes)
}

function importGramJs(value: string): SessionRecord {
  const text = value.trim()
  if (text.length === 0) throw new SessionStringError('empty', 'the session string is empty')
  if (!text.startsWith(VERSION))
    throw new SessionStringError('version', 'a GramJS session string starts with version 1')
  const bytes = decodeBase64(text.slice(1))
  if (!bytes) throw new SessionStringError('encoding', 'the session string is not base64')
  const fields = parse(bytes)
  if (!fields) throw new SessionStringError('layout', 'the session string does not decode to the GramJS layout')
  if (fields.dcId === 0) throw new SessionStringError('layout', 'the session string names DC 0')
  if (fields.port === 0) throw new SessionStringError('layout', 'the session string names port 0')
  if (fields.authKey.every((b) => b === 0))
    throw new SessionStringError('no-auth-key', 'the session string holds no auth key')
  return {
    dcId: fields.dcId,
    apiId: null,
    testMode: isTestDcHost(fields.host),
    authKey: fields.authKey,
    date: 0,
    userId: null,
    isBot: null,
    server: { host: fields.host, port: fields.port },
  }
}

export const GramJsStringCodec: StringCodec = {
  format: 'gramjs',
  export: exportGramJs,
  import: importGramJs,
}
