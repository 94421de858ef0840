// `gramfarm sessions check` and `gramfarm sessions harden`: the farm's stored sessions checked or locked down by
// farm jobs (the workers run them, paced), with a report in the onboarding report's conventions.
import { Option, type Command } from 'commander'
import type { ExitCodeValue } from '../exit-codes.ts'
import type { GlobalFlags } from '../cli-context.ts'
import type { HardenOptions } from '../../queue/session-job.ts'
import { action, flagsOf } from './command-kit.ts'

interface SessionJobFlags {
  account?: string[]
  report?: string
  timeout?: string
  json?: boolean
  showPhones?: boolean
  withWorker?: boolean
  threads?: string
}

interface HardenFlags extends SessionJobFlags {
  keepOthers?: boolean
  whenFresh?: 'wait' | 'defer'
  password?: HardenOptions['password']
  passwordStdin?: boolean
  hint?: string
}

function addCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      '--account <account...>',
      'only these accounts: phones (+, spaces, dashes fine), bot<id> or QR labels (exactly)',
    )
    .option('--report <path>', 'write the report as <path>.json and <path>.csv (0600)')
    .option('--timeout <seconds>', 'stop following after this long (exit 4; the jobs stay queued)')
    .option('--json', 'print the outcome as JSON on stdout instead of the table')
    .option('--show-phones', 'show phone numbers in full in the table (masked by default)')
    .option('--with-worker', 'run a worker in this process while following (no separate `gramfarm worker` needed)')
    .option('--threads <n>', 'threads of the --with-worker worker')
}

async function run(
  flags: SessionJobFlags & GlobalFlags,
  op: 'check' | 'harden',
  extra: { relogin?: boolean; harden?: HardenOptions; password?: string },
): Promise<ExitCodeValue> {
  const [
    {
      configOf,
      connectRedis,
      cliLogger,
      interruptSignal,
      positiveInt,
      secondsOption,
      testDcEndpointOf,
      workerOptionsOf,
    },
    { keyringFromSpec },
    { runSessionJobs },
    { startFarmWorker },
  ] = await Promise.all([
    import('../cli-context.ts'),
    import('../../foundation/master-key-source.ts'),
    import('../session-job-run.ts'),
    import('../../worker/farm-worker.ts'),
  ])
  const config = configOf(flags)
  const logger = cliLogger(config.logLevel)
  const timeoutMs = secondsOption(flags.timeout, '--timeout')
  const threads = positiveInt(flags.threads, '--threads')
  const endpoint = testDcEndpointOf(config)
  const redis = await connectRedis(config, { name: `gramfarm-sessions-${op}` })
  const interrupt = interruptSignal()
  const worker = flags.withWorker
    ? await startFarmWorker({
        ...workerOptionsOf(config, endpoint),
        ...(threads ? { threads } : {}),
        logger: logger.child({}, { level: 'warn' }),
      })
    : undefined
  try {
    const result = await runSessionJobs(
      redis,
      config.prefix,
      {
        op,
        sealer: keyringFromSpec(config.keyring),
        ...(flags.account ? { accounts: flags.account } : {}),
        ...(flags.report !== undefined ? { report: flags.report } : {}),
        ...(flags.json ? { json: true } : {}),
        ...(flags.showPhones ? { showPhones: true } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(extra.relogin ? { relogin: true } : {}),
        ...(extra.harden ? { harden: extra.harden } : {}),
        ...(extra.password !== undefined ? { password: extra.password } : {}),
        signal: interrupt.signal,
      },
      logger,
    )
    return result.exitCode
  } finally {
    interrupt.dispose()
    await worker?.close()
    redis.disconnect()
  }
}

export function registerSessionHealth(sessions: Command): void {
  addCommonOptions(
    sessions
      .command('check')
      .description('check every stored session on Telegram (farm jobs, paced) and store its health state')
      .option(
        '--relogin',
        'log the sessions whose key went bad (unauthorized, duplicated) in again through the login jobs and the code provider, keeping their identity',
      ),
  )
    .addHelpText(
      'after',
      `
Each session connects with its own identity (device, system, app version, languages, api_id) and its own proxy,
and ends in one state: active, unauthorized (key unknown, revoked, reset or expired), deactivated, banned, frozen
(with the dates Telegram gives), restricted (with the reasons), flood_wait(<seconds>), duplicated
(AUTH_KEY_DUPLICATED), or failed(<reason>) when the check itself could not tell. The state and the time of the
check are kept per session (\`gramfarm status\` shows them). Exit 0 once every session is checked.

Examples:
  gramfarm sessions check --report out/health
  gramfarm sessions check --relogin --with-worker`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<SessionJobFlags & { relogin?: boolean }>(cmd)
        return run(flags, 'check', { relogin: flags.relogin === true })
      }),
    )

  addCommonOptions(
    sessions
      .command('harden')
      .description(
        "lock stored sessions down: terminate the account's other authorizations, set (or change) its 2FA password",
      )
      .option('--keep-others', 'do not terminate the other authorizations')
      .addOption(
        new Option(
          '--when-fresh <what>',
          "a session younger than 24 h cannot terminate others: wait until it can, or report deferred (default: the config's hardenWhenFresh, else defer)",
        ).choices(['wait', 'defer']),
      )
      .addOption(
        new Option(
          '--password <what>',
          '2FA: set one where there is none (missing, the default), also change existing ones (rotate), or leave it (keep)',
        ).choices(['missing', 'rotate', 'keep']),
      )
      .option(
        '--password-stdin',
        'read the new 2FA password from stdin (first line) instead of generating one per account',
      )
      .option('--hint <hint>', 'the 2FA password hint'),
  )
    .addHelpText(
      'after',
      `
New 2FA passwords are generated per account (or read with --password-stdin) and kept sealed in the farm's secret
store in Redis, never printed or logged; the report says only set / changed / kept / current_unknown (the account
has a password the farm does not know). Exit 0 when every session is hardened or deferred, 1 otherwise.

Examples:
  gramfarm sessions harden --report out/harden
  gramfarm sessions harden --password rotate --when-fresh wait < /dev/null`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<HardenFlags>(cmd)
        const { configOf } = await import('../cli-context.ts')
        const config = configOf(flags)
        let password: string | undefined
        if (flags.passwordStdin) {
          const { readSecret } = await import('../password-input.ts')
          password = await readSecret('2FA password', 'New 2FA password: ')
        }
        const harden: HardenOptions = {
          resetOthers: flags.keepOthers !== true,
          whenFresh: flags.whenFresh ?? config.hardenWhenFresh,
          password: flags.password ?? 'missing',
          ...(flags.hint !== undefined ? { passwordHint: flags.hint } : {}),
        }
        return run(flags, 'harden', { harden, ...(password !== undefined ? { password } : {}) })
      }),
    )
}
