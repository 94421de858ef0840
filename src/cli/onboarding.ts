// One onboarding run end to end, as `gramfarm onboard|bots|qr` and the demo do it: enqueue, follow with a live
// progress bar, write the sessions and the report asked for, print the table (or JSON), and pick the exit code.
// Output paths are checked before anything is enqueued; a file that still cannot be written after the run (disk
// full, permissions changed) is reported after the table as exit 6, the results staying in Redis.
import type { Sealer } from '../foundation/sealed-value.ts'
import { warnOnceIfClear } from '../foundation/master-key-source.ts'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import type { ServerAddress } from '../auth/storage/index.ts'
import type { AccountSpec } from '../farm/accounts-file.ts'
import { Coordinator, type EnqueuedRun, type RunOutcome } from '../farm/coordinator.ts'
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.ts'
import { checkOutputPaths, describeWriteError, reportPaths, type OutputPaths } from './output-paths.ts'
import { DEFAULT_REDIS_TIMEOUT_MS } from './farm-config.ts'
import { ProgressBar } from './progress-bar.ts'
import { RedisWatch } from './redis-watch.ts'
import { reportRow, writeRunReport } from './run-report.ts'
import { exitCodeOf, formatSummary, type SummaryOptions } from './run-summary.ts'
import { deleteRedisSessions, exportSessions, sessionsOfResults, type ExportSummary } from '../farm/session-export.ts'
import { farmWorkers } from '../farm/worker-presence.ts'

export interface OnboardingOptions {
  readonly runId?: string
  /** The farm's keyring: seals the vault, opens sealed sessions for export (absent: clear). */
  readonly sealer?: Sealer
  readonly label?: string
  readonly passwordProvider?: boolean
  readonly codeTimeoutMs?: number
  /** Stop following after this long (exit 4; the jobs stay queued). */
  readonly timeoutMs?: number
  /** Give up on a Redis that has not answered for this long (exit 3; the jobs stay queued). */
  readonly redisTimeoutMs?: number
  /** Say on stderr that Redis is not answering after this long (default 5 s). */
  readonly redisWarnAfterMs?: number
  /** Say on stderr that no worker is connected to the queue once none has been for this long (default 3 s). */
  readonly noWorkerNoticeMs?: number
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

interface WrittenOutputs {
  readonly sessions?: ExportSummary
  readonly report?: { json: string; csv: string }
  /** Why a file could not be written (a filesystem error's message), when one could not. */
  readonly failure?: string
}

/** Sessions and report, as asked; a filesystem error stops the writing and is returned, anything else thrown. */
async function writeOutputs(
  redis: RedisClient,
  prefix: string,
  outcome: RunOutcome,
  opts: OnboardingOptions,
): Promise<WrittenOutputs> {
  let sessions: ExportSummary | undefined
  let doing = ''
  try {
    if (opts.sessionsDir !== undefined || opts.sessionsJson !== undefined) {
      doing = 'the sessions'
      const refs = sessionsOfResults(outcome.results.filter((r) => r.state === 'authorized'))
      sessions = await exportSessions(
        redis,
        prefix,
        refs,
        {
          ...(opts.sessionsDir !== undefined ? { dir: opts.sessionsDir } : {}),
          ...(opts.sessionsJson !== undefined ? { json: opts.sessionsJson } : {}),
          ...(opts.serverOf ? { serverOf: opts.serverOf } : {}),
        },
        opts.sealer,
      )
      if (opts.dropRedisSessions)
        await deleteRedisSessions(
          redis,
          prefix,
          sessions.exported.map((e) => e.ref),
        )
    }
    doing = 'the report'
    const report = opts.report !== undefined ? await writeRunReport(outcome, opts.report) : undefined
    return { ...(sessions ? { sessions } : {}), ...(report ? { report } : {}) }
  } catch (err) {
    const why = describeWriteError(err)
    if (why === null) throw err
    return { ...(sessions ? { sessions } : {}), failure: `could not write ${doing}: ${why}` }
  }
}

/** Output paths of a run (sessions dir and file, report files), for checkOutputPaths. */
export function outputPathsOf(opts: Pick<OnboardingOptions, 'sessionsDir' | 'sessionsJson' | 'report'>): OutputPaths {
  return {
    dirs: opts.sessionsDir !== undefined ? [{ option: '--sessions-dir', path: opts.sessionsDir }] : [],
    files: [
      ...(opts.sessionsJson !== undefined ? [{ option: '--sessions-json', path: opts.sessionsJson }] : []),
      ...(opts.report !== undefined
        ? Object.values(reportPaths(opts.report)).map((path) => ({ option: '--report', path }))
        : []),
    ],
  }
}

/** How long closing the coordinator's queue may take once the run is over. */
const CLOSE_GRACE_MS = 5_000

/** How often the workers' heartbeats are looked at while none is alive. */
const WORKER_LOOK_MS = 1_000
const DEFAULT_NO_WORKER_NOTICE_MS = 3_000

/**
 * Says (once) when no worker's heartbeat has been alive for `afterMs` after the jobs were queued — the run would
 * otherwise wait in silence — and again when one is. Looks every second until a worker is seen.
 */
function watchForWorkers(
  redis: RedisClient,
  prefix: string,
  afterMs: number,
  say: (line: string, warning: string) => void,
): () => void {
  const since = Date.now()
  let warned = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const look = async (): Promise<void> => {
    let count: number | null
    try {
      count = (await farmWorkers(redis, prefix)).alive.length
    } catch {
      count = null // Redis trouble is RedisWatch's to report
    }
    if (stopped) return
    if (count !== null && count > 0) {
      if (warned) say(`gramfarm: a worker connected (${count} now); the run goes on`, 'worker_connected')
      return
    }
    if (!warned && Date.now() - since >= afterMs) {
      warned = true
      say(
        `gramfarm: no worker is connected to the queue (no worker heartbeat in Redis): the jobs wait until one starts (\`gramfarm worker\` with the same --redis-url and --prefix, or --with-worker)`,
        'no_worker',
      )
    }
    timer = setTimeout(() => void look(), WORKER_LOOK_MS)
    timer.unref()
  }
  void look()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}

const seconds = (ms: number): string => String(Math.round(ms / 1000))
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref())

