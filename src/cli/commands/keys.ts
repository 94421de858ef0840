// `gramfarm keys rotate`: re-seal every secret the farm keeps in Redis under the current master key. Run it with
// the NEW key as the master key and the old one(s) in GRAMFARM_OLD_MASTER_KEYS (or oldMasterKeyFiles), after the
// workers were restarted with the same settings (they read both keys and seal with the new one); retire the old
// key once it reports nothing unreadable.
import type { Command } from 'commander'
import { CliError, ExitCode } from '../exit-codes.ts'
import { action, flagsOf } from './command-kit.ts'

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("the master key that seals the farm's secrets in Redis")
  keys
    .command('rotate')
    .description('re-seal every stored secret under the current master key (old keys given as readable)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Exit codes: 0 every value is under the current key, 1 some values did not open (listed, left untouched), 2 no master key, 3 Redis unreachable.

Example:
  GRAMFARM_MASTER_KEY_FILE=new.key GRAMFARM_OLD_MASTER_KEYS=$(cat old.key) gramfarm keys rotate`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<{ json?: boolean }>(cmd)
        const [{ configOf, connectRedis }, { keyringFromSpec }, { rotateKeys }] = await Promise.all([
          import('../cli-context.ts'),
          import('../../foundation/master-key-source.ts'),
          import('../../farm/key-rotation.ts'),
        ])
        const config = configOf(flags)
        const keyring = keyringFromSpec(config.keyring)
        if (!keyring.current)
          throw new CliError(
            'keys rotate needs the new master key (GRAMFARM_MASTER_KEY, _FILE or _COMMAND) and the old ones in GRAMFARM_OLD_MASTER_KEYS',
            ExitCode.usage,
          )
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-keys' })
        try {
          const summary = await rotateKeys(redis, config.prefix, keyring)
          if (flags.json) process.stdout.write(`${JSON.stringify({ keyId: keyring.current.id, ...summary })}\n`)
          else {
            process.stdout.write(
              `re-sealed ${summary.resealed} of ${summary.looked} values under key ${keyring.current.id}` +
                `${summary.raced ? ` (${summary.raced} changed meanwhile, left to their workers)` : ''}\n`,
            )
            for (const u of summary.unreadable)
              process.stdout.write(`not opened (${u.reason}${u.keyId ? `, key ${u.keyId}` : ''}): ${u.at}\n`)
          }
          return summary.unreadable.length === 0 ? ExitCode.ok : ExitCode.accountsFailed
        } finally {
          redis.disconnect()
        }
      }),
    )
}
