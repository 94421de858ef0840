// `gramfarm code <phone> <code>` and `gramfarm password <phone>`: an operator acting as the code provider.
// Both go through the code channel (docs/provider-contract.md): stored first, then announced without the secret.
import type { Command } from 'commander'
import { CliError, ExitCode } from '../exit-codes.ts'
import { action, flagsOf } from './command-kit.ts'

/** What both commands need, loaded when one runs. */
async function deps() {
  const [context, logger, input, channel] = await Promise.all([
    import('../cli-context.ts'),
    import('../../foundation/logger.ts'),
    import('../password-input.ts'),
    import('../../queue/code-channel.ts'),
  ])
  return {
    ...context,
    maskPhone: logger.maskPhone,
    readPassword: input.readPassword,
    readSecret: input.readSecret,
    ...channel,
  }
}

const STATUS_TEXT = {
  stored: 'delivered to the waiting login',
  pending: 'parked: no login is waiting for this phone yet; the next one will use it',
  duplicate: 'not delivered: a code for this attempt is already waiting (the first one stays)',
  stale: 'not delivered: that attempt is no longer the current one',
} as const

/** The phone as the channel takes it; CliError (exit 2) before anything else happens when it is not one. */
function checkedPhone(phone: string, channelPhone: (p: string) => string): string {
  try {
    return channelPhone(phone)
  } catch (err) {
    return channelError(err)
  }
}

function channelError(err: unknown): never {
  if ((err as Error)?.name === 'CodeChannelError') throw new CliError((err as Error).message, ExitCode.usage)
  throw err
}

export function registerDeliver(program: Command): void {
  program
    .command('code')
    .description('deliver a login code for a phone to the farm (as a code provider would)')
    .argument('<phone>', 'the phone the code was sent to (+ spaces and dashes are fine)')
    .argument('<code>', 'the login code, or - to read it from stdin (first line): argv shows in `ps` and shell history')
    .option('--attempt <id>', "deliver for this attempt only (default: the phone's current one)")
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      `
Exit codes: 0 delivered (or parked until the login asks), 1 not delivered (duplicate or stale), 2 bad input, 3 Redis unreachable.

Examples:
  gramfarm code +9996621234 22222
  gramfarm code +9996621234 -              # prompts (nothing is echoed), or reads the first line piped in`,
    )
    .action(
      action(async (phone: string, code: string, _opts: unknown, cmd: Command) => {
        const flags = flagsOf<{ attempt?: string; json?: boolean }>(cmd)
        const { configOf, connectRedis, publishCode, maskPhone, readSecret, channelPhone } = await deps()
        const config = configOf(flags)
        // Bad input is exit 2 whether or not Redis is up: check it before connecting.
        checkedPhone(phone, channelPhone)
        const given = code === '-' ? await readSecret('code', `login code for ${maskPhone(phone)}: `) : code
        if (given.trim() === '') throw new CliError('no code given', ExitCode.usage)
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-code' })
        try {
          const r = await publishCode(
            redis,
            { phone, code: given, ...(flags.attempt ? { attempt: flags.attempt } : {}) },
            {
              prefix: config.prefix,
              sealer: (await import('../../foundation/master-key-source.ts')).keyringFromSpec(config.keyring),
            },
          ).catch(channelError)
          if (flags.json)
            process.stdout.write(
              `${JSON.stringify({ phone: maskPhone(phone), status: r.status, attempt: r.attempt })}\n`,
            )
          else process.stdout.write(`${maskPhone(phone)}: ${STATUS_TEXT[r.status]}\n`)
          return r.status === 'stored' || r.status === 'pending' ? ExitCode.ok : ExitCode.accountsFailed
        } finally {
          redis.disconnect()
        }
      }),
    )

  program
    .command('password')
    .description(
      'deliver a 2FA password for a phone to the farm (typed without echo, or piped on stdin; never an argument)',
    )
    .argument('<phone>', "the account's phone")
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      `
The password is kept in Redis for 120 s at most and taken by the login that asked for it; it is never published.

Examples:
  gramfarm password +9996621234              # prompts, nothing is echoed
  gramfarm password 9996621234 < secret.txt  # first line of stdin`,
    )
    .action(
      action(async (phone: string, _opts: unknown, cmd: Command) => {
        const flags = flagsOf<{ json?: boolean }>(cmd)
        const { configOf, connectRedis, publishPassword, maskPhone, readPassword, channelPhone } = await deps()
        const config = configOf(flags)
        checkedPhone(phone, channelPhone) // before the password is asked for, and before Redis
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-password' })
        try {
          const password = await readPassword(`2FA password for ${maskPhone(phone)}: `)
          await publishPassword(
            redis,
            { phone, password },
            {
              prefix: config.prefix,
              sealer: (await import('../../foundation/master-key-source.ts')).keyringFromSpec(config.keyring),
            },
          ).catch(channelError)
          if (flags.json) process.stdout.write(`${JSON.stringify({ phone: maskPhone(phone), status: 'delivered' })}\n`)
          else process.stdout.write(`${maskPhone(phone)}: password delivered\n`)
          return ExitCode.ok
        } finally {
          redis.disconnect()
        }
      }),
    )
}
