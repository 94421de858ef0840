// JSON accounts files: an array of objects, `kind: 'user' | 'bot' | 'qr'` plus per-account options (camelCase or
// the CSV's snake_case names); strings are taken exactly; `"password": ""` is an error (leave the field out when
// there is none).
import { botAccountKey } from '../../queue/except-ids-registry.ts'
import {
  IDENTITY_FIELDS,
  buildCommon,
  camel,
  checkBotToken,
  checkPassword,
  checkPhone,
  redactToken,
} from './account-fields.ts'
import type { AccountSpec } from './account-spec.ts'
import type { IssueCollector } from './accounts-issues.ts'
import { JsonSyntax, LocatingJsonParser, type JsonNode } from './locating-json-parser.ts'

/** JSON fields per kind (camelCase; the snake_case spelling is accepted too). */
const JSON_COMMON = ['proxy', ...IDENTITY_FIELDS]
const JSON_FIELDS: Record<AccountSpec['kind'], ReadonlySet<string>> = {
  user: new Set(['kind', 'phone', 'password', ...JSON_COMMON]),
  bot: new Set(['kind', 'token', ...JSON_COMMON]),
  qr: new Set(['kind', 'label', 'password', ...JSON_COMMON]),
}
/** Fields whose value must not appear in a message. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['password', 'token', 'apiHash', 'proxy'])

export function parseJson(c: IssueCollector, text: string, maxDepth: number): AccountSpec[] {
  let root: JsonNode
  try {
    root = new LocatingJsonParser(text, maxDepth).parse()
  } catch (err) {
    if (!(err instanceof JsonSyntax)) throw err
    c.add(err.line, 'syntax', `JSON: ${err.message}`)
    return []
  }
  if (root.t !== 'array') {
    c.add(root.line, 'syntax', 'the file must be a JSON array of account objects')
    return []
  }
  const out: AccountSpec[] = []
  for (const item of root.items) {
    const spec = jsonAccount(c, item)
    if (spec !== undefined) out.push(spec)
  }
  return out
}

function jsonAccount(c: IssueCollector, item: JsonNode): AccountSpec | undefined {
  const line = item.line
  if (item.t !== 'object') {
    c.add(line, 'syntax', 'each account must be a JSON object')
    return undefined
  }
  const values = new Map<string, { line: number; value: string }>()
  let failed = false
  const kindEntry = item.entries.find((e) => e.key === 'kind')
  const kind = kindEntry?.node.t === 'string' ? kindEntry.node.v : undefined
  if (kind !== 'user' && kind !== 'bot' && kind !== 'qr') {
    c.add(
      kindEntry?.line ?? line,
      kindEntry === undefined ? 'missing-field' : 'invalid-kind',
      `"kind" must be "user", "bot" or "qr"`,
      'kind',
    )
    return undefined
  }
  const allowed = JSON_FIELDS[kind]
  for (const { key, line: keyLine, node } of item.entries) {
    const name = camel(key)
    if (!allowed.has(name)) {
      c.add(keyLine, 'unknown-field', `unknown field "${key.slice(0, 40)}" for a ${kind} account`, key)
      failed = true
      continue
    }
    if (values.has(name) || (name === 'kind' && node !== kindEntry?.node)) {
      c.add(keyLine, 'duplicate-field', `field "${key}" is given twice`, key)
      failed = true
      continue
    }
    let value: string | undefined
    if (node.t === 'string') value = node.v
    else if (node.t === 'number' && name === 'apiId') value = String(node.v)
    else if (node.t === 'number' && name === 'phone') {
      c.add(keyLine, 'invalid-phone', 'phone must be a string (a number loses leading zeros and the +)', 'phone')
      failed = true
      continue
    }
    if (value === undefined) {
      const shown = SECRET_FIELDS.has(name) ? '' : ` (got ${node.t})`
      c.add(keyLine, 'invalid-field', `"${key}" must be a ${name === 'apiId' ? 'number' : 'string'}${shown}`, key)
      failed = true
      continue
    }
    values.set(name, { line: keyLine, value })
  }
  const at = (name: string): number => values.get(name)?.line ?? line
  const get = (name: string): string | undefined => values.get(name)?.value
  const common = buildCommon((code, msg, field) => c.add(at(camel(field)), code, msg, field), get)
  if (common === undefined) failed = true
  const source = { file: c.file, line }

  if (kind === 'user') {
    const phoneText = get('phone')
    if (phoneText === undefined) {
      // a phone of the wrong type was reported above
      if (!item.entries.some((e) => e.key === 'phone'))
        c.add(line, 'missing-field', 'a user account needs "phone"', 'phone')
      return undefined
    }
    const phone = checkPhone(phoneText)
    if (!phone.ok) {
      c.add(at('phone'), 'invalid-phone', phone.reason, 'phone')
      return undefined
    }
    const password = checkPassword(c, at('password'), get('password'))
    const unique = c.unique(line, `phone:${phone.value}`, `phone +${phone.value}`)
    if (failed || !unique || password === null || common === undefined) return undefined
    return { kind, phone: phone.value, ...(password !== undefined ? { password } : {}), ...common, source }
  }
  if (kind === 'bot') {
    const tokenText = get('token')
    if (tokenText === undefined) {
      if (!item.entries.some((e) => e.key === 'token'))
        c.add(line, 'missing-field', 'a bot account needs "token"', 'token')
      return undefined
    }
    const token = checkBotToken(tokenText)
    if (!token.ok) {
      c.add(at('token'), 'invalid-token', token.reason, 'token')
      return undefined
    }
    const unique = c.unique(line, botAccountKey(token.value), `bot token ${redactToken(token.value)}`)
    if (failed || !unique || common === undefined) return undefined
    return { kind, token: token.value, ...common, source }
  }
  const label = get('label')
  if (label !== undefined && (label.trim() === '' || label.length > 64)) {
    c.add(at('label'), 'invalid-field', 'label must be 1-64 characters', 'label')
    return undefined
  }
  const password = checkPassword(c, at('password'), get('password'))
  const unique = label === undefined || c.unique(line, `qr:${label}`, `QR label "${label}"`)
  if (failed || !unique || password === null || common === undefined) return undefined
  return {
    kind,
    ...(label !== undefined ? { label } : {}),
    ...(password !== undefined ? { password } : {}),
    ...common,
    source,
  }
}
