// One `sessions check` or `sessions harden` run end to end: pick the sessions, enqueue their jobs, follow them,
// (check --relogin) log the bad ones in again and check those once more, write the report, print the table or
// JSON, and pick the exit code: 0 every session checked (a check's states are its findings) or hardened/deferred,
// 1 some harden did not get done, 4 timed out (the jobs stay queued), 130 interrupted.
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import type { Sealer } from '../foundation/sealed-value.ts'
import { maskPhone } from '../foundation/logger.ts'
import { listRedisSessions, type SessionRef } from '../farm/session-export.ts'
import { SessionJobCoordinator, type SessionRunOutcome } from '../farm/session-jobs.ts'
import { reloginCandidates, reloginSessions } from '../farm/session-relogin.ts'
import type { HardenOptions, SessionJobOp, SessionJobResult } from '../queue/session-job.ts'
import { ExitCode, type ExitCodeValue } from './exit-codes.ts'
import { checkOutputPaths, reportPaths } from './output-paths.ts'
import { textTable } from './run-summary.ts'
import {
  sessionReportJson,
  sessionReportRows,
  sessionStateCounts,
  writeSessionReport,
  type SessionReport,
  type SessionReportRow,
} from './session-job-report.ts'

export interface SessionJobRunOptions {
  readonly op: SessionJobOp
  /** Only these accounts (phones however written, bot<id>, QR labels); every session when absent. */
  readonly accounts?: readonly string[]
  readonly sealer?: Sealer
  readonly harden?: HardenOptions
  /** harden: the new 2FA password (generated per account when absent). */
  readonly password?: string
  /** check: log the sessions that went bad in again, keeping their identity. */
  readonly relogin?: boolean
  readonly report?: string
  readonly json?: boolean
  readonly showPhones?: boolean
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  readonly stdout?: NodeJS.WritableStream
  readonly stderr?: NodeJS.WritableStream
}

export interface SessionJobRunResult {
  readonly report: SessionReport
  readonly exitCode: ExitCodeValue
  readonly files?: { json: string; csv: string }
}

/** Whether `value` names this session: the account as written, or a phone however people write phones. */
export function namesSession(ref: SessionRef, value: string): boolean {
  if (ref.account === value) return true
  return ref.kind === 'user' && /^\+?[\d\s().-]+$/.test(value) && ref.account === value.replace(/\D/g, '')
}

/** What a row says besides its state, for the table. */
function detailOf(r: SessionReportRow): string {
  const parts: string[] = []
  if (r.reason) parts.push(r.reason)
  if (r.wait_s !== null) parts.push(`wait ${r.wait_s} s`)
  if (r.restriction_reasons) parts.push(r.restriction_reasons)
  if (r.frozen_until) parts.push(`deleted ${r.frozen_until.slice(0, 10)} unless appealed`)
  if (r.others_found !== null) parts.push(`others ${r.others_terminated ?? 0}/${r.others_found} terminated`)
  if (r.reset_not_before) parts.push(`reset from ${r.reset_not_before.replace('T', ' ').slice(0, 16)}`)
  if (r.password) parts.push(`2FA ${r.password}`)
  if (r.default_identity) parts.push('default identity!')
  if (r.relogin) parts.push(`relogin ${r.relogin}`)
  return parts.join(', ')
}

export async function runSessionJobs(
  redis: RedisClient,
  prefix: string,
  opts: SessionJobRunOptions,
  logger?: Logger,
): Promise<SessionJobRunResult> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  if (opts.report !== undefined)
    await checkOutputPaths({
      files: Object.values(reportPaths(opts.report)).map((path) => ({ option: '--report', path })),
    })
  let refs = await listRedisSessions(redis, prefix)
  if (opts.accounts !== undefined) {
    const wanted = opts.accounts
    refs = refs.filter((r) => wanted.some((a) => namesSession(r, a)))
  }
  const coordinator = new SessionJobCoordinator({
    redis,
    prefix,
    ...(opts.sealer ? { sealer: opts.sealer } : {}),
    ...(logger ? { logger } : {}),
  })
  let outcome: SessionRunOutcome
  let relogin: SessionReport['relogin']
  try {
    const run = await coordinator.enqueue(refs, opts.op, {
      ...(opts.harden ? { harden: opts.harden } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
    })
    const follow = {
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }
    outcome = await coordinator.follow(run, follow)
    if (opts.op === 'check' && opts.relogin && !outcome.timedOut && !outcome.interrupted) {
      const bad = reloginCandidates(outcome.rows.filter((r): r is SessionJobResult => r.state !== 'pending'))
      if (bad.length > 0) {
        stderr.write(`gramfarm: logging ${bad.length} bad session${bad.length === 1 ? '' : 's'} in again\n`)
        const again = await reloginSessions(redis, prefix, bad, {
          ...(opts.sealer ? { sealer: opts.sealer } : {}),
          ...(logger ? { logger } : {}),
          follow,
        })
        if (again.runId !== undefined) relogin = { results: again.results, runId: again.runId }
        // The sessions that came back are checked again, so their stored health is their new one.
        const back = refs.filter((r) => again.results.get(r.account)?.state === 'authorized')
        if (back.length > 0) {
          const recheck = await coordinator.follow(await coordinator.enqueue(back, 'check'), follow)
          const fresh = new Map(recheck.rows.map((r) => [r.account, r]))
          outcome = { ...outcome, rows: outcome.rows.map((r) => fresh.get(r.account) ?? r) }
        }
      }
    }
  } finally {
    await coordinator.close()
  }
  const report: SessionReport = { outcome, ...(relogin ? { relogin } : {}) }
  const files = opts.report !== undefined ? await writeSessionReport(report, opts.report) : undefined
  if (opts.json) stdout.write(sessionReportJson(report))
  else {
    const rows = sessionReportRows(report)
    const table = textTable(
      ['account', 'state', 'detail'],
      rows.map((r) => [r.kind === 'user' && !opts.showPhones ? maskPhone(r.account) : r.account, r.state, detailOf(r)]),
    )
    const counts = Object.entries(sessionStateCounts(outcome))
      .map(([s, n]) => `${s} ${n}`)
      .join('  ')
    stdout.write(
      `${rows.length > 0 ? `${table}\n` : ''}${opts.op} ${outcome.runId}: ${rows.length} session${rows.length === 1 ? '' : 's'}${counts ? `  (${counts})` : ''}\n` +
        (files ? `report: ${files.json}, ${files.csv}\n` : ''),
    )
  }
  const done = (s: string): boolean => (opts.op === 'check' ? s !== 'pending' : s === 'hardened' || s === 'deferred')
  const exitCode = outcome.interrupted
    ? ExitCode.interrupted
    : outcome.timedOut
      ? ExitCode.timedOut
      : outcome.rows.every((r) => done(r.state))
        ? ExitCode.ok
        : ExitCode.accountsFailed
  return { report, exitCode, ...(files ? { files } : {}) }
}
