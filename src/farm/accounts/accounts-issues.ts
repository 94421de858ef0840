// Problems found in an accounts file, collected (file, line, what is wrong) into one AccountsFileError: a file
// with any bad line yields no accounts at all, so a half-imported file never reaches the queue. Bounded: the
// first `maxIssues` are kept and the rest only counted, so a huge file of bad lines costs a counter, not memory.
import { FarmError } from '../farm-error.ts'

export type AccountsIssueCode =
  | 'unreadable'
  | 'too-large'
  | 'empty'
  | 'syntax'
  | 'missing-column'
  | 'unknown-column'
  | 'duplicate-column'
  | 'field-count'
  | 'missing-field'
  | 'unknown-field'
  | 'duplicate-field'
  | 'invalid-kind'
  | 'invalid-phone'
  | 'invalid-token'
  | 'invalid-field'
  | 'duplicate'

export interface AccountsIssue {
  readonly file: string
  readonly line: number
  readonly code: AccountsIssueCode
  /** The column / field concerned, if any. */
  readonly field?: string
  readonly message: string
}

/** What parsing one file may cost. */
export interface AccountsFileLimits {
  /** Largest file read, in bytes (default 64 MiB: a million accounts with options fit). */
  readonly maxBytes: number
  /** Deepest JSON nesting (default 32; an accounts file needs 3: array, object, value). */
  readonly maxDepth: number
  /** Issues kept and shown (default 20); the rest are counted. */
  readonly maxIssues: number
}

export const DEFAULT_ACCOUNTS_LIMITS: AccountsFileLimits = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxIssues: 20 }

export class AccountsFileError extends FarmError {
  override readonly name = 'AccountsFileError'
  constructor(
    readonly file: string,
    /** The first issues found (at most the limit's maxIssues), by line. */
    readonly issues: readonly AccountsIssue[],
    /** Issues found beyond those, counted only. */
    readonly omitted = 0,
  ) {
    const total = issues.length + omitted
    const shown = issues.map((i) => `  ${i.file}:${i.line}: ${i.message}`)
    if (omitted > 0) shown.push(`  … and ${omitted} more`)
    super(`${file}: ${total} problem${total === 1 ? '' : 's'}, nothing loaded\n${shown.join('\n')}`)
  }
}

export class IssueCollector {
  readonly issues: AccountsIssue[] = []
  /** Issues past the limit: counted, not kept. */
  omitted = 0
  private readonly seen = new Map<string, number>()
  constructor(
    readonly file: string,
    private readonly maxIssues: number = DEFAULT_ACCOUNTS_LIMITS.maxIssues,
  ) {}

  get count(): number {
    return this.issues.length + this.omitted
  }

  add(line: number, code: AccountsIssueCode, message: string, field?: string): void {
    if (this.issues.length >= this.maxIssues) {
      this.omitted++
      return
    }
    this.issues.push({ file: this.file, line, code, message, ...(field !== undefined ? { field } : {}) })
  }

  /** False (and an issue) when `key` was already seen. `shown` is the redacted form for the message. */
  unique(line: number, key: string, shown: string): boolean {
    const first = this.seen.get(key)
    if (first === undefined) {
      this.seen.set(key, line)
      return true
    }
    this.add(line, 'duplicate', `duplicate ${shown}, first on line ${first}`)
    return false
  }

  error(): AccountsFileError {
    return new AccountsFileError(
      this.file,
      [...this.issues].sort((a, b) => a.line - b.line),
      this.omitted,
    )
  }
}
