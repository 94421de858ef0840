// `gramfarm provider handler-api`: runs the bundled bridge to a handler_api-family SMS-activation service until
// stopped — rents numbers (--rent), answers the farm's code requests for them, and completes or cancels (refunds)
// each activation once its login has ended.
import type { Command } from 'commander'
import { writeFileSync } from 'node:fs'
import { CliError, ExitCode } from '../exit-codes.ts'
import { action, flagsOf } from './command-kit.ts'

interface ProviderFlags {
  baseUrl?: string
  service?: string
  country?: string
  maxPrice?: string
  rent?: string
  out?: string
  pollMs?: string
}

export function registerProvider(program: Command): void {
  const provider = program.command('provider').description('run a code provider for the farm')
  provider
    .command('handler-api')
    .description(
      'bridge to an SMS-activation service speaking handler_api: rent numbers, deliver their SMS codes, refund what a login gave up',
    )
    .option('--base-url <url>', "the service's base URL ($GRAMFARM_SMS_BASE_URL); /stubs/handler_api.php is appended")
    .option('--service <code>', "Telegram's service code at the vendor (default tg)")
    .option('--country <id>', "the vendor's country id for rented numbers (default 0)")
    .option('--max-price <price>', 'rent only numbers at most this price')
    .option(
      '--rent <n>',
      'rent this many numbers first and print their phones (one per line: an accounts file for `gramfarm onboard`)',
    )
    .option('--out <file>', 'write the rented phones to this file instead of stdout')
    .option('--poll-ms <ms>', 'how often the vendor is asked for a code (default 5000)')
    .addHelpText(
      'after',
      `
The API key comes from $GRAMFARM_SMS_API_KEY (never argv: it shows in \`ps\`). Numbers rented here are recorded in
Redis (<prefix>sms:activations, <prefix>sms:phones), so \`gramfarm serve\`'s webhook route finds them too.

Example:
  GRAMFARM_SMS_API_KEY=… gramfarm provider handler-api --base-url https://vendor.example --country 0 --rent 5 --out phones.txt`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<ProviderFlags>(cmd)
        const [
          { aborted, cliLogger, configOf, connectRedis, interruptSignal, positiveInt },
          { startHandlerApiService },
        ] = await Promise.all([import('../cli-context.ts'), import('../../operator/handler-api-service.ts')])
        const baseUrl = flags.baseUrl ?? process.env.GRAMFARM_SMS_BASE_URL
        const apiKey = process.env.GRAMFARM_SMS_API_KEY
        if (!baseUrl || !/^https?:\/\//.test(baseUrl))
          throw new CliError('--base-url (or $GRAMFARM_SMS_BASE_URL) must be an http(s) URL', ExitCode.usage)
        if (!apiKey) throw new CliError('the API key goes in $GRAMFARM_SMS_API_KEY', ExitCode.usage)
        const country =
          flags.country === undefined || flags.country === '0' ? 0 : positiveInt(flags.country, '--country')!
        const maxPrice = flags.maxPrice === undefined ? undefined : Number(flags.maxPrice)
        if (maxPrice !== undefined && !(maxPrice > 0))
          throw new CliError('--max-price must be a positive number', ExitCode.usage)
        const rent = positiveInt(flags.rent, '--rent')
        const pollIntervalMs = positiveInt(flags.pollMs, '--poll-ms')
        const config = configOf(flags)
        const logger = cliLogger(config.logLevel)
        const redis = await connectRedis(config)
        const service = startHandlerApiService({
          redis,
          prefix: config.prefix,
          baseUrl,
          apiKey,
          country,
          logger,
          ...(flags.service ? { service: flags.service } : {}),
          ...(maxPrice !== undefined ? { maxPrice } : {}),
          ...(pollIntervalMs ? { pollIntervalMs } : {}),
        })
        const stop = interruptSignal()
        try {
          if (rent) {
            const phones = await service.rent(rent)
            if (flags.out) writeFileSync(flags.out, `${phones.join('\n')}\n`, { mode: 0o600 })
            else process.stdout.write(`${phones.join('\n')}\n`)
          }
          logger.info({ prefix: config.prefix, rented: rent ?? 0 }, 'provider ready')
          await aborted(stop.signal)
        } finally {
          await service.stop()
          redis.disconnect()
        }
        return ExitCode.ok
      }),
    )
}
