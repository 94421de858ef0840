// The run report: every account with its final state, as JSON (for programs) and CSV (for spreadsheets). No
// secret is in it (no code, password, token or auth key); phones are, so the files are written 0600.
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { AccountResult, RunOutcome } from '../farm/coordinator.ts'
import { reportPaths } from './output-paths.ts'
import { writePrivateFile } from '../foundation/private-file.ts'
import { countStates } from './run-summary.ts'

export interface ReportRow {
  account: string
  kind: string
  state: string
  userId: string | null
  dcId: number | null
  session: string | null
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
  file: string | null
  line: number | null
  note: string | null
}

export function reportRow(r: AccountResult): ReportRow {
  return {
    account: r.account,
    kind: r.kind,
    state: r.state,
    userId: r.userId ?? null,
    dcId: r.dcId ?? null,
    session: r.session ?? null,
    startedAt: r.startedAt !== undefined ? new Date(r.startedAt).toISOString() : null,
    finishedAt: r.finishedAt !== undefined ? new Date(r.finishedAt).toISOString() : null,
    durationMs: r.startedAt !== undefined && r.finishedAt !== undefined ? r.finishedAt - r.startedAt : null,
    file: r.source?.file ?? null,
    line: r.source?.line ?? null,
    note: r.note ?? null,
  }
}

export function reportJson(outcome: RunOutcome): string {
  const counts = Object.fromEntries([...countStates(outcome.results).byState].map(([state, row]) => [state, row.all]))
  return `${JSON.stringify({
    runId: outcome.runId,
    elapsedMs: outcome.elapsedMs,
    timedOut: outcome.timedOut,
    interrupted: outcome.interrupted,
    counts,
    accounts: outcome.results.map(reportRow),
  }, null, 2)}\n`
}

const CSV_COLUMNS: readonly (keyof ReportRow)[] = ['account', 'kind', 'state', 'userId', 'dcId', 'session', 'startedAt', 'finishedAt', 'durationMs', 'file', 'line', 'note']

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  let s = String(v)
  // A cell a spreadsheet would run as a formula is made text.
  if (/^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+$/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function reportCsv(outcome: RunOutcome): string {
  const header = CSV_COLUMNS.map((c) => c.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)).join(',')
  const lines = outcome.results.map((r) => {
    const row = reportRow(r)
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
