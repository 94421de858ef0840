// `gramfarm sessions export|list`: the sessions workers saved in Redis, out to Pyrogram `.session` files and/or a
// JSON of Pyrogram session strings.
import type { Command } from 'commander'
import { CliError, ExitCode } from '../exit-codes.ts'
import type { SessionRef } from '../../farm/session-export.ts'
import type { LoginResult } from '../../queue/login-job.ts'
import { action, flagsOf } from './command-kit.ts'

async function deps() {
  const [context, logger, summary, exporter, keys] = await Promise.all([
    import('../cli-context.ts'),
    import('../../foundation/logger.ts'),
    import('../run-summary.ts'),
    import('../../farm/session-export.ts'),
    import('../../queue/redis-keys.ts'),
  ])
  return {
    ...context,
    maskPhone: logger.maskPhone,
    textTable: summary.textTable,
    ...exporter,
    resultsKey: keys.resultsKey,
  }
}

/**
 * Whether `--account <value>` names this session: the account as written, or — for a user — its phone written
 * the way people write phones (`+999 66-21234`). Only phones are cleaned: a QR label keeps its dashes.
 */
function isAccount(ref: SessionRef, value: string): boolean {
  if (ref.account === value) return true
  return ref.kind === 'user' && /^\+?[\d\s().-]+$/.test(value) && ref.account === value.replace(/\D/g, '')
}

interface ExportFlags {
  dir?: string
  strings?: string
  run?: string
  account?: string[]
  delete?: boolean
  json?: boolean
}

export function registerSessions(program: Command): void {
  const sessions = program.command('sessions').description('sessions kept in Redis: list them, export them to files')

  sessions
    .command('export')
    .description(
      'write sessions from Redis as Pyrogram .session files (0600, with .json sidecars) and/or a JSON of session strings',
    )
    .option('--dir <dir>', 'directory for <account>.session + <account>.json')
    .option('--strings <file>', 'JSON file of Pyrogram session strings')
    .option('--run <runId>', 'only the accounts a run authorized')
    .option(
      '--account <account...>',
      'only these accounts: phones (+, spaces, dashes fine), bot<id> or QR labels (exactly)',
    )
    .option('--delete', 'remove the exported sessions from Redis')
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      `
Examples:
  gramfarm sessions export --dir out/sessions
  gramfarm sessions export --run run-20261101T120000Z-a1b2c3 --strings out/strings.json`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<ExportFlags>(cmd)
        if (flags.dir === undefined && flags.strings === undefined)
          throw new CliError('say where to: --dir <dir> and/or --strings <file>', ExitCode.usage)
        const {
          configOf,
          connectRedis,
          serverOfEndpoint,
          testDcEndpointOf,
          listRedisSessions,
          resultsKey,
          exportSessions,
          deleteRedisSessions,
        } = await deps()
        const config = configOf(flags)
        const endpoint = config.testDcEndpointFile !== undefined ? testDcEndpointOf(config) : undefined
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-sessions' })
        try {
          let refs: SessionRef[] = await listRedisSessions(redis, config.prefix)
          if (flags.run !== undefined) {
            const results = (await redis.hvals(resultsKey(config.prefix, flags.run))).map(
              (v) => JSON.parse(v) as LoginResult,
            )
            if (results.length === 0) throw new CliError(`no results for run ${flags.run}`, ExitCode.usage)
            const names = new Set(results.filter((r) => r.state === 'authorized' && r.session).map((r) => r.session!))
            refs = refs.filter((r) => names.has(r.name))
          }
          if (flags.account !== undefined) {
            const wanted = flags.account
            refs = refs.filter((r) => wanted.some((a) => isAccount(r, a)))
          }
          const serverOf = serverOfEndpoint(endpoint)
          const summary = await exportSessions(
            redis,
            config.prefix,
            refs,
            {
              ...(flags.dir !== undefined ? { dir: flags.dir } : {}),
              ...(flags.strings !== undefined ? { json: flags.strings } : {}),
              ...(serverOf ? { serverOf } : {}),
            },
            (await import('../../foundation/master-key-source.ts')).keyringFromSpec(config.keyring),
          )
          if (flags.delete)
            await deleteRedisSessions(
              redis,
              config.prefix,
              summary.exported.map((e) => e.ref),
            )
          if (flags.json) {
            process.stdout.write(
              `${JSON.stringify(
                {
                  exported: summary.exported.map((e) => ({
                    account: e.ref.account,
                    kind: e.ref.kind,
                    userId: e.userId,
                    dcId: e.dcId,
                    file: e.file ?? null,
                  })),
                  missing: summary.missing.map((m) => m.account),
                  dir: summary.dir ?? null,
                  strings: summary.json ?? null,
                  deletedFromRedis: flags.delete === true,
                },
                null,
                2,
              )}\n`,
            )
          } else {
            process.stdout.write(
              `${summary.exported.length} session${summary.exported.length === 1 ? '' : 's'} written` +
                `${summary.dir ? ` to ${summary.dir}` : ''}${summary.json ? `${summary.dir ? ' and' : ' to'} ${summary.json}` : ''}` +
                `${flags.delete ? ' (removed from Redis)' : ''}\n`,
            )
          }
          return refs.length === 0 ? ExitCode.accountsFailed : ExitCode.ok
        } finally {
          redis.disconnect()
        }
      }),
    )

  sessions
    .command('list')
    .description('list the sessions in Redis')
    .option('--json', 'print them as JSON')
    .option('--show-phones', 'show phone numbers in full')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<{ json?: boolean; showPhones?: boolean }>(cmd)
        const { configOf, connectRedis, listRedisSessions, maskPhone, textTable } = await deps()
        const config = configOf(flags)
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-sessions' })
        try {
          const refs = await listRedisSessions(redis, config.prefix)
          if (flags.json)
            process.stdout.write(
              `${JSON.stringify(
                refs.map((r) => ({
                  account: r.account,
                  kind: r.kind,
                  name: r.name,
                  user_id: r.userId ?? null,
                  dc: r.dcId ?? null,
                })),
                null,
                2,
              )}\n`,
            )
          else if (refs.length === 0) process.stdout.write('no sessions in Redis\n')
          else {
            process.stdout.write(
              `${textTable(
                ['account', 'kind', 'user id', 'dc'],
                refs.map((r) => [
                  r.kind === 'user' && !flags.showPhones ? maskPhone(r.account) : r.account,
                  r.kind,
                  r.userId ?? '-',
                  r.dcId === null || r.dcId === undefined ? '-' : String(r.dcId),
                ]),
              )}\n`,
            )
          }
          return ExitCode.ok
        } finally {
          redis.disconnect()
        }
      }),
    )
}
