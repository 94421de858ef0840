// Small pieces every command definition uses: running an action and keeping its exit code, and the options the
// onboarding commands (onboard, bots, qr) share.
import { Option, type Command } from 'commander'
import type { ExitCodeValue } from '../exit-codes.ts'
import type { GlobalFlags } from '../cli-context.ts'

let lastExitCode: ExitCodeValue | undefined

/** The exit code the last action asked for (the CLI exits with it). */
export function actionExitCode(): ExitCodeValue | undefined {
  return lastExitCode
}

/** Wraps an async action that returns its exit code; errors propagate to the CLI's handler. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<ExitCodeValue>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    lastExitCode = await fn(...args)
  }
}

/** The command's own options merged with the global ones. */
export function flagsOf<T>(cmd: Command): T & GlobalFlags {
  return cmd.optsWithGlobals<T & GlobalFlags>()
}

export interface RunFlags {
  runId?: string
  sessionsDir?: string
  sessionsJson?: string
  dropRedisSessions?: boolean
  report?: string
  codeTimeout?: string
  passwordProvider?: boolean
  timeout?: string
  redisTimeout?: string
  wait?: boolean
  withWorker?: boolean
  threads?: string
  json?: boolean
  rows?: 'all' | 'problems' | 'none'
  showPhones?: boolean
}

/** Options of `onboard`, `bots` and `qr`. */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--run-id <id>', 'name of this run (default: run-<time>-<random>)')
    .option('--sessions-dir <dir>', 'also write the new sessions as Pyrogram .session files (0600) with .json sidecars')
    .option('--sessions-json <file>', 'also write the new sessions as a JSON file of Pyrogram session strings (0600)')
    .option('--drop-redis-sessions', 'remove the sessions from Redis once written to --sessions-dir/--sessions-json')
    .option('--report <path>', 'write the report as <path>.json and <path>.csv')
    .option(
      '--code-timeout <seconds>',
      "how long each login waits for its code, password or QR scan (default: the worker's)",
    )
    .option(
      '--no-password-provider',
      '2FA accounts without a password in the file end as needs_password instead of asking the code provider',
    )
    .option('--timeout <seconds>', 'stop following after this long (exit 4; the jobs stay queued)')
    .option(
      '--redis-timeout <seconds>',
      'give up on a Redis that stopped answering after this long (exit 3; the jobs stay queued; default 180, $GRAMFARM_REDIS_TIMEOUT)',
    )
    .option('--no-wait', 'enqueue and exit (prints the run id); follow later with `gramfarm status --run <id>`')
    .option('--with-worker', 'run a worker in this process while following (no separate `gramfarm worker` needed)')
    .option('--threads <n>', 'threads of the --with-worker worker')
    .option('--json', 'print the outcome as JSON on stdout instead of the table')
    .addOption(new Option('--rows <which>', 'per-account rows in the table').choices(['all', 'problems', 'none']))
    .option('--show-phones', 'show phone numbers in full in the table (masked by default)')
}
