// `gramfarm testdc`: the local Telegram-compatible test DC as a server. It writes an endpoint file (DC addresses
// and public key) that workers and other commands take with --testdc / GRAMFARM_TESTDC, prints every code it
// "sends", and with --provider also delivers them through Redis like an SMS provider would.
import { mkdirSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Command } from 'commander'
import { CliError, ExitCode } from '../exit-codes.ts'
import { DEFAULT_TESTDC_ENDPOINT_FILE } from '../farm-config.ts'
import type { SimulatedCodeProvider } from '../../demo/simulated-code-provider.ts'
import { action, flagsOf } from './command-kit.ts'

interface TestDcFlags {
  endpointFile?: string
  accounts?: string
  provider?: boolean
  providerDelay: string
  dcIds: string
  host: string
  quiet?: boolean
  freshSession?: string
  cryptoThreads: string
}

function parseDelay(text: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim())
  if (!m) throw new CliError('--provider-delay must be <ms> or <min ms>-<max ms>', ExitCode.usage)
  const min = Number(m[1])
  const max = m[2] !== undefined ? Number(m[2]) : min
  if (max < min) throw new CliError('--provider-delay: the maximum is below the minimum', ExitCode.usage)
  return [min, max]
}

function parseDcIds(text: string): number[] {
  const ids = text.split(',').map((s) => Number(s.trim()))
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 1 || n > 255))
    throw new CliError('--dc-ids must be a list like 1,2,3,4,5', ExitCode.usage)
  return ids
}

