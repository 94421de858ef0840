// One onboarding run end to end, as `gramfarm onboard|bots|qr` and the demo do it: enqueue, follow with a live
// progress bar, write the sessions and the report asked for, print the table (or JSON), and pick the exit code.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ServerAddress } from '../auth/storage/index.ts'
import type { AccountSpec } from './accounts-file.ts'
import { Coordinator, type EnqueuedRun, type RunOutcome } from './coordinator.ts'
import type { ExitCodeValue } from './exit-codes.ts'
import { ProgressBar } from './progress-bar.ts'
import { writeRunReport } from './run-report.ts'
import { exitCodeOf, formatSummary, type SummaryOptions } from './run-summary.ts'
import { deleteRedisSessions, exportSessions, sessionsOfResults, type ExportSummary } from './session-export.ts'

export interface OnboardingOptions {
  readonly runId?: string
  readonly label?: string
  readonly passwordProvider?: boolean
  readonly codeTimeoutMs?: number
  /** Stop following after this long (exit 4; the jobs stay queued). */
  readonly timeoutMs?: number
  readonly sessionsDir?: string
  readonly sessionsJson?: string
  /** Remove the sessions from Redis once written to files. */
  readonly dropRedisSessions?: boolean
  readonly serverOf?: (dcId: number) => ServerAddress | undefined
  /** `<base>.json` and `<base>.csv`. */
  readonly report?: string
  /** Print the outcome as JSON on stdout instead of the table. */
  readonly json?: boolean
  readonly summary?: SummaryOptions
  /** Live bar on stderr when it is a TTY (default true). */
  readonly progress?: boolean
  readonly signal?: AbortSignal
  /** Called once the jobs are queued (e.g. to start the QR display). */
  readonly onEnqueued?: (run: EnqueuedRun) => void
  readonly stdout?: NodeJS.WritableStream
  /** Where the progress bar and status lines go (default process.stderr; the bar only on a TTY). */
  readonly stderr?: NodeJS.WritableStream
}

export interface OnboardingResult {
  readonly outcome: RunOutcome
  readonly exitCode: ExitCodeValue
  readonly sessions?: ExportSummary
  readonly report?: { json: string; csv: string }
}

export async function runOnboarding(
  redis: Redis,
  prefix: string,
  specs: readonly AccountSpec[],
  opts: OnboardingOptions,
  logger?: Logger,
): Promise<OnboardingResult> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  const coordinator = new Coordinator({ redis, prefix, ...(logger ? { logger } : {}) })
  try {
    const run = await coordinator.enqueue(specs, {
      ...(opts.runId ? { runId: opts.runId } : {}),
      ...(opts.label ? { label: opts.label } : {}),
      ...(opts.passwordProvider !== undefined ? { passwordProvider: opts.passwordProvider } : {}),
      ...(opts.codeTimeoutMs !== undefined ? { codeTimeoutMs: opts.codeTimeoutMs } : {}),
    })
    if (!opts.json) {
      stderr.write(`run ${run.runId}: ${run.accounts.length} accounts queued` +
        `${run.attached > 0 ? ` (${run.attached} already queued by another run: followed, not queued again)` : ''}\n`)
    }
    opts.onEnqueued?.(run)
    const bar = new ProgressBar(stderr as NodeJS.WriteStream, 'onboarding ')
    const showBar = opts.progress !== false && bar.enabled && !opts.json
    const outcome = await coordinator.follow(run, {
      ...(showBar ? { onProgress: (p) => bar.update(p) } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    })
    if (showBar) bar.done()

    let sessions: ExportSummary | undefined
    if (opts.sessionsDir !== undefined || opts.sessionsJson !== undefined) {
      const refs = sessionsOfResults(outcome.results.filter((r) => r.state === 'authorized'))
      sessions = await exportSessions(redis, prefix, refs, {
        ...(opts.sessionsDir !== undefined ? { dir: opts.sessionsDir } : {}),
        ...(opts.sessionsJson !== undefined ? { json: opts.sessionsJson } : {}),
        ...(opts.serverOf ? { serverOf: opts.serverOf } : {}),
      })
      if (opts.dropRedisSessions) await deleteRedisSessions(redis, prefix, sessions.exported.map((e) => e.ref))
    }
    const report = opts.report !== undefined ? await writeRunReport(outcome, opts.report) : undefined
    const exitCode = exitCodeOf(outcome)
    if (opts.json) {
      stdout.write(`${JSON.stringify({
        runId: outcome.runId, exitCode, elapsedMs: outcome.elapsedMs, timedOut: outcome.timedOut, interrupted: outcome.interrupted,
        accounts: outcome.results.map((r) => ({ ...r, source: r.source ? `${r.source.file}:${r.source.line}` : undefined })),
        ...(sessions ? { sessions: { dir: sessions.dir, json: sessions.json, exported: sessions.exported.length, missing: sessions.missing.length } } : {}),
        ...(report ? { report } : {}),
      }, null, 2)}\n`)
    } else {
      stdout.write(`${formatSummary(outcome, opts.summary)}\n`)
      if (sessions) {
        const where = [sessions.dir ? `${sessions.dir}/*.session` : '', sessions.json ?? ''].filter(Boolean).join(' and ')
        stdout.write(`\nsessions: ${sessions.exported.length} written to ${where}${sessions.missing.length ? ` (${sessions.missing.length} missing from Redis)` : ''}\n`)
      }
      if (report) stdout.write(`report: ${report.json}, ${report.csv}\n`)
    }
    return { outcome, exitCode, ...(sessions ? { sessions } : {}), ...(report ? { report } : {}) }
  } finally {
    await coordinator.close()
  }
}
