// `gramfarm onboard <file>` (phones TXT, CSV, JSON) and `gramfarm bots <file>` (bot tokens TXT): validate the
// whole file (any bad line: exit 2, nothing enqueued), enqueue, follow, write sessions and report.
import { Option, type Command } from 'commander'
import type { AccountsFileFormat } from '../../farm/accounts-file.ts'
import { action, addRunOptions, flagsOf, type RunFlags } from './command-kit.ts'

export function registerOnboard(program: Command): void {
  const onboard = program
    .command('onboard')
    .description(
      'log in every account of an accounts file (phones TXT, CSV with per-account options, or JSON of users/bots/QR slots)',
    )
    .argument(
      '<file>',
      'accounts file: .txt (one phone per line), .csv (header with phone, password, proxy, api_id, …) or .json',
    )
    .addOption(
      new Option('--format <format>', 'file format (default: from the extension and content)').choices([
        'phones',
        'bots',
        'csv',
        'json',
      ]),
    )
  addRunOptions(onboard)
    .addHelpText(
      'after',
      `
The whole file is checked first: a single bad line (reported with its line number) and nothing is enqueued (exit 2).
Each account gets one job, its id derived from the account: listing an account already queued does nothing new.
Final states: authorized, needs_password, password_invalid, phone_invalid, banned, unregistered, code_timeout,
flood_wait(<seconds>), duplicate (already logged in by the farm), failed(<reason>).

Examples:
  gramfarm onboard config/accounts.example.txt --with-worker --testdc out/testdc-endpoint.json
  gramfarm onboard accounts.csv --sessions-dir out/sessions --report out/run1
  gramfarm onboard accounts.json --no-wait`,
    )
    .action(
      action(async (file: string, _opts: unknown, cmd: Command) => {
        const flags = flagsOf<RunFlags & { format?: AccountsFileFormat }>(cmd)
        const { loadAccountsOrExit, executeRun } = await import('./run-accounts.ts')
        const specs = await loadAccountsOrExit(file, flags.format, flags.json)
        return executeRun(specs, flags, { label: file })
      }),
    )

  addRunOptions(
    program
      .command('bots')
      .description('log in every bot of a bot-tokens file (one <id>:<secret> token per line, # comments)')
      .argument('<file>', 'bot tokens file'),
  )
    .addHelpText(
      'after',
      `
Tokens are secrets: they go to the secret vault in Redis, never into job data, logs or reports (bots show as bot<id>).

Example:
  gramfarm bots config/bots.example.txt --with-worker --testdc out/testdc-endpoint.json`,
    )
    .action(
      action(async (file: string, _opts: unknown, cmd: Command) => {
        const flags = flagsOf<RunFlags>(cmd)
        const { loadAccountsOrExit, executeRun } = await import('./run-accounts.ts')
        const specs = await loadAccountsOrExit(file, 'bots', flags.json)
        return executeRun(specs, flags, { label: file })
      }),
    )
}