export function registerTestDc(program: Command): void {
  const testdc = program
    .command('testdc')
    .description('run the local test DC (a Telegram-compatible server on loopback) until stopped')
    .option(
      '--endpoint-file <file>',
      `where to write the DC addresses and public key (default: --testdc, GRAMFARM_TESTDC, or ${DEFAULT_TESTDC_ENDPOINT_FILE})`,
    )
    .option(
      '--accounts <file>',
      'seed accounts from a JSON file (users with 2FA, banned or unregistered; bots; invalidPhones) — see config/demo-accounts.testdc.json',
    )
    .option(
      '--provider',
      'act as the code provider too: deliver every code it sends (and the 2FA passwords the seed marks passwordViaProvider) through Redis',
    )
    .option('--provider-delay <ms>', 'delivery delay, <ms> or <min>-<max>', '50-800')
    .option('--dc-ids <ids>', 'DCs to run', '1,2,3,4,5')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--quiet', 'do not print the codes')
    .option(
      '--fresh-session <seconds>',
      "how old a session must be before it may end others (Telegram's rule: 86400, FRESH_RESET_AUTHORISATION_FORBIDDEN before)",
      '86400',
    )
    .option(
      '--crypto-threads <n>',
      "threads for key exchanges' arithmetic (primes, RSA, modexps), so RPCs never wait behind other clients' key exchanges; 0: on the DC's own thread",
      '2',
    )
    .addHelpText(
      'after',
      `
Test numbers need no seed: 99966 X YYYY lives on DC X and its code is X five times (9996621234 → 22222).

Example (three terminals):
  gramfarm testdc --provider --accounts config/demo-accounts.testdc.json
  gramfarm worker --testdc out/testdc-endpoint.json
  gramfarm onboard config/accounts.example.txt --testdc out/testdc-endpoint.json`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<TestDcFlags>(cmd)
        const [
          { writeTestDcEndpoint },
          { aborted, cliLogger, configOf, connectRedis, interruptSignal },
          { startLocalTestDc },
          { describeRedisEndpoint },
          { SimulatedCodeProvider },
          { loadTestDcSeed },
        ] = await Promise.all([
          import('../../testdc/testdc-endpoint.ts'),
          import('../cli-context.ts'),
          import('../../demo/local-test-dc.ts'),
          import('../redis-access.ts'),
          import('../../demo/simulated-code-provider.ts'),
          import('../../demo/testdc-seed.ts'),
        ])
        const config = configOf(flags)
        const logger = cliLogger(config.logLevel)
        const endpointFile = flags.endpointFile ?? config.testDcEndpointFile ?? DEFAULT_TESTDC_ENDPOINT_FILE
        const delay = parseDelay(flags.providerDelay)
        const dcIds = parseDcIds(flags.dcIds)
        const seed = flags.accounts !== undefined ? await loadTestDcSeed(flags.accounts) : undefined
        const redis = flags.provider ? await connectRedis(config, { name: 'gramfarm-testdc-provider' }) : undefined
        const freshSessionSeconds = Number(flags.freshSession)
        if (!Number.isInteger(freshSessionSeconds) || freshSessionSeconds < 0)
          throw new CliError('--fresh-session must be a whole number of seconds', ExitCode.usage)
        const cryptoThreads = Number(flags.cryptoThreads)
        if (!Number.isInteger(cryptoThreads) || cryptoThreads < 0 || cryptoThreads > 64)
          throw new CliError('--crypto-threads must be a whole number from 0 to 64', ExitCode.usage)
        const testDc = await startLocalTestDc({
          dcIds,
          host: flags.host,
          cryptoThreads,
          registry: { freshSessionSeconds },
          ...(seed ? { seed } : {}),
        })
        let provider: SimulatedCodeProvider | undefined
        // Listening before "test DC up" is said: a Ctrl-C right after it stops the DC and removes its endpoint file.
        const interrupt = interruptSignal()
        try {
          const print = (line: string): void => {
            if (!flags.quiet) process.stdout.write(`${line}\n`)
          }
          if (redis) {
            provider = new SimulatedCodeProvider({
              redis,
              prefix: config.prefix,
              delayMs: delay,
              ...(seed ? { seed } : {}),
              logger,
              onCode: (d, outcome) =>
                print(
                  `code ${d.code} (${d.type}) for +${d.phone}${outcome === 'delivered' ? ' → code provider' : outcome === 'dropped' ? ' (lost: never reaches the provider)' : ''}`,
                ),
            })
            provider.attach(testDc.accounts)
            await provider.start()
          } else {
            testDc.accounts.onCode = (d) => print(`code ${d.code} (${d.type}) for +${d.phone}`)
          }
          mkdirSync(dirname(endpointFile), { recursive: true })
          writeTestDcEndpoint(endpointFile, testDc.dc)
          process.stderr.write(
            `test DC up: ${testDc.dc.dcs.map((d) => `DC${d.id} ${d.host}:${d.port}`).join(', ')}\n` +
              `endpoint: ${endpointFile} (give it to workers with --testdc, or GRAMFARM_TESTDC)\n` +
              `${seed ? `seeded: ${seed.accounts.users.length} users, ${seed.accounts.bots.length} bots, ${seed.invalidPhones.size} invalid phones\n` : ''}` +
              `${redis ? `code provider: on, through ${describeRedisEndpoint(config.redis)} prefix ${config.prefix}, delay ${delay[0]}-${delay[1]} ms\n` : 'code provider: off (deliver codes with `gramfarm code <phone> <code>`)\n'}`,
          )
          await aborted(interrupt.signal)
          return ExitCode.ok
        } finally {
          await provider?.stop()
          await testDc.stop()
          redis?.disconnect()
          rmSync(endpointFile, { force: true })
        }
      }),
    )

  testdc
    .command('scan')
    .description('scan a QR login code on the running test DC, as a phone already logged in as <phone> would')
    .argument('<url>', 'what the QR code says: tg://login?token=… (`gramfarm qr` prints it)')
    .requiredOption(
      '--as <phone>',
      'the account that scans: a test number 99966 X YYYY (its code is X five times), or give --code',
    )
    .option('--code <code>', 'the login code of --as when it is not a test number')
    .addHelpText(
      'after',
      `
The test DC is the one of --testdc / GRAMFARM_TESTDC (default ${DEFAULT_TESTDC_ENDPOINT_FILE}). A 2FA password, if the
account has one, is asked (or read from stdin). Exit codes: 0 scanned, 1 the DC refused the code (expired, or the
account is excluded), 2 bad input.

Example (the QR slot of \`gramfarm qr --with-worker --testdc out/testdc-endpoint.json\` in another terminal):
  gramfarm testdc scan 'tg://login?token=AQID…' --as 9996621234`,
    )
    .action(
      action(async (url: string, _opts: unknown, cmd: Command) => {
        const flags = flagsOf<{ as: string; code?: string }>(cmd)
        const [{ configOf }, { readTestDcEndpoint }, { scanQrLogin, QrScanError }, { readPassword }, { maskPhone }] =
          await Promise.all([
            import('../cli-context.ts'),
            import('../../testdc/testdc-endpoint.ts'),
            import('../../demo/qr-scan-once.ts'),
            import('../password-input.ts'),
            import('../../foundation/logger.ts'),
          ])
        const config = configOf(flags)
        const endpointFile = config.testDcEndpointFile ?? DEFAULT_TESTDC_ENDPOINT_FILE
        let endpoint
        try {
          endpoint = readTestDcEndpoint(endpointFile)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          throw new CliError(
            `test DC endpoint ${endpointFile}: ${code === 'ENOENT' ? 'no such file (is `gramfarm testdc` running?)' : (err as Error).message}`,
            ExitCode.usage,
          )
        }
        try {
          const { userId } = await scanQrLogin({
            endpoint,
            url,
            phone: flags.as,
            ...(flags.code !== undefined ? { code: flags.code } : {}),
            password: () => readPassword(`2FA password of ${maskPhone(flags.as)}: `),
          })
          process.stdout.write(
            `scanned as ${maskPhone(flags.as)} (user ${userId}): the QR login goes on as that account\n`,
          )
          return ExitCode.ok
        } catch (err) {
          if (err instanceof QrScanError)
            throw new CliError(err.message, err.reason === 'token_refused' ? ExitCode.accountsFailed : ExitCode.usage)
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ECONNREFUSED' || (err as Error).name.endsWith('TimeoutError')) {
            throw new CliError(
              `the test DC of ${endpointFile} does not answer (${code ?? (err as Error).name}): is \`gramfarm testdc\` still running?`,
              ExitCode.timedOut,
            )
          }
          throw err
        }
      }),
    )
}
