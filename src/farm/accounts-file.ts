// Accounts files: what the operator hands the farm. Four formats —
//   phones TXT  one phone per line; `#` starts a comment; blank lines are fine   (accounts/txt-accounts.ts)
//   bots TXT    one bot token per line, same comments                           (accounts/txt-accounts.ts)
//   CSV         header with at least `phone` and per-account options            (accounts/csv-accounts.ts)
//   JSON        an array of objects with `kind` and per-account options         (accounts/json-accounts.ts)
// Every problem is collected (file, line, what is wrong) into one AccountsFileError: a file with any bad line
// yields no accounts at all, so a half-imported file never reaches the queue. Parsing is bounded (file size, JSON
// depth, issues kept). Secrets (tokens, passwords, proxy credentials, api_hash) are never echoed in a message.
import { open } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import type { AccountSpec, AccountsFileFormat } from './accounts/account-spec.ts'
import {
  AccountsFileError,
  DEFAULT_ACCOUNTS_LIMITS,
  IssueCollector,
  type AccountsFileLimits,
} from './accounts/accounts-issues.ts'
import { parseCsv } from './accounts/csv-accounts.ts'
import { parseJson } from './accounts/json-accounts.ts'
import { parseBotsTxt, parsePhonesTxt, txtLines } from './accounts/txt-accounts.ts'

export type {
  AccountSource,
  AccountSpec,
  AccountsFileFormat,
  BotAccountSpec,
  ClientIdentity,
  QrAccountSpec,
  UserAccountSpec,
} from './accounts/account-spec.ts'
export {
  AccountsFileError,
  DEFAULT_ACCOUNTS_LIMITS,
  type AccountsFileLimits,
  type AccountsIssue,
  type AccountsIssueCode,
} from './accounts/accounts-issues.ts'
export { checkBotToken, checkPhone, redactToken } from './accounts/account-fields.ts'

/** From the extension; a `.txt` (or anything else) is a bots file when its first entry looks like a token. */
export function detectFormat(fileName: string, text: string): AccountsFileFormat {
  const ext = extname(fileName).toLowerCase()
  if (ext === '.csv') return 'csv'
  if (ext === '.json') return 'json'
  const first = txtLines(text).next()
  return !first.done && /^\d+:/.test(first.value.value) ? 'bots' : 'phones'
}

export interface ParseAccountsOptions {
  /** Shown in issues; default `accounts`. */
  readonly file?: string
  /** Default: detectFormat(file, text). */
  readonly format?: AccountsFileFormat
  /** Default DEFAULT_ACCOUNTS_LIMITS; any field may be given alone. */
  readonly limits?: Partial<AccountsFileLimits>
}

function tooLarge(file: string, bytes: number, maxBytes: number): AccountsFileError {
  return new AccountsFileError(file, [
    { file, line: 0, code: 'too-large', message: `the file has ${bytes} bytes, more than the ${maxBytes} accepted` },
  ])
}

/** Every account in the text, or AccountsFileError with the first problems found and a count of the rest. */
export function parseAccounts(text: string, options: ParseAccountsOptions = {}): AccountSpec[] {
  const file = options.file ?? 'accounts'
  const limits = { ...DEFAULT_ACCOUNTS_LIMITS, ...options.limits }
  // A UTF-16 code unit is at least one byte of UTF-8: more units than bytes allowed is too large for sure.
  if (text.length > limits.maxBytes) throw tooLarge(file, Buffer.byteLength(text), limits.maxBytes)
  const body = text.replace(/^\uFEFF/, '') // a BOM from spreadsheet exports
  const format = options.format ?? detectFormat(file, body)
  const c = new IssueCollector(file, limits.maxIssues)
  const accounts =
    format === 'phones'
      ? parsePhonesTxt(c, body)
      : format === 'bots'
        ? parseBotsTxt(c, body)
        : format === 'csv'
          ? parseCsv(c, body)
          : parseJson(c, body, limits.maxDepth)
  if (c.count === 0 && accounts.length === 0) c.add(1, 'empty', 'no accounts in the file')
  if (c.count > 0) throw c.error()
  return accounts
}

/** Read and parse an accounts file; the file name (not the path) is used in issues. A file over the size limit
 * is refused before it is read. */
export async function loadAccountsFile(
  path: string,
  options: Omit<ParseAccountsOptions, 'file'> = {},
): Promise<AccountSpec[]> {
  const file = basename(path)
  const maxBytes = options.limits?.maxBytes ?? DEFAULT_ACCOUNTS_LIMITS.maxBytes
  let text: string
  try {
    const handle = await open(path, 'r')
    try {
      const { size } = await handle.stat()
      if (size > maxBytes) throw tooLarge(file, size, maxBytes)
      text = await handle.readFile('utf8')
    } finally {
      await handle.close()
    }
  } catch (err) {
    if (err instanceof AccountsFileError) throw err
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new AccountsFileError(file, [
      { file, line: 0, code: 'unreadable', message: `cannot read the file (${code})` },
    ])
  }
  return parseAccounts(text, { ...options, file })
}
