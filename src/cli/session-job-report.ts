// The report of `sessions check` and `sessions harden`: every session with its state, as JSON and CSV (0600: it
// names phones), in the onboarding report's conventions (run-report.ts): snake_case keys, the same in JSON, CSV and
// `--json`; `state` is the state's name alone, failed(<reason>)'s reason and flood_wait(<seconds>)'s seconds split
// out. No secret is in it: a password set by harden is said to be set, never shown.
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { writePrivateFile } from '../foundation/private-file.ts'
import type { SessionRunOutcome, SessionRunRow } from '../farm/session-jobs.ts'
import type { AccountResult } from '../farm/coordinator.ts'
import { healthGroup, type SessionJobResult } from '../queue/session-job.ts'
import { reportPaths } from './output-paths.ts'
import { csvCell, splitState } from './run-report.ts'

export interface SessionReportRow {
  account: string
  kind: string
  session: string
  op: string
  state: string
  reason: string | null
  wait_s: number | null
  run_id: string
  user_id: string | null
  dc: number | null
  /** When the check (or harden) ran. */
  at: string | null
  duration_ms: number | null
  /** The Telegram error that decided the state, or the failure's cause chain (phones masked). */
  error: string | null
  /** restricted: `platform:reason` of each restriction reason, `; ` between them. */
  restriction_reasons: string | null
  frozen_since: string | null
  frozen_until: string | null
  appeal_url: string | null
  /** The session has no stored identity: it connected with the library's defaults. */
  default_identity: boolean | null
  /** harden: other authorizations found and terminated. */
  others_found: number | null
  others_terminated: number | null
  /** harden: when the others can be terminated (the session's first 24 hours). */
  reset_not_before: string | null
  /** harden: set, changed, kept or current_unknown. */
  password: string | null
  /** --relogin: the final state of the login that brought the session back, and its run. */
  relogin: string | null
  relogin_run: string | null
}

const iso = (ms: number | undefined): string | null => (ms !== undefined ? new Date(ms).toISOString() : null)
const isoSeconds = (s: number | undefined): string | null => (s !== undefined ? new Date(s * 1000).toISOString() : null)

function isResult(row: SessionRunRow): row is SessionJobResult {
  return row.state !== 'pending'
}

export function sessionReportRow(
  row: SessionRunRow,
  runId: string,
  relogin?: { result: AccountResult; runId: string },
): SessionReportRow {
  const { state, reason, waitS } = splitState(row.state)
  const r = isResult(row) ? row : undefined
  const h = r?.health
  const d = r?.hardening
  return {
    account: row.account,
    kind: row.kind,
    session: row.session,
    op: row.op,
    state,
    reason,
    wait_s: waitS,
    run_id: runId,
    user_id: h?.userId ?? null,
    dc: h?.dcId ?? null,
    at: iso(h?.checkedAt ?? d?.at),
    duration_ms: r ? r.finishedAt - r.startedAt : null,
    error: h?.error ?? d?.error ?? null,
    restriction_reasons: h?.restrictionReasons?.map((x) => `${x.platform}:${x.reason}`).join('; ') ?? null,
    frozen_since: isoSeconds(h?.frozen?.since),
    frozen_until: isoSeconds(h?.frozen?.until),
    appeal_url: h?.frozen?.appealUrl ?? null,
    default_identity: h ? h.defaultIdentity === true : null,
    others_found: d?.othersFound ?? null,
    others_terminated: d?.othersTerminated ?? null,
    reset_not_before: iso(d?.resetNotBefore),
    password: d?.password ?? null,
    relogin: relogin?.result.state ?? null,
    relogin_run: relogin?.runId ?? null,
  }
}

export interface SessionReport {
  readonly outcome: SessionRunOutcome
  /** --relogin's login results by account, and its run. */
  readonly relogin?: { readonly results: ReadonlyMap<string, AccountResult>; readonly runId: string }
}

export function sessionReportRows(report: SessionReport): SessionReportRow[] {
  const { outcome, relogin } = report
  return outcome.rows.map((row) => {
    const again = relogin?.results.get(row.account)
    return sessionReportRow(row, outcome.runId, again && relogin ? { result: again, runId: relogin.runId } : undefined)
  })
}

/** Sessions per state (`flood_wait(…)`, `failed(…)` grouped by name). */
export function sessionStateCounts(outcome: SessionRunOutcome): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of outcome.rows) counts[healthGroup(r.state)] = (counts[healthGroup(r.state)] ?? 0) + 1
  return counts
}

export function sessionReportJson(report: SessionReport): string {
  const { outcome } = report
  return `${JSON.stringify(
    {
      runId: outcome.runId,
      op: outcome.op,
      elapsedMs: outcome.elapsedMs,
      timedOut: outcome.timedOut,
      interrupted: outcome.interrupted,
      counts: sessionStateCounts(outcome),
      ...(report.relogin ? { reloginRunId: report.relogin.runId } : {}),
      sessions: sessionReportRows(report),
    },
    null,
    2,
  )}\n`
}

const CSV_COLUMNS: readonly (keyof SessionReportRow)[] = [
  'account',
  'kind',
  'session',
  'op',
  'state',
  'reason',
  'wait_s',
  'run_id',
  'user_id',
  'dc',
  'at',
  'duration_ms',
  'error',
  'restriction_reasons',
  'frozen_since',
  'frozen_until',
  'appeal_url',
  'default_identity',
  'others_found',
  'others_terminated',
  'reset_not_before',
  'password',
  'relogin',
  'relogin_run',
]

export function sessionReportCsv(report: SessionReport): string {
  const lines = sessionReportRows(report).map((row) => CSV_COLUMNS.map((c) => csvCell(row[c])).join(','))
  return `${[CSV_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`
}

/** Writes `<base>.json` and `<base>.csv` (0600). */
export async function writeSessionReport(report: SessionReport, base: string): Promise<{ json: string; csv: string }> {
  const paths = reportPaths(base)
  await mkdir(dirname(paths.json), { recursive: true })
  await writePrivateFile(paths.json, sessionReportJson(report))
  await writePrivateFile(paths.csv, sessionReportCsv(report))
  return paths
}
