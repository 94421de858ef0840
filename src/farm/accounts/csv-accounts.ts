// CSV accounts files: a header with at least `phone`; optional password, proxy, api_id, api_hash, device_model,
// system_version, app_version, lang_code, system_lang_code; RFC 4180 quoting; `,` `;` or tab.
// Unquoted cells are trimmed, except that a password with blanks around it is an error (quote it to keep them
// exactly): trimming would change it silently. An empty cell is an absent option. A line starting with `#` is a
// comment before the header, and after it when the first column is `phone` (no phone starts with `#`); otherwise
// it is a record like any other (a password may start with `#`), so a would-be comment there is reported, never
// skipped silently.
import { buildCommon, checkPassword, checkPhone, snake } from './account-fields.ts'
import type { AccountSpec } from './account-spec.ts'
import type { IssueCollector } from './accounts-issues.ts'

const CSV_COLUMNS: ReadonlySet<string> = new Set([
  'phone',
  'password',
  'proxy',
  'api_id',
  'api_hash',
  'device_model',
  'system_version',
  'app_version',
  'lang_code',
  'system_lang_code',
])

interface CsvRecord {
  readonly line: number
  readonly fields: string[]
  /** Per field: unquoted, with blanks trimmed off. */
  readonly trimmed: boolean[]
}

/** The first line that is neither blank nor a comment, found without splitting the whole text into lines. */
function firstRecordLine(text: string): string {
  const end = /\r\n|\r|\n/g
  let from = 0
  while (from <= text.length) {
    const m = end.exec(text)
    const l = text.slice(from, m === null ? text.length : m.index)
    if (l.trim() !== '' && !l.startsWith('#')) return l
    if (m === null) return ''
    from = end.lastIndex
  }
  return ''
}

function detectDelimiter(firstLine: string): string {
  const counts = [',', ';', '\t'].map((d) => [d, firstLine.split(d).length] as const)
  counts.sort((a, b) => b[1] - a[1])
  return (counts[0] as readonly [string, number])[0]
}

/** RFC 4180 records with their starting line; quoted fields may hold delimiters, `""` and newlines. */
function csvRecords(c: IssueCollector, text: string): CsvRecord[] {
  const records: CsvRecord[] = []
  const firstLine = firstRecordLine(text)
  const delim = detectDelimiter(firstLine)
  // After the header, `#` lines are comments only where no record can start with `#` (see the file's header).
  let hashComments = false
  let i = 0
  let line = 1
  while (i < text.length) {
    // record start: skip blank lines and whole-line comments
    if (text[i] === '\n' || text[i] === '\r') {
      if (text[i] === '\r' && text[i + 1] === '\n') i++
      i++
      line++
      continue
    }
    if (text[i] === '#' && (records.length === 0 || hashComments)) {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++
      continue
    }
    const start = line
    const fields: string[] = []
    const trimmed: boolean[] = []
    let broken = false
    for (;;) {
      let value = ''
      let cut = false
      let j = i
      while (text[j] === ' ' || (text[j] === '\t' && delim !== '\t')) j++ // blanks before an opening quote
      if (text[j] === '"') {
        i = j + 1
        for (;;) {
          if (i >= text.length) {
            c.add(start, 'syntax', 'a quoted field is never closed')
            return records
          }
          const ch = text[i] as string
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"'
              i += 2
              continue
            }
            i++
            break
          }
          if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++
          value += ch
          i++
        }
        // after the closing quote only a delimiter or the end of the record may follow
        let trailing = ''
        while (i < text.length && text[i] !== delim && text[i] !== '\n' && text[i] !== '\r') trailing += text[i++]
        if (trailing.trim() !== '') broken = true
      } else {
        while (i < text.length && text[i] !== delim && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') broken = true
          value += text[i++]
        }
        cut = value !== value.trim()
        value = value.trim()
      }
      fields.push(value)
      trimmed.push(cut)
      if (text[i] === delim) {
        i++
        continue
      }
      break // end of line or of text
    }
    if (broken) c.add(start, 'syntax', 'stray quote: quote the whole field and double the quotes inside it')
    else {
      records.push({ line: start, fields, trimmed })
      if (records.length === 1) hashComments = fields[0]?.trim().toLowerCase() === 'phone'
    }
  }
  return records
}

export function parseCsv(c: IssueCollector, text: string): AccountSpec[] {
  const records = csvRecords(c, text)
  const header = records.shift()
  if (header === undefined) return []
  const columns = header.fields.map((f) => f.trim().toLowerCase())
  const index = new Map<string, number>()
  columns.forEach((col, at) => {
    if (!CSV_COLUMNS.has(col)) {
      c.add(
        header.line,
        'unknown-column',
        `unknown column "${col.slice(0, 40)}" (known: ${[...CSV_COLUMNS].join(', ')})`,
        col,
      )
    } else if (index.has(col)) c.add(header.line, 'duplicate-column', `column "${col}" appears twice`, col)
    else index.set(col, at)
  })
  if (!index.has('phone')) {
    c.add(header.line, 'missing-column', 'the header has no "phone" column', 'phone')
    return []
  }
  const out: AccountSpec[] = []
  for (const rec of records) {
    if (rec.fields.length !== columns.length) {
      c.add(rec.line, 'field-count', `${rec.fields.length} fields, the header has ${columns.length}`)
      continue
    }
    const get = (name: string): string | undefined => {
      const at = index.get(snake(name))
      if (at === undefined) return undefined
      const v = rec.fields[at] as string
      return v === '' ? undefined : v // an empty cell is an absent option
    }
    const phone = checkPhone(get('phone') ?? '')
    if (!phone.ok) c.add(rec.line, 'invalid-phone', phone.reason, 'phone')
    const passwordAt = index.get('password')
    const padded = passwordAt !== undefined && rec.trimmed[passwordAt] === true
    if (padded)
      c.add(
        rec.line,
        'invalid-field',
        'password has blanks around it: quote the cell to keep them exactly, or remove them',
        'password',
      )
    const password = padded ? null : checkPassword(c, rec.line, get('password'))
    const common = buildCommon((code, msg, field) => c.add(rec.line, code, msg, field), get)
    // a duplicate is reported even when the row has other problems: one pass shows everything
    const unique = phone.ok && c.unique(rec.line, `phone:${phone.value}`, `phone +${phone.value}`)
    if (!phone.ok || !unique || password === null || common === undefined) continue
    out.push({
      kind: 'user',
      phone: phone.value,
      ...(password !== undefined ? { password } : {}),
      ...common,
      source: { file: c.file, line: rec.line },
    })
  }
  return out
}
