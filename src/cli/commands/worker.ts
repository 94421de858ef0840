// `gramfarm worker`: runs login steps for the whole farm until stopped (SIGINT/SIGTERM: the steps in progress
// finish, waiting logins stay in Redis for any other worker). Run as many as you like, on as many hosts.
import type { Command } from 'commander'
import { ExitCode } from '../exit-codes.ts'
import { parseSendCodeRate } from '../farm-config.ts'
import { action, flagsOf } from './command-kit.ts'

interface WorkerFlags {
  threads?: string
  concurrency?: string
  codeTimeout?: string
  recheck?: string
  lockMs?: string
  stalledMs?: string
  sendCodeRate?: string
  maxFloodWait?: string
  connectTimeout?: string
  handshakeTimeout?: string
  requestTimeout?: string
  metricsPort?: string
  sessionTtl?: string
  identity?: string
  startConcurrency?: string
  finishThreads?: string
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a farm worker: logs accounts in for every coordinator on this Redis, until stopped')
    .option('--threads <n>', 'piscina threads that start logins (default 2, or GRAMFARM_THREADS)')
    .option(
      '--finish-threads <n>',
      'threads of their own for the steps that finish logins (a code, password or QR scan arrived), never held behind key exchanges (default 1)',
    )
    .option('--concurrency <n>', 'login steps run at once (default 256)')
    .option(
      '--start-concurrency <n>',
      'logins started at once (key exchange + sendCode; default 8 per thread): the rest of --concurrency stays for steps that finish logins',
    )
    .option('--code-timeout <seconds>', 'how long a login waits for its code, password or QR scan (default 600)')
    .option('--recheck <seconds>', 'how long a waiting login sleeps before looking again unwoken (default 15)')
    .option(
      '--lock-ms <ms>',
      "BullMQ lock of a running step: a crashed worker's steps move on after about this long (default 60000)",
    )
    .option('--stalled-ms <ms>', "how often crashed workers' steps are looked for (default 30000)")
    .option(
      '--send-code-rate <rate>',
      'auth.sendCode pacing, <global/s>:<burst>,<per DC/s>:<burst> (default 1:10,0.5:5)',
    )
    .option(
      '--max-flood-wait <seconds>',
      'a longer FLOOD_WAIT ends the login as flood_wait(X) instead of delaying it (default 3600)',
    )
    .option('--connect-timeout <seconds>', "a login's TCP connect (and proxy handshake) to a DC (default 10)")
    .option('--handshake-timeout <seconds>', "each answer of a login's auth-key exchange (default 10)")
    .option(
      '--session-ttl <seconds>',
      'session records in Redis expire this long after their last write (default: kept until exported with --delete or deleted)',
    )
    .option(
      '--identity <choice>',
      'device identity of accounts at their first login: mix (default), mix:windows=2,android=1,…, desktop, android, ios, preset:<id>, library',
    )
    .option(
      '--metrics-port <n>',
      "serve this worker's own Prometheus metrics on http://127.0.0.1:<n>/metrics (0: the OS picks; the farm-wide ones are on `gramfarm serve`)",
    )
    .option(
      '--request-timeout <seconds>',
      'each call of a login, its wait for the connection included (default 30); past these the step is retried, and a job that never gets through ends failed(dc_unreachable) or failed(timeout)',
    )
    .addHelpText(
      'after',
      `
Logs go to stderr as JSON lines (pretty on a terminal). Against the local test DC: --testdc <endpoint file>.

Example:
  gramfarm worker --testdc out/testdc-endpoint.json --threads 2`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<WorkerFlags>(cmd)
        const [
          {
            aborted,
            cliLogger,
            configOf,
            interruptSignal,
            positiveInt,
            secondsOption,
            testDcEndpointOf,
            workerOptionsOf,
          },
          { describeRedisEndpoint, probeRedis },
          { startFarmWorker },
        ] = await Promise.all([
          import('../cli-context.ts'),
          import('../redis-access.ts'),
          import('../../worker/farm-worker.ts'),
        ])
        const codeTimeoutMs = secondsOption(flags.codeTimeout, '--code-timeout')
        const recheckMs = secondsOption(flags.recheck, '--recheck')
        const connectTimeoutMs = secondsOption(flags.connectTimeout, '--connect-timeout')
        const handshakeTimeoutMs = secondsOption(flags.handshakeTimeout, '--handshake-timeout')
        const requestTimeoutMs = secondsOption(flags.requestTimeout, '--request-timeout')
        const config = configOf(flags, {
          ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
          ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
          ...(codeTimeoutMs !== undefined ? { codeTimeoutMs } : {}),
          ...(recheckMs !== undefined ? { recheckMs } : {}),
          ...(flags.sendCodeRate !== undefined ? { sendCodeRate: flags.sendCodeRate } : {}),
          ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
          ...(handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs } : {}),
          ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
          ...(flags.sessionTtl !== undefined ? { sessionTtl: flags.sessionTtl } : {}),
          ...(flags.identity !== undefined ? { identity: flags.identity } : {}),
        })
        const logger = cliLogger(config.logLevel)
        const endpoint = testDcEndpointOf(config)
        const lockDurationMs = positiveInt(flags.lockMs, '--lock-ms')
        const stalledIntervalMs = positiveInt(flags.stalledMs, '--stalled-ms')
        const startConcurrency = positiveInt(flags.startConcurrency, '--start-concurrency')
        const finishThreads = positiveInt(flags.finishThreads, '--finish-threads')
        const maxFlood = secondsOption(flags.maxFloodWait, '--max-flood-wait')
        if (flags.sendCodeRate !== undefined) parseSendCodeRate(flags.sendCodeRate, '--send-code-rate')
        const metricsPort = flags.metricsPort === '0' ? 0 : positiveInt(flags.metricsPort, '--metrics-port')
        await probeRedis(config.redis)
        // Listening before the worker starts (and long before it says it is ready): a Ctrl-C that lands while it
        // starts, or just as "worker ready" is read, is a graceful stop, not the default kill.
        const interrupt = interruptSignal()
        const metricsModule = metricsPort !== undefined ? await import('../../worker/worker-metrics.ts') : undefined
        const metrics = metricsModule ? new metricsModule.WorkerMetrics() : undefined
        const metricsServer =
          metricsModule && metrics && metricsPort !== undefined
            ? await metricsModule.serveWorkerMetrics(metrics, metricsPort)
            : undefined
        const worker = await startFarmWorker({
          ...(metrics ? { metrics } : {}),
          ...workerOptionsOf(config, endpoint),
          ...(lockDurationMs ? { lockDurationMs } : {}),
          ...(stalledIntervalMs ? { stalledIntervalMs } : {}),
          ...(startConcurrency ? { startConcurrency } : {}),
          ...(finishThreads ? { finishThreads } : {}),
          ...(maxFlood ? { maxFloodWaitSeconds: Math.round(maxFlood / 1000) } : {}),
          logger,
        })
        logger.info(
          {
            redis: describeRedisEndpoint(config.redis),
            prefix: config.prefix,
            threads: config.threads,
            finishThreads: finishThreads ?? 1,
            concurrency: config.concurrency,
            network: endpoint ? `test DC (${config.testDcEndpointFile})` : 'Telegram',
            ...(metricsServer ? { metrics: `http://127.0.0.1:${metricsServer.port}/metrics` } : {}),
          },
          'worker ready',
        )
        await aborted(interrupt.signal)
        logger.info('worker stopping: finishing the steps in progress')
        await worker.close()
        await metricsServer?.close()
        logger.info('worker stopped')
        return ExitCode.ok
      }),
    )
}
