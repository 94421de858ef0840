// The run report: every account with its final state, as JSON (for programs) and CSV (for spreadsheets). No
// secret is in it (no code, password, token or auth key); phones are, so the files are written 0600.
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { AccountResult, RunOutcome } from '../farm/coordinator.ts'
import { reportPaths } from './output-paths.ts'
import { writePrivateFile } from '../foundation/private-file.ts'
import { countStates } from './run-summary.ts'

/**
 * One account's row, the same in the JSON report, the CSV report and `--json` output: snake_case keys a script
 * can read from either. `state` is the state's name alone; what it packs in parentheses is split out: the
 * reason of failed(<reason>) and the seconds of flood_wait(<seconds>).
 */
export interface ReportRow {
  account: string
  kind: string
  state: string
  /** Why: failed(<reason>)'s reason; null for every other state. */
  reason: string | null
  /** flood_wait(<seconds>)'s seconds: how long Telegram asked to wait before trying this account again. */
  wait_s: number | null
  job_id: string
  /** The run whose job this account's login was (this run, or the one it followed). */
  run_id: string
  user_id: string | null
  dc: number | null
  session: string | null
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
  /** The message of the error that ended the login (phones masked), when one did. */
  error: string | null
  file: string | null
  line: number | null
  note: string | null
}

/** `failed(dc_unreachable)` → state failed, reason dc_unreachable; `flood_wait(120)` → flood_wait, 120 s. */
export function splitState(packed: string): { state: string; reason: string | null; waitS: number | null } {
  const m = /^([a-z_]+)\((.*)\)$/s.exec(packed)
  if (!m) return { state: packed, reason: null, waitS: null }
  const [, state, inner] = m as unknown as [string, string, string]
  if (state === 'flood_wait' && /^\d+$/.test(inner)) return { state, reason: null, waitS: Number(inner) }
  return { state, reason: inner, waitS: null }
}

/** The report row of one result; `runId` is the run reported on (rows followed in another run name that one). */
export function reportRow(r: AccountResult, runId: string): ReportRow {
  const { state, reason, waitS } = splitState(r.state)
  return {
    account: r.account,
    kind: r.kind,
    state,
    reason,
    wait_s: waitS,
    job_id: r.jobId,
    run_id: r.runId ?? runId,
    user_id: r.userId ?? null,
    dc: r.dcId ?? null,
    session: r.session ?? null,
    started_at: r.startedAt !== undefined ? new Date(r.startedAt).toISOString() : null,
    finished_at: r.finishedAt !== undefined ? new Date(r.finishedAt).toISOString() : null,
    duration_ms: r.startedAt !== undefined && r.finishedAt !== undefined ? r.finishedAt - r.startedAt : null,
    error: r.error ?? null,
    file: r.source?.file ?? null,
    line: r.source?.line ?? null,
    note: r.note ?? null,
  }
}

export function reportJson(outcome: RunOutcome): string {
  const counts = Object.fromEntries([...countStates(outcome.results).byState].map(([state, row]) => [state, row.all]))
  return `${JSON.stringify(
    {
      runId: outcome.runId,
      elapsedMs: outcome.elapsedMs,
      timedOut: outcome.timedOut,
      interrupted: outcome.interrupted,
      counts,
      accounts: outcome.results.map((r) => reportRow(r, outcome.runId)),
    },
    null,
    2,
  )}\n`
}

const CSV_COLUMNS: readonly (keyof ReportRow)[] = [
  'account',
  'kind',
  'state',
  'reason',
  'wait_s',
  'job_id',
  'run_id',
  'user_id',
  'dc',
  'session',
  'started_at',
  'finished_at',
  'duration_ms',
  'error',
  'file',
  'line',
  'note',
]

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  let s = String(v)
  // A cell a spreadsheet would run as a formula is made text.
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+$/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function reportCsv(outcome: RunOutcome): string {
  const header = CSV_COLUMNS.join(',')
  const lines = outcome.results.map((r) => {
    const row = reportRow(r, outcome.runId)
    return CSV_COLUMNS.map((c) => csvCell(row[c])).join(',')
  })
  return `${[header, ...lines].join('\r\n')}\r\n`
}

/** Writes `<base>.json` and `<base>.csv` (a given .json/.csv extension is dropped first). */
export async function writeRunReport(outcome: RunOutcome, base: string): Promise<{ json: string; csv: string }> {
  const paths = reportPaths(base)
  await mkdir(dirname(paths.json), { recursive: true })
  await writePrivateFile(paths.json, reportJson(outcome))
  await writePrivateFile(paths.csv, reportCsv(outcome))
  return paths
}
