// What `onboard`, `bots` and `qr` share once their accounts are known: connect, optionally run a worker in this
// process, enqueue, follow, write sessions and report (loaded only when one of them runs: --help stays fast).
import { keyringFromSpec } from '../../foundation/master-key-source.ts'
import type { RedisClient } from '../../queue/redis-connection.ts'
import {
  AccountsFileError,
  loadAccountsFile,
  type AccountSpec,
  type AccountsFileFormat,
} from '../../farm/accounts-file.ts'
import {
  cliLogger,
  configOf,
  connectRedis,
  interruptSignal,
  positiveInt,
  secondsOption,
  serverOfEndpoint,
  testDcEndpointOf,
  workerOptionsOf,
  type GlobalFlags,
} from '../cli-context.ts'
import { Coordinator } from '../../farm/coordinator.ts'
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.ts'
import { outputPathsOf, runOnboarding, type OnboardingOptions } from '../onboarding.ts'
import { checkOutputPaths } from '../output-paths.ts'
import { RedisWatch } from '../redis-watch.ts'
import { startFarmWorker, type FarmWorker } from '../../worker/farm-worker.ts'
import type { RunFlags } from './command-kit.ts'

/** Loads and validates an accounts file; AccountsFileError becomes exit 2 with its issues listed (the first ones and a count of the rest). */
export async function loadAccountsOrExit(
  path: string,
  format: AccountsFileFormat | undefined,
  json: boolean | undefined,
): Promise<AccountSpec[]> {
  try {
    return await loadAccountsFile(path, format ? { format } : {})
  } catch (err) {
    if (!(err instanceof AccountsFileError)) throw err
    if (json)
      process.stdout.write(
        `${JSON.stringify({ error: 'invalid accounts file', file: err.file, issues: err.issues, ...(err.omitted > 0 ? { moreIssues: err.omitted } : {}) }, null, 2)}\n`,
      )
    throw new CliError(`${err.message}\nnothing was enqueued`, ExitCode.usage)
  }
}

/** Enqueue `specs` and follow them to the end, per the run flags (shared by onboard, bots and qr). */
export async function executeRun(
  specs: readonly AccountSpec[],
  flags: RunFlags & GlobalFlags,
  extra: Pick<OnboardingOptions, 'label' | 'onEnqueued'> = {},
  hooks: { afterConnect?: (redis: RedisClient, prefix: string) => Promise<() => Promise<void>> } = {},
): Promise<ExitCodeValue> {
  const redisTimeoutMs = secondsOption(flags.redisTimeout, '--redis-timeout')
  const config = configOf(flags, redisTimeoutMs !== undefined ? { redisTimeoutMs } : {})
  const logger = cliLogger(config.logLevel)
  const endpoint = testDcEndpointOf(config)
  const codeTimeoutMs = secondsOption(flags.codeTimeout, '--code-timeout')
  const timeoutMs = secondsOption(flags.timeout, '--timeout')
  const threads = positiveInt(flags.threads, '--threads')
  // Before Redis (and any login): a path the run could not write would fail only once every login ran.
  if (flags.wait !== false) await checkOutputPaths(outputPathsOf(flags))
  const redis = await connectRedis(config, { name: 'gramfarm-coordinator' })
  let worker: FarmWorker | undefined
  let stopHook: (() => Promise<void>) | undefined
  const interrupt = interruptSignal()
  try {
    if (flags.wait === false) {
      const coordinator = new Coordinator({
        redis,
        prefix: config.prefix,
        logger,
        sealer: keyringFromSpec(config.keyring),
      })
      const watch = new RedisWatch(redis, {
        giveUpAfterMs: config.redisTimeoutMs,
        lostMessage: (ms) =>
          `Redis has not answered for ${Math.round(ms / 1000)} s: gave up enqueueing; the jobs queued so far stay queued`,
      })
      try {
        const run = await Promise.race([
          watch.lost,
          coordinator.enqueue(specs, {
            ...(flags.runId ? { runId: flags.runId } : {}),
            ...(extra.label ? { label: extra.label } : {}),
            ...(flags.passwordProvider === false ? { passwordProvider: false } : {}),
            ...(codeTimeoutMs !== undefined ? { codeTimeoutMs } : {}),
          }),
        ])
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ runId: run.runId, accounts: run.accounts.length, added: run.added, attached: run.attached })}\n`
            : `${run.runId}\n`,
        )
        return ExitCode.ok
      } finally {
        watch.stop()
        if (!watch.hasGivenUp) await coordinator.close()
      }
    }
    if (flags.withWorker) {
      // The bar and the worker's per-login info lines would fight over stderr: the worker says only warnings then.
      const workerLogger =
        process.stderr.isTTY && !flags.json && config.logLevel === 'info' ? logger.child({}, { level: 'warn' }) : logger
      worker = await startFarmWorker({
        ...workerOptionsOf(config, endpoint),
        ...(threads ? { threads } : {}),
        logger: workerLogger,
      })
    }
    if (hooks.afterConnect) stopHook = await hooks.afterConnect(redis, config.prefix)
    const serverOf = serverOfEndpoint(endpoint)
    const result = await runOnboarding(
      redis,
      config.prefix,
      specs,
      {
        sealer: keyringFromSpec(config.keyring),
        ...(flags.runId ? { runId: flags.runId } : {}),
        ...(extra.label ? { label: extra.label } : {}),
        ...(extra.onEnqueued ? { onEnqueued: extra.onEnqueued } : {}),
        ...(flags.passwordProvider === false ? { passwordProvider: false } : {}),
        ...(codeTimeoutMs !== undefined ? { codeTimeoutMs } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        redisTimeoutMs: config.redisTimeoutMs,
        ...(flags.sessionsDir !== undefined ? { sessionsDir: flags.sessionsDir } : {}),
        ...(flags.sessionsJson !== undefined ? { sessionsJson: flags.sessionsJson } : {}),
        ...(flags.dropRedisSessions ? { dropRedisSessions: true } : {}),
        ...(serverOf ? { serverOf } : {}),
        ...(flags.report !== undefined ? { report: flags.report } : {}),
        ...(flags.json ? { json: true } : {}),
        summary: { ...(flags.rows ? { rows: flags.rows } : {}), ...(flags.showPhones ? { showPhones: true } : {}) },
        signal: interrupt.signal,
      },
      logger,
    )
    return result.exitCode
  } finally {
    interrupt.dispose()
    await stopHook?.()
    await worker?.close()
    redis.disconnect()
  }
}
