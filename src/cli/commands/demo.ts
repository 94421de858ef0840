// `gramfarm demo` (what `npm start` runs): the whole farm against the local test DC, see ../demo.ts.
import type { Command } from 'commander'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { action, flagsOf } from './command-kit.ts'

/** ./config/<name> when there is one (a clone, or a copy you edited), else the package's own copy (an install). */
function demoFile(name: string): string {
  const local = `config/${name}`
  return existsSync(local) ? local : fileURLToPath(new URL(`../../../config/${name}`, import.meta.url))
}

const DEMO_ACCOUNTS_FILE = demoFile('demo-accounts.json')
const DEMO_SEED_FILE = demoFile('demo-accounts.testdc.json')

interface DemoFlags {
  accounts?: string
  seed?: string
  threads?: string
  out?: string
  keep?: boolean
  codeTimeout?: string
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'onboard ~200 users, 20 bots and 3 QR logins against a local test DC, with a simulated code provider and phones',
    )
    .option('--accounts <file>', 'accounts to onboard', DEMO_ACCOUNTS_FILE)
    .option(
      '--seed <file>',
      'test DC seed (2FA, banned, unregistered, bots, invalid phones, QR phones)',
      DEMO_SEED_FILE,
    )
    .option('--threads <n>', 'worker threads', '2')
    .option('--out <dir>', 'where sessions and the report go (default out/demo-<time>)')
    .option('--code-timeout <seconds>', 'how long a login waits for its code or password', '8')
    .option('--keep', "keep the demo's Redis keys (they are removed at the end by default)")
    .addHelpText(
      'after',
      `
Needs Redis: REDIS_URL (default redis://127.0.0.1:6379); when nothing answers there and redis-server is installed,
the demo starts a private one. Exit code 0 when every account ended as the seed implies.`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<DemoFlags>(cmd)
        const [{ cliLogger, configOf, positiveInt, secondsOption }, { runDemo }] = await Promise.all([
          import('../cli-context.ts'),
          import('../demo-run.ts'),
        ])
        const config = configOf(flags)
        // The demo's output is its progress bar and table: log lines only for warnings unless a level was asked for.
        const quiet = flags.logLevel === undefined && !process.env['GRAMFARM_LOG_LEVEL']
        const threads = positiveInt(flags.threads, '--threads')
        const codeTimeoutMs = secondsOption(flags.codeTimeout, '--code-timeout')
        return runDemo({
          config,
          logger: cliLogger(quiet ? 'warn' : config.logLevel, 'gramfarm-demo'),
          ...(flags.accounts ? { accountsFile: flags.accounts } : {}),
          ...(flags.seed ? { seedFile: flags.seed } : {}),
          ...(threads ? { threads } : {}),
          ...(flags.out ? { outDir: flags.out } : {}),
          ...(flags.keep ? { keepKeys: true } : {}),
          ...(codeTimeoutMs ? { codeTimeoutMs } : {}),
        })
      }),
    )
}
