// The `.json` beside a session file, in the convention farms trade accounts in (TGConvertor / opentele): no spec,
// so we read every spelling seen in the wild and write the common one.
//   read:  app_id, app_hash, device | device_model, sdk | system_version, app_version, lang_pack, lang_code,
//          system_lang_pack | system_lang_code, phone, user_id | id | tg_id, twoFA | password | 2fa,
//          proxy (null, a URL or `host:port[:user:pass]` string, a Telethon tuple [type, host, port, rdns?, user,
//          pass], or an object {proxy_type|scheme, addr|host|hostname, port, username, password}),
//          is_bot, test_mode, dc_id, username, first_name.
//   write: the same keys (device/sdk/app_version/lang_pack/lang_code/system_lang_pack/system_lang_code, id and
//          user_id both, twoFA, proxy as a URL), plus session_file and our test_mode/dc_id.
// The sidecar carries secrets (app_hash, twoFA, proxy credentials): written 0600, never logged.
import { readFile } from 'node:fs/promises'
import type { DeviceIdentity } from '../auth/storage/index.ts'
import { parseProxyUrl, redactProxyUrl } from '../mtproto/transport/proxy-url.ts'
import { FarmError } from './farm-error.ts'

export class SidecarError extends FarmError {
  override readonly name = 'SidecarError'
}

export interface Sidecar {
  readonly apiId: number | null
  readonly apiHash: string | null
  /** Null when the sidecar names no device: the account would connect with the farm's default identity. */
  readonly device: DeviceIdentity | null
  readonly phone: string | null
  readonly userId: bigint | null
  readonly password: string | null
  /** A URL our transport takes (socks5://… or mtproxy://…). */
  readonly proxy: string | null
  readonly isBot: boolean | null
  readonly testMode: boolean | null
  readonly username: string | null
}

export const EMPTY_SIDECAR: Sidecar = {
  apiId: null,
  apiHash: null,
  device: null,
  phone: null,
  userId: null,
  password: null,
  proxy: null,
  isBot: null,
  testMode: null,
  username: null,
}

/** PySocks' proxy type numbers, as Telethon tuples carry them. */
const PYSOCKS_TYPES: Record<number, string> = { 1: 'socks4', 2: 'socks5', 3: 'http' }

function text(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim()
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return null
}

function first(o: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null && o[k] !== '') return o[k]
  return undefined
}

function bool(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v
  if (v === 1 || v === 0) return v === 1
  return null
}

function proxyUrl(type: string, host: string, port: string, user: string | null, pass: string | null): string {
  const scheme = type.toLowerCase().replace(/^socks5h$/, 'socks5')
  if (scheme !== 'socks5' && scheme !== 'mtproxy')
    throw new SidecarError(`proxy type ${type} is not supported (socks5 and MTProxy are)`)
  const auth = user !== null && pass !== null ? `${encodeURIComponent(user)}:${encodeURIComponent(pass)}@` : ''
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `${scheme}://${auth}${h}:${port}`
}

/** A sidecar's `proxy` value as a URL our transport takes; null when it names none. Throws on what we cannot use. */
export function parseSidecarProxy(value: unknown): string | null {
  if (value === null || value === undefined || value === '' || value === false) return null
  let url: string
  if (typeof value === 'string') {
    const s = value.trim()
    if (s.includes('://')) url = s
    else {
      const parts = s.split(':')
      if (parts.length !== 2 && parts.length !== 4)
        throw new SidecarError('proxy is neither a URL nor host:port[:user:pass]')
      url = proxyUrl('socks5', parts[0]!, parts[1]!, parts[2] ?? null, parts[3] ?? null)
    }
  } else if (Array.isArray(value)) {
    if (value.length < 3) throw new SidecarError('proxy tuple needs at least type, host and port')
    const [type, host, port, ...rest] = value as unknown[]
    // Telethon's tuple: (type, host, port, rdns, username, password); some tools leave rdns out.
    const creds = typeof rest[0] === 'boolean' ? rest.slice(1) : rest
    const kind = typeof type === 'number' ? PYSOCKS_TYPES[type] : text(type)
    if (!kind || text(host) === null || text(port) === null) throw new SidecarError('proxy tuple is malformed')
    url = proxyUrl(kind, text(host)!, text(port)!, text(creds[0]), text(creds[1]))
  } else if (typeof value === 'object') {
    const o = value as Record<string, unknown>
    const kind = text(first(o, 'proxy_type', 'scheme', 'type', 'protocol')) ?? 'socks5'
    const host = text(first(o, 'addr', 'host', 'hostname', 'server', 'ip'))
    const port = text(first(o, 'port'))
    if (host === null || port === null) throw new SidecarError('proxy object needs a host and a port')
    const kindName = /^\d+$/.test(kind) ? (PYSOCKS_TYPES[Number(kind)] ?? kind) : kind
    url = proxyUrl(
      kindName,
      host,
      port,
      text(first(o, 'username', 'user', 'login')),
      text(first(o, 'password', 'pass')),
    )
  } else throw new SidecarError('proxy is not a string, tuple or object')
  const parsed = parseProxyUrl(url)
  if (!parsed.ok) throw new SidecarError(parsed.reason)
  return url
}