export async function runOnboarding(
  redis: RedisClient,
  prefix: string,
  specs: readonly AccountSpec[],
  opts: OnboardingOptions,
  logger?: Logger,
): Promise<OnboardingResult> {
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  await checkOutputPaths(outputPathsOf(opts))
  const coordinator = new Coordinator({
    redis,
    prefix,
    ...(logger ? { logger } : {}),
    ...(opts.sealer ? { sealer: opts.sealer } : {}),
  })
  const bar = new ProgressBar(stderr as NodeJS.WriteStream, 'onboarding ')
  const showBar = opts.progress !== false && bar.enabled && !opts.json
  const say = (line: string): void => {
    if (showBar) bar.clear()
    stderr.write(`${line}\n`)
  }
  // Said once, at start: a farm without a master key keeps its secrets in Redis in clear.
  if (opts.sealer) warnOnceIfClear(opts.sealer, (m) => say(`gramfarm: warning: ${m}`))
  let runId = opts.runId
  const limitMs = opts.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS
  const watch = new RedisWatch(redis, {
    giveUpAfterMs: limitMs,
    ...(opts.redisWarnAfterMs !== undefined ? { warnAfterMs: opts.redisWarnAfterMs } : {}),
    onDown: (ms) =>
      say(
        `gramfarm: Redis has not answered for ${seconds(ms)} s; waiting for it (giving up after ${seconds(limitMs)} s, --redis-timeout)`,
      ),
    onBack: (ms) => say(`gramfarm: Redis answers again (after ${seconds(ms)} s)`),
    lostMessage: (ms) =>
      `Redis has not answered for ${seconds(ms)} s: gave up ${runId ? `following run ${runId}` : 'enqueueing'}. ` +
      `The jobs queued so far stay queued; once Redis is back, workers carry on${runId ? ` and \`gramfarm status --run ${runId}\` shows the run` : ''}`,
  })
  const stop = new AbortController()
  const stopFollowing = stop.signal

  const enqueueAndFollow = async (): Promise<OnboardingResult> => {
    const run = await coordinator.enqueue(specs, {
      ...(opts.runId ? { runId: opts.runId } : {}),
      ...(opts.label ? { label: opts.label } : {}),
      ...(opts.passwordProvider !== undefined ? { passwordProvider: opts.passwordProvider } : {}),
      ...(opts.codeTimeoutMs !== undefined ? { codeTimeoutMs: opts.codeTimeoutMs } : {}),
    })
    if (!opts.json) {
      stderr.write(
        `run ${run.runId}: ${run.accounts.length} accounts queued` +
          `${run.attached > 0 ? ` (${run.attached} already queued by another run: followed, not queued again)` : ''}\n`,
      )
    }
    runId = run.runId
    opts.onEnqueued?.(run)
    // Under --json a script reads stderr too: the notice is a JSON line there.
    const stopWatching = watchForWorkers(
      redis,
      prefix,
      opts.noWorkerNoticeMs ?? DEFAULT_NO_WORKER_NOTICE_MS,
      (line, warning) =>
        opts.json
          ? stderr.write(`${JSON.stringify({ warning, runId: run.runId, message: line.replace(/^gramfarm: /, '') })}\n`)
          : say(line),
    )
    let outcome: RunOutcome
    try {
      outcome = await coordinator.follow(run, {
        ...(showBar ? { onProgress: (p) => bar.update(p) } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        signal: opts.signal ? AbortSignal.any([opts.signal, stopFollowing]) : stopFollowing,
      })
    } finally {
      stopWatching()
    }
    if (showBar) bar.done()
    if (watch.hasGivenUp) return watch.lost // Redis came back too late: the run was already given up on

    // The table comes first whatever happens to the files: every login already ran, and the operator should see it.
    const { sessions, report, failure } = await writeOutputs(redis, prefix, outcome, opts)
    const exitCode = exitCodeOf(outcome)
    if (opts.json) {
      stdout.write(
        `${JSON.stringify(
          {
            runId: outcome.runId,
            exitCode: failure ? ExitCode.outputFailed : exitCode,
            elapsedMs: outcome.elapsedMs,
            timedOut: outcome.timedOut,
            interrupted: outcome.interrupted,
            accounts: outcome.results.map((r) => reportRow(r, outcome.runId)),
            ...(sessions
              ? {
                  sessions: {
                    dir: sessions.dir,
                    json: sessions.json,
                    exported: sessions.exported.length,
                    missing: sessions.missing.length,
                  },
                }
              : {}),
            ...(report ? { report } : {}),
            ...(failure ? { outputError: failure } : {}),
          },
          null,
          2,
        )}\n`,
      )
    } else {
      stdout.write(`${formatSummary(outcome, opts.summary)}\n`)
      if (sessions) {
        const where = [sessions.dir ? `${sessions.dir}/*.session` : '', sessions.json ?? '']
          .filter(Boolean)
          .join(' and ')
        stdout.write(
          `\nsessions: ${sessions.exported.length} written to ${where}${sessions.missing.length ? ` (${sessions.missing.length} missing from Redis)` : ''}\n`,
        )
      }
      if (report) stdout.write(`report: ${report.json}, ${report.csv}\n`)
    }
    if (failure) {
      throw new CliError(
        `${failure}\nnothing is lost: the results stay in Redis for 7 days (\`gramfarm status --run ${outcome.runId} --json\`), ` +
          `and so do the sessions (\`gramfarm sessions export --run ${outcome.runId} --dir <dir>\`)`,
        ExitCode.outputFailed,
      )
    }
    return { outcome, exitCode, ...(sessions ? { sessions } : {}), ...(report ? { report } : {}) }
  }

  try {
    return await Promise.race([enqueueAndFollow(), watch.lost])
  } finally {
    watch.stop()
    stop.abort()
    if (watch.hasGivenUp && showBar) bar.done() // the message of the error goes below the bar
    // With Redis gone, closing the queue would wait for it: the process is ending anyway.
    await Promise.race([coordinator.close(), delay(watch.hasGivenUp ? 0 : CLOSE_GRACE_MS)])
  }
}
