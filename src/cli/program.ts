// The `gramfarm` command line: global options (settings that override the config file and environment), then one
// command per job an operator does. Each command lives in commands/<name>.ts.
import { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { EXIT_CODES_HELP } from './exit-codes.ts'
import { ENVIRONMENT_HELP } from './farm-config.ts'
import { registerDeliver } from './commands/deliver.ts'
import { registerKeys } from './commands/keys.ts'
import { registerDemo } from './commands/demo.ts'
import { registerOnboard } from './commands/onboard.ts'
import { registerQr } from './commands/qr.ts'
import { registerProvider } from './commands/provider.ts'
import { registerServe } from './commands/serve.ts'
import { registerSessions } from './commands/sessions.ts'
import { registerStatus } from './commands/status.ts'
import { registerTestDc } from './commands/testdc.ts'
import { registerWorker } from './commands/worker.ts'

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version
  } catch {
    return 'unknown'
  }
}

export function buildProgram(): Command {
  const program = new Command('gramfarm')
  // Before any subcommand is added: they inherit these.
  program
    .exitOverride()
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .description(
      'Telegram account farm: bulk logins of users (phone + code + 2FA), bots and QR codes, sessions, workers, a local test DC',
    )
    .version(version(), '-V, --version')
    .option('--config <file>', 'settings file (default config/gramfarm.json when present; $GRAMFARM_CONFIG)')
    .option('--redis-url <url>', 'Redis (default redis://127.0.0.1:6379; $REDIS_URL)')
    .option('--prefix <prefix>', 'Redis key prefix of this farm (default gramfarm:; $GRAMFARM_PREFIX)')
    .option('--testdc <file>', 'log in against the local test DC described by this endpoint file ($GRAMFARM_TESTDC)')
    .option('--api-id <id>', 'Telegram api_id ($GRAMFARM_API_ID)')
    .option(
      '--api-hash <hash>',
      'Telegram api_hash; prefer $GRAMFARM_API_HASH or the config file (argv shows in `ps` and shell history)',
    )
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent ($GRAMFARM_LOG_LEVEL; default info)')
    .addHelpText(
      'after',
      `
${EXIT_CODES_HELP}

${ENVIRONMENT_HELP}

Try it: npm start (the demo), or
  gramfarm testdc --provider &            # a local test DC that also delivers its codes
  gramfarm onboard config/accounts.example.txt --with-worker --testdc out/testdc-endpoint.json`,
    )

  registerOnboard(program)
  registerQr(program)
  registerWorker(program)
  registerServe(program)
  registerProvider(program)
  registerStatus(program)
  registerDeliver(program)
  registerSessions(program)
  registerKeys(program)
  registerTestDc(program)
  registerDemo(program)
  return program
}
