// Plain-text accounts files: one phone (phones TXT) or one bot token (bots TXT) per line; `#` starts a comment and
// blank lines are fine.
// One bot is one account whatever its token: a second token of the same bot is a duplicate line.
import { botAccountKey } from '../../queue/except-ids-registry.ts'
import { checkBotToken, checkPhone, redactToken } from './account-fields.ts'
import type { AccountSpec } from './account-spec.ts'
import type { IssueCollector } from './accounts-issues.ts'

/** Non-blank lines without their comments, one at a time (a huge file is never split into an array of lines). */
export function* txtLines(text: string): Generator<{ line: number; value: string }> {
  const end = /\r\n|\r|\n/g
  let line = 1
  let from = 0
  while (from <= text.length) {
    const m = end.exec(text)
    const to = m === null ? text.length : m.index
    const value = text.slice(from, to).replace(/#.*$/, '').trim() // neither phones nor tokens contain '#'
    if (value !== '') yield { line, value }
    if (m === null) return
    from = end.lastIndex
    line++
  }
}

export function parsePhonesTxt(c: IssueCollector, text: string): AccountSpec[] {
  const out: AccountSpec[] = []
  for (const { line, value } of txtLines(text)) {
    const phone = checkPhone(value)
    if (!phone.ok) c.add(line, 'invalid-phone', phone.reason, 'phone')
    else if (c.unique(line, `phone:${phone.value}`, `phone +${phone.value}`)) {
      out.push({ kind: 'user', phone: phone.value, source: { file: c.file, line } })
    }
  }
  return out
}

export function parseBotsTxt(c: IssueCollector, text: string): AccountSpec[] {
  const out: AccountSpec[] = []
  for (const { line, value } of txtLines(text)) {
    const token = checkBotToken(value)
    if (!token.ok) c.add(line, 'invalid-token', token.reason, 'token')
    else if (c.unique(line, botAccountKey(token.value), `bot token ${redactToken(token.value)}`)) {
      out.push({ kind: 'bot', token: token.value, source: { file: c.file, line } })
    }
  }
  return out
}