/** The identity fields of a sidecar; missing language fields get an official app's defaults ('en'). */
function deviceOf(o: Record<string, unknown>): DeviceIdentity | null {
  const deviceModel = text(first(o, 'device', 'device_model'))
  const systemVersion = text(first(o, 'sdk', 'system_version'))
  const appVersion = text(first(o, 'app_version'))
  if (deviceModel === null && systemVersion === null && appVersion === null) return null
  if (deviceModel === null || systemVersion === null || appVersion === null)
    throw new SidecarError('identity is incomplete: device, sdk and app_version go together')
  return {
    deviceModel,
    systemVersion,
    appVersion,
    systemLangCode: text(first(o, 'system_lang_code', 'system_lang_pack')) ?? 'en-US',
    langCode: text(first(o, 'lang_code')) ?? 'en',
    langPack: text(first(o, 'lang_pack')) ?? '',
  }
}

export function parseSidecar(json: string): Sidecar {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    throw new SidecarError('not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SidecarError('not a JSON object')
  const o = value as Record<string, unknown>
  const apiIdText = text(first(o, 'app_id', 'api_id'))
  if (apiIdText !== null && !/^\d{1,10}$/.test(apiIdText)) throw new SidecarError('app_id is not a number')
  const apiHash = text(first(o, 'app_hash', 'api_hash'))
  if (apiHash !== null && !/^[0-9a-f]{32}$/i.test(apiHash)) throw new SidecarError('app_hash is not 32 hex digits')
  const userIdText = text(first(o, 'user_id', 'id', 'tg_id'))
  if (userIdText !== null && !/^[1-9]\d{0,18}$/.test(userIdText))
    throw new SidecarError('user id is not a positive integer')
  const phone = text(first(o, 'phone', 'phone_number'))
  const digits = phone?.replace(/\D/g, '') ?? ''
  if (phone !== null && (digits.length < 5 || digits.length > 15)) throw new SidecarError('phone is not a phone number')
  return {
    apiId: apiIdText === null ? null : Number(apiIdText),
    apiHash: apiHash?.toLowerCase() ?? null,
    device: deviceOf(o),
    phone: phone === null ? null : digits,
    userId: userIdText === null ? null : BigInt(userIdText),
    password: text(first(o, 'twoFA', 'twofa', '2fa', 'password')),
    proxy: parseSidecarProxy(o['proxy']),
    isBot: bool(o['is_bot']),
    testMode: bool(o['test_mode']),
    username: text(o['username']),
  }
}

/** The sidecar of `<dir>/<name>.session` (`<dir>/<name>.json`), or null when there is none. */
export async function readSidecarOf(sessionPath: string): Promise<{ path: string; sidecar: Sidecar } | null> {
  const path = sessionPath.replace(/(\.session)?$/, '.json')
  let json: string
  try {
    json = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  try {
    return { path, sidecar: parseSidecar(json) }
  } catch (err) {
    throw new SidecarError(`${path}: ${(err as Error).message}`, { cause: err })
  }
}

export interface SidecarFields {
  readonly sessionFile: string
  readonly dcId: number
  readonly testMode: boolean
  readonly apiId: number | null
  readonly apiHash: string | null
  readonly device: DeviceIdentity | null
  readonly phone: string | null
  readonly userId: bigint | null
  readonly isBot: boolean | null
  readonly password: string | null
  readonly proxy: string | null
}

/** The JSON we write beside an exported session (the common keys; null where unknown). */
export function sidecarJson(f: SidecarFields): string {
  const d = f.device
  const doc = {
    session_file: f.sessionFile,
    phone: f.phone,
    user_id: f.userId?.toString() ?? null,
    id: f.userId?.toString() ?? null,
    is_bot: f.isBot ?? false,
    app_id: f.apiId,
    app_hash: f.apiHash,
    device: d?.deviceModel ?? null,
    sdk: d?.systemVersion ?? null,
    app_version: d?.appVersion ?? null,
    lang_pack: d?.langPack ?? null,
    lang_code: d?.langCode ?? null,
    system_lang_pack: d?.systemLangCode ?? null,
    system_lang_code: d?.systemLangCode ?? null,
    twoFA: f.password,
    proxy: f.proxy,
    dc_id: f.dcId,
    test_mode: f.testMode,
  }
  return `${JSON.stringify(doc, null, 2)}\n`
}

export { redactProxyUrl }
