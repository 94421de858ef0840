// What `gramfarm` exits with. Scripts branch on these, so they only ever grow: a number never changes meaning.
//   0    everything asked for was done (an onboarding: every account authorized, or already authorized before)
//   1    the command ran, but some accounts ended in another state (see the table / report)
//   2    usage error or bad input: unknown option, malformed accounts file (nothing enqueued), bad config
//   3    Redis unreachable
//   4    timed out: the run did not finish within --timeout (its jobs stay queued), or nothing answered in time
//   5    internal error (a bug: please report it with the log)
//   6    the run ended, but its sessions or report could not be written (the results and sessions stay in Redis)
//   7    Redis refused our credentials (wrong password or ACL user: NOAUTH, WRONGPASS), our TLS handshake, or a
//        command the ACL user may not run (NOPERM)
//   130  interrupted (Ctrl-C) before the command finished
export const ExitCode = {
  ok: 0,
  accountsFailed: 1,
  usage: 2,
  redisUnreachable: 3,
  timedOut: 4,
  internal: 5,
  outputFailed: 6,
  redisAuthFailed: 7,
  interrupted: 130,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** An error the CLI reports as one message (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message)
  }
}

/** The table printed by `gramfarm --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0    done (onboarding: every account authorized, or authorized before)
  1    some accounts ended in another state (see the table or the report)
  2    usage error or bad input (nothing was enqueued)
  3    Redis unreachable
  4    timed out (--timeout); the jobs stay queued
  5    internal error
  6    the run ended but its sessions or report could not be written (they stay in Redis)
  7    Redis authentication failed (wrong password or ACL user), TLS refused, or permission denied (NOPERM)
  130  interrupted`
