// Field checks shared by every accounts format: phones, bot tokens, passwords, proxies and the client identity.
// Secrets (tokens, passwords, proxy credentials, api_hash) are never echoed in a reason; a redacted form is shown.
import { bad, ok, type Checked } from '../../foundation/checked.ts'
import { MAX_PHONE_DIGITS, MIN_PHONE_DIGITS, normalizePhone } from '../../foundation/phone-number.ts'
import type { ProxyConfig } from '../../mtproto/transport/transport-connection.ts'
import { parseProxyUrl } from '../../mtproto/transport/proxy-url.ts'
import type { ClientIdentity } from './account-spec.ts'
import type { AccountsIssueCode, IssueCollector } from './accounts-issues.ts'

const BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{35}$/

/** `123456789:***` — the bot id is public, the rest is the secret. */
export function redactToken(token: string): string {
  const m = /^(\d{1,20}):/.exec(token.trim())
  return m !== null ? `${m[1]}:***` : `[redacted, ${token.trim().length} chars]`
}

/** `+99966 (123) 45-67` → `999661234567` (see normalizePhone), or why the text is not a phone number. */
export function checkPhone(input: string): Checked<string> {
  const raw = input.trim()
  if (raw.length === 0) return bad('phone is empty')
  if (raw.includes(':') && /[A-Za-z]/.test(raw)) return bad(`looks like a bot token (${redactToken(raw)}), not a phone`)
  if (/[A-Za-z]/.test(raw)) return bad('phone contains letters')
  const phone = normalizePhone(raw)
  if (phone !== null) return ok(phone)
  const shown = /^[\d\s()+-]{1,40}$/.test(raw) ? ` "${raw}"` : ''
  const digits = raw.replace(/^\+/, '').replace(/[\s()-]/g, '')
  if (!/^\d+$/.test(digits))
    return bad(`phone${shown} has characters other than digits, spaces, dashes, parentheses and a leading +`)
  return bad(`phone${shown} has ${digits.length} digits; E.164 needs ${MIN_PHONE_DIGITS}-${MAX_PHONE_DIGITS}`)
}

export function checkBotToken(input: string): Checked<string> {
  const token = input.trim()
  if (BOT_TOKEN.test(token)) return ok(token)
  return bad(`bot token ${redactToken(token)} is not <digits>:<35 characters of A-Z a-z 0-9 _ ->`)
}

const LANG_CODE = /^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$/i

/** Identity options, by their camelCase name. */
export const IDENTITY_FIELDS = [
  'apiId',
  'apiHash',
  'deviceModel',
  'systemVersion',
  'appVersion',
  'langCode',
  'systemLangCode',
] as const
type IdentityField = (typeof IDENTITY_FIELDS)[number]

function checkIdentityField(field: IdentityField, raw: string): Checked<string | number> {
  const v = raw.trim()
  switch (field) {
    case 'apiId':
      return /^\d{1,10}$/.test(v) && +v > 0 && +v <= 0x7fffffff
        ? ok(+v)
        : bad(`api_id "${v.slice(0, 20)}" is not a positive 32-bit integer`)
    case 'apiHash':
      return /^[0-9a-f]{32}$/i.test(v) ? ok(v.toLowerCase()) : bad('api_hash must be 32 hex characters')
    case 'langCode':
    case 'systemLangCode':
      return LANG_CODE.test(v)
        ? ok(v)
        : bad(`${snake(field)} "${v.slice(0, 20)}" is not a language code like en or pt-br`)
    default:
      if (v.length === 0 || v.length > 128 || /[\u0000-\u001f\u007f]/.test(v)) {
        return bad(`${snake(field)} must be 1-128 printable characters`)
      }
      return ok(v)
  }
}

export function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

export function camel(field: string): string {
  return field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
}

export type Report = (code: AccountsIssueCode, message: string, field: string) => void

/** Options shared by CSV rows and JSON objects (camelCase names), as strings. Undefined after an issue. */
export function buildCommon(
  report: Report,
  get: (field: string) => string | undefined,
): { proxy?: ProxyConfig; identity?: ClientIdentity } | undefined {
  let failed = false
  const out: { proxy?: ProxyConfig; identity?: ClientIdentity } = {}
  const proxyText = get('proxy')
  if (proxyText !== undefined) {
    const p = parseProxyUrl(proxyText)
    if (p.ok) out.proxy = p.value
    else {
      report('invalid-field', p.reason, 'proxy')
      failed = true
    }
  }
  const identity: Record<string, string | number> = {}
  for (const field of IDENTITY_FIELDS) {
    const raw = get(field)
    if (raw === undefined) continue
    const r = checkIdentityField(field, raw)
    if (r.ok) identity[field] = r.value
    else {
      report('invalid-field', r.reason, snake(field))
      failed = true
    }
  }
  if ((get('apiId') === undefined) !== (get('apiHash') === undefined)) {
    report(
      'missing-field',
      'api_id and api_hash go together: give both or neither',
      get('apiId') === undefined ? 'api_id' : 'api_hash',
    )
    failed = true
  }
  if (Object.keys(identity).length > 0) out.identity = identity as ClientIdentity
  return failed ? undefined : out
}

export function checkPassword(c: IssueCollector, line: number, raw: string | undefined): string | undefined | null {
  if (raw === undefined) return undefined
  if (raw === '') {
    // Taken as "no password" it would send the login to the code provider: say so instead.
    c.add(line, 'invalid-field', 'password is empty: leave it out when the account has none', 'password')
    return null
  }
  if (raw.length > 256) {
    c.add(line, 'invalid-field', 'password is longer than 256 characters', 'password')
    return null
  }
  return raw
}
