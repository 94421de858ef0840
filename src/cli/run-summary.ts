// What a finished run looks like to the operator: counts per final state and kind, the table printed at the end,
// and the exit code the run earns.
import { ExitCode, type ExitCodeValue } from './exit-codes.ts'
import { stateGroup, type AccountResult, type RunOutcome } from '../farm/coordinator.ts'
import { maskPhone } from '../foundation/logger.ts'

/** Final states in the order the table shows them. */
export const STATE_ORDER = [
  'authorized',
  'duplicate',
  'needs_password',
  'password_invalid',
  'phone_invalid',
  'banned',
  'unregistered',
  'code_timeout',
  'flood_wait',
  'failed',
  'pending',
] as const

/** States that count as success: the account is (or already was) logged in by the farm. */
export function isSuccess(state: string): boolean {
  return state === 'authorized' || state === 'duplicate'
}

export interface StateCounts {
  readonly total: number
  /** state group → kind → count */
  readonly byState: ReadonlyMap<string, Readonly<Record<'user' | 'bot' | 'qr' | 'all', number>>>
}

export function countStates(results: readonly AccountResult[]): StateCounts {
  const byState = new Map<string, Record<'user' | 'bot' | 'qr' | 'all', number>>()
  for (const r of results) {
    const g = stateGroup(r.state)
    const row = byState.get(g) ?? { user: 0, bot: 0, qr: 0, all: 0 }
    row[r.kind]++
    row.all++
    byState.set(g, row)
  }
  const ordered = new Map([...byState].sort((a, b) => rank(a[0]) - rank(b[0])))
  return { total: results.length, byState: ordered }
}

function rank(group: string): number {
  const i = (STATE_ORDER as readonly string[]).indexOf(group)
  return i < 0 ? STATE_ORDER.length : i
}

/** 0 all done, 1 some accounts not logged in, 4 the run did not finish in time, 130 interrupted. */
export function exitCodeOf(outcome: RunOutcome): ExitCodeValue {
  if (outcome.interrupted) return ExitCode.interrupted
  if (outcome.timedOut) return ExitCode.timedOut
  return outcome.results.every((r) => isSuccess(r.state)) ? ExitCode.ok : ExitCode.accountsFailed
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n)
}

/** A plain text table: a header, a rule, rows. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => pad(c, widths[i] ?? 0, rightAligned.has(i)))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** The account as shown: phones masked unless `showPhones`. */
export function shownAccount(r: Pick<AccountResult, 'account' | 'kind'>, showPhones: boolean): string {
  return r.kind === 'user' && !showPhones ? maskPhone(r.account) : r.account
}

export interface SummaryOptions {
  /** Per-account rows: all, only those not logged in, or none. Default: all up to 40 accounts, else problems. */
  readonly rows?: 'all' | 'problems' | 'none'
  /** At most this many per-account rows (default 40). */
  readonly maxRows?: number
  readonly showPhones?: boolean
}

/** The final table: counts per state and kind, then per-account rows. */
export function formatSummary(outcome: RunOutcome, opts: SummaryOptions = {}): string {
  const counts = countStates(outcome.results)
  const kinds = (['user', 'bot', 'qr'] as const).filter((k) => outcome.results.some((r) => r.kind === k))
  const countRows = [...counts.byState].map(([state, row]) => [
    state,
    ...kinds.map((k) => String(row[k])),
    String(row.all),
  ])
  countRows.push([
    'total',
    ...kinds.map((k) => String(outcome.results.filter((r) => r.kind === k).length)),
    String(counts.total),
  ])
  const right = new Set(kinds.map((_, i) => i + 1).concat(kinds.length + 1))
  const out = [
    `run ${outcome.runId}: ${counts.total} accounts in ${(outcome.elapsedMs / 1000).toFixed(1)} s${outcome.timedOut ? ' (timed out: pending accounts stay queued)' : ''}${outcome.interrupted ? ' (interrupted: pending accounts stay queued)' : ''}`,
    '',
    textTable(['state', ...kinds.map((k) => `${k}s`), 'all'], countRows, right),
  ]
  const mode = opts.rows ?? (outcome.results.length <= 40 ? 'all' : 'problems')
  if (mode !== 'none') {
    const chosen = mode === 'all' ? outcome.results : outcome.results.filter((r) => !isSuccess(r.state))
    const max = opts.maxRows ?? 40
    if (chosen.length > 0) {
      const rows = chosen
        .slice(0, max)
        .map((r) => [
          shownAccount(r, opts.showPhones ?? false),
          r.kind,
          r.state,
          r.userId ?? '',
          r.dcId !== undefined ? String(r.dcId) : '',
          r.startedAt !== undefined && r.finishedAt !== undefined
            ? `${((r.finishedAt - r.startedAt) / 1000).toFixed(1)} s`
            : '',
          r.source ? `${r.source.file}:${r.source.line}` : '',
        ])
      out.push('', mode === 'problems' ? 'accounts not logged in:' : 'accounts:')
      out.push(textTable(['account', 'kind', 'state', 'user id', 'dc', 'took', 'from'], rows, new Set([4, 5])))
      if (chosen.length > max) out.push(`… and ${chosen.length - max} more (see the report: --report)`)
    }
  }
  return out.join('\n')
}
