// Telethon's StringSession (telethon/sessions/string.py): '1' + urlsafe base64 (padded) of big-endian
// '>B{4|16}sH256s': dc_id u8, packed IPv4 or IPv6 address, port u16, auth_key 256 — 263 or 275 bytes.
import type { StringCodec } from './string-codec.ts'
import { SessionStringError } from './errors.ts'
import { decodeBase64, encodeBase64Url } from './base64.ts'
import { defaultDcAddress, isTestDcHost } from './pyrogram-dc-addresses.ts'
import { formatIp, packIp } from './ip-address.ts'
import { AUTH_KEY_LENGTH, type SessionRecord } from './session-storage.ts'

const VERSION = '1'
const IPV4_SIZE = 1 + 4 + 2 + AUTH_KEY_LENGTH
const IPV6_SIZE = 1 + 16 + 2 + AUTH_KEY_LENGTH

export function fitsTelethonLayout(bytes: Uint8Array): boolean {
  return bytes.length === IPV4_SIZE || bytes.length === IPV6_SIZE
}

function exportTelethon(record: SessionRecord): string {
  if (record.dcId > 0xff) throw new SessionStringError('unsupported', 'a Telethon string holds DC ids up to 255')
  const server = record.server ?? defaultDcAddress(record.dcId, record.testMode)
  if (!server) throw new SessionStringError('unsupported', `no server address is known for DC ${record.dcId}`)
  const ip = packIp(server.host)
  if (!ip) throw new SessionStringError('unsupported', 'a Telethon string holds an IP address, not a hostname')
  if (record.authKey.length !== AUTH_KEY_LENGTH)
    throw new SessionStringError('layout', `auth key must be ${AUTH_KEY_LENGTH} bytes`)
  const bytes = new Uint8Array(1 + ip.length + 2 + AUTH_KEY_LENGTH)
  const view = new DataView(bytes.buffer)
  view.setUint8(0, record.dcId)
  bytes.set(ip, 1)
  view.setUint16(1 + ip.length, server.port)
  bytes.set(record.authKey, 3 + ip.length)
  return VERSION + encodeBase64Url(bytes, { padded: true })
}

function importTelethon(value: string): SessionRecord {
  const text = value.trim()
  if (text.length === 0) throw new SessionStringError('empty', 'the session string is empty')
  if (!text.startsWith(VERSION))
    throw new SessionStringError('version', 'a Telethon session string starts with version 1')
  const bytes = decodeBase64(text.slice(1))
  if (!bytes) throw new SessionStringError('encoding', 'the session string is not base64')
  if (!fitsTelethonLayout(bytes)) {
    throw new SessionStringError(
      'length',
      `a Telethon session string decodes to ${IPV4_SIZE} or ${IPV6_SIZE} bytes, this one to ${bytes.length}`,
    )
  }
  const ipLength = bytes.length === IPV4_SIZE ? 4 : 16
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const dcId = view.getUint8(0)
  const host = formatIp(bytes.subarray(1, 1 + ipLength))
  const port = view.getUint16(1 + ipLength)
  const authKey = bytes.slice(3 + ipLength)
  if (dcId === 0) throw new SessionStringError('layout', 'the session string names DC 0')
  if (port === 0) throw new SessionStringError('layout', 'the session string names port 0')
  if (authKey.every((b) => b === 0)) throw new SessionStringError('no-auth-key', 'the session string holds no auth key')
  return {
    dcId,
    apiId: null,
    testMode: isTestDcHost(host),
    authKey,
    date: 0,
    userId: null,
    isBot: null,
    server: { host, port },
  }
}

export const TelethonStringCodec: StringCodec = {
  format: 'telethon',
  export: exportTelethon,
  import: importTelethon,
}
