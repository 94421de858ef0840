// `gramfarm sessions export|import|list`: the sessions workers saved in Redis, out to the formats farms trade in
// (Pyrogram, Telethon, GramJS, strings, tdata — each with a .json sidecar), a JSON of Pyrogram session strings
// and/or an encrypted bundle; and all of these back in.
import type { Command } from 'commander'
import { CliError, ExitCode } from '../exit-codes.ts'
import { EXPORT_FORMATS, type ExportFormat, type SessionRef } from '../../farm/session-export.ts'
import type { ImportRow } from '../../farm/session-import.ts'
import type { SessionStringFormat } from '../../auth/storage/index.ts'
import type { MasterKey } from '../../foundation/sealed-value.ts'
import type { LoginResult } from '../../queue/login-job.ts'
import { action, flagsOf } from './command-kit.ts'
import { registerSessionHealth } from './session-health.ts'

async function deps() {
  const [context, logger, summary, exporter, keys, bundle, masterKeys] = await Promise.all([
    import('../cli-context.ts'),
    import('../../foundation/logger.ts'),
    import('../run-summary.ts'),
    import('../../farm/session-export.ts'),
    import('../../queue/redis-keys.ts'),
    import('../../farm/session-bundle.ts'),
    import('../../foundation/master-key-source.ts'),
  ])
  return {
    ...context,
    ...bundle,
    keyringFromSpec: masterKeys.keyringFromSpec,
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

/** The key a bundle is sealed under, given for it (`--key-file`): 32 random bytes as hex or base64, like a master key. */
async function bundleKeyOf(path: string): Promise<MasterKey> {
  const [{ readFile }, { parseMasterKey, MasterKeyError }] = await Promise.all([
    import('node:fs/promises'),
    import('../../foundation/sealed-value.ts'),
  ])
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new CliError(
      `cannot read the bundle key file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      ExitCode.usage,
    )
  }
  try {
    return parseMasterKey(text, `bundle key file ${path}`)
  } catch (err) {
    if (err instanceof MasterKeyError) throw new CliError(err.message, ExitCode.usage)
    throw err
  }
}

/** A tdata passcode: the flag, else GRAMFARM_TDATA_PASSCODE (an environment variable is not shown by ps). */
function passcodeOf(flags: { passcode?: string }): string | undefined {
  return flags.passcode ?? process.env['GRAMFARM_TDATA_PASSCODE']
}

interface ImportFlags {
  passcode?: string
  testMode?: boolean
  resolve?: boolean
  dryRun?: boolean
  keyFile?: string
  replace?: boolean
  json?: boolean
}

/** The import report: one row per account or unreadable file; errors and duplicates say why. */
function printImportReport(rows: readonly ImportRow[], textTable: (head: string[], body: string[][]) => string): void {
  const count = (s: ImportRow['status']): number => rows.filter((r) => r.status === s).length
  if (rows.length > 0)
    process.stdout.write(
      `${textTable(
        ['source', 'format', 'status', 'session', 'user id', 'dc', 'note'],
        rows.map((r) => [
          r.source,
          r.format ?? '-',
          r.status,
          r.session ?? '-',
          r.userId ?? '-',
          r.dcId === undefined ? '-' : String(r.dcId),
          r.error ?? (r.duplicateOf ? `duplicate of ${r.duplicateOf}` : r.warnings.join('; ')),
        ]),
      )}\n`,
    )
  process.stdout.write(`${count('imported')} imported, ${count('duplicate')} duplicates, ${count('error')} errors\n`)
}

interface ExportFlags {
  dir?: string
  format?: string
  stringFormat?: string
  passcode?: string
  omitSecrets?: boolean
  strings?: string
  encrypt?: string
  keyFile?: string
  run?: string
  account?: string[]
  delete?: boolean
  json?: boolean
}

export function registerSessions(program: Command): void {
  const sessions = program.command('sessions').description('sessions kept in Redis: list, check, harden, export them')
  registerSessionHealth(sessions)

  sessions
    .command('export')
    .description(
      'write sessions from Redis as files in a format (0600, each with a .json sidecar) and/or a JSON of session strings',
    )
    .option('--dir <dir>', 'directory for the files and their <account>.json sidecars')
    .option(
      '--format <format>',
      'with --dir: pyrogram (<account>.session), telethon (<account>.session), gramjs (<account>.txt), strings (strings.txt), tdata (<account>/tdata)',
      'pyrogram',
    )
    .option('--string-format <format>', 'for --format strings: pyrogram, telethon or gramjs', 'pyrogram')
    .option(
      '--passcode <passcode>',
      'for --format tdata: lock the folders with this local passcode (or GRAMFARM_TDATA_PASSCODE, kept out of ps)',
    )
    .option('--omit-secrets', 'leave app_hash, twoFA and proxy out of the sidecars')
    .option('--strings <file>', 'JSON file of Pyrogram session strings')
    .option(
      '--encrypt <file>',
      "one encrypted bundle of the sessions and their sidecars (AES-256-GCM, 0600), sealed under the farm's master key or --key-file",
    )
    .option(
      '--key-file <file>',
      'seal the bundle under this key (32 random bytes, hex or base64) instead of the master key',
    )
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
  gramfarm sessions export --dir out/telethon --format telethon
  gramfarm sessions export --dir out/tdata --format tdata --passcode 'local pass'
  gramfarm sessions export --encrypt out/farm.gfsessions --delete
  gramfarm sessions export --run run-20261101T120000Z-a1b2c3 --strings out/strings.json`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<ExportFlags>(cmd)
        if (flags.dir === undefined && flags.strings === undefined && flags.encrypt === undefined)
          throw new CliError(
            'say where to: --dir <dir>, --strings <file> and/or --encrypt <bundle file>',
            ExitCode.usage,
          )
        const format = flags.format ?? 'pyrogram'
        if (!(EXPORT_FORMATS as readonly string[]).includes(format))
          throw new CliError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`, ExitCode.usage)
        const stringFormat = flags.stringFormat ?? 'pyrogram'
        if (!['pyrogram', 'telethon', 'gramjs'].includes(stringFormat))
          throw new CliError('--string-format must be pyrogram, telethon or gramjs', ExitCode.usage)
        if (flags.keyFile !== undefined && flags.encrypt === undefined)
          throw new CliError('--key-file is the key of an --encrypt bundle', ExitCode.usage)
        const {
          configOf,
          connectRedis,
          serverOfEndpoint,
          testDcEndpointOf,
          listRedisSessions,
          resultsKey,
          exportSessions,
          deleteRedisSessions,
          keyringFromSpec,
          writeSessionBundle,
        } = await deps()
        const config = configOf(flags)
        const keyring = keyringFromSpec(config.keyring)
        // The bundle's key, known before anything is read: a key given for it, else the farm's master key.
        let bundleKey: { key: MasterKey; source: 'master' | 'bundle' } | undefined
        if (flags.encrypt !== undefined) {
          if (flags.keyFile !== undefined) bundleKey = { key: await bundleKeyOf(flags.keyFile), source: 'bundle' }
          else if (keyring.current) bundleKey = { key: keyring.current, source: 'master' }
          else
            throw new CliError(
              '--encrypt needs a key: the master key (GRAMFARM_MASTER_KEY, _FILE or _COMMAND) or --key-file <file>',
              ExitCode.usage,
            )
        }
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
          const files = flags.dir !== undefined || flags.strings !== undefined
          const summary = files
            ? await exportSessions(
                redis,
                config.prefix,
                refs,
                {
                  ...(flags.dir !== undefined ? { dir: flags.dir } : {}),
                  ...(flags.strings !== undefined ? { json: flags.strings } : {}),
                  ...(serverOf ? { serverOf } : {}),
                  format: format as ExportFormat,
                  stringFormat: stringFormat as SessionStringFormat,
                  ...(passcodeOf(flags) !== undefined ? { passcode: passcodeOf(flags)! } : {}),
                  ...(flags.omitSecrets
                    ? {}
                    : {
                        secrets: new (await import('../../queue/session-secrets.ts')).SessionSecretStore(
                          redis,
                          config.prefix,
                          keyring,
                        ),
                      }),
                },
                keyring,
              )
            : undefined
          const bundle =
            flags.encrypt !== undefined && bundleKey
              ? await writeSessionBundle(
                  redis,
                  config.prefix,
                  refs,
                  flags.encrypt,
                  bundleKey,
                  keyring,
                  flags.omitSecrets
                    ? undefined
                    : new (await import('../../queue/session-secrets.ts')).SessionSecretStore(
                        redis,
                        config.prefix,
                        keyring,
                      ),
                )
              : undefined
          // What was written everywhere asked for (the same records, read twice: the same set unless one changed).
          const exported = refs.filter(
            (r) =>
              (!summary || summary.exported.some((e) => e.ref.name === r.name)) &&
              (!bundle || bundle.exported.some((e) => e.name === r.name)),
          )
          if (flags.delete) await deleteRedisSessions(redis, config.prefix, exported)
          if (flags.json) {
            process.stdout.write(
              `${JSON.stringify(
                {
                  exported: summary
                    ? summary.exported.map((e) => ({
                        account: e.ref.account,
                        kind: e.ref.kind,
                        userId: e.userId,
                        dcId: e.dcId,
                        format: e.format ?? null,
                        file: e.file ?? null,
                        sidecar: e.sidecar ?? null,
                      }))
                    : exported.map((r) => ({
                        account: r.account,
                        kind: r.kind,
                        userId: r.userId ?? null,
                        dcId: r.dcId ?? null,
                        file: null,
                      })),
                  missing: refs.filter((r) => !exported.includes(r)).map((m) => m.account),
                  dir: summary?.dir ?? null,
                  strings: summary?.json ?? null,
                  bundle: bundle ? { file: bundle.file, keyId: bundle.keyId, sessions: bundle.exported.length } : null,
                  deletedFromRedis: flags.delete === true,
                },
                null,
                2,
              )}\n`,
            )
          } else {
            const places = [
              summary?.dir,
              summary?.json,
              bundle ? `${bundle.file} (encrypted, key ${bundle.keyId})` : undefined,
            ].filter((p) => p !== undefined)
            process.stdout.write(
              `${exported.length} session${exported.length === 1 ? '' : 's'} written to ${places.join(' and ')}` +
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
    .command('import')
    .description(
      "store accounts in the farm's Redis: Pyrogram/Telethon .session files (+ .json sidecars), session-string files, tdata folders, encrypted bundles",
    )
    .argument('<paths...>', 'files or folders (folders are searched; a folder holding key_datas is a tdata folder)')
    .option('--passcode <passcode>', 'local passcode of the tdata folders (or GRAMFARM_TDATA_PASSCODE, kept out of ps)')
    .option(
      '--test-mode',
      'sources that do not say (Pyrogram strings, tdata) are test DC accounts (default with --testdc)',
    )
    .option('--no-resolve', 'do not look up the user id of keys whose file does not say it (getMe with their identity)')
    .option('--dry-run', 'read and check for duplicates, store nothing')
    .option('--key-file <file>', "a bundle's own key (default: the farm's master keys, current and old)")
    .option('--replace', 'bundles: overwrite a session already in Redis under the same name (default: leave it)')
    .option('--json', 'print what was imported as JSON')
    .addHelpText(
      'after',
      `
Each account is written as workers write them (auth keys sealed under the farm's master key, the farm's session
TTL); its api_hash, proxy and 2FA password go to the session's sealed secrets; its user id to except_ids. An account
already in the farm, or twice in the input, is stored once and reported as a duplicate.

Examples:
  gramfarm sessions import bought/ strings.txt
  gramfarm sessions import accounts/desk/tdata --passcode 'local pass'
  gramfarm sessions import out/farm.gfsessions`,
    )
    .action(
      action(async (paths: string[], _opts: unknown, cmd: Command) => {
        const flags = flagsOf<ImportFlags>(cmd)
        const { configOf, connectRedis, keyringFromSpec, importSessionBundle, isSessionBundleFile, isSessionBundle } =
          await deps()
        const config = configOf(flags)
        const keyring = keyringFromSpec(config.keyring)
        const keys = async (): Promise<MasterKey[]> =>
          flags.keyFile !== undefined
            ? [await bundleKeyOf(flags.keyFile)]
            : keyring.keyIds.map((id) => keyring.key(id)).filter((k) => k !== undefined)
        const bundleOptions = {
          sealer: keyring,
          ...(config.sessionTtlSeconds !== undefined ? { ttlSeconds: config.sessionTtlSeconds } : {}),
          ...(flags.replace ? { replace: true } : {}),
        }
        const onlyBundles = (await Promise.all(paths.map((p) => isSessionBundleFile(p).catch(() => false)))).every(
          Boolean,
        )
        if (onlyBundles) {
          const bundleKeys = await keys()
          const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-sessions' })
          try {
            const summaries = []
            for (const path of paths)
              summaries.push(
                await importSessionBundle(redis, config.prefix, path, bundleKeys, {
                  ...bundleOptions,
                  secrets: new (await import('../../queue/session-secrets.ts')).SessionSecretStore(
                    redis,
                    config.prefix,
                    keyring,
                  ),
                }),
              )
            if (flags.json) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`)
            else
              for (const s of summaries)
                process.stdout.write(
                  `${s.file}: ${s.imported.length} session${s.imported.length === 1 ? '' : 's'} imported (key ${s.keyId})` +
                    `${s.existing.length ? `, ${s.existing.length} already in Redis left as they are (--replace overwrites)` : ''}\n`,
                )
            return summaries.some((s) => s.existing.length > 0) ? ExitCode.accountsFailed : ExitCode.ok
          } finally {
            redis.disconnect()
          }
        }
        const { testDcEndpointOf, textTable } = await deps()
        const { importSessions } = await import('../../farm/session-import.ts')
        const { whoAmI } = await import('../../farm/session-whoami.ts')
        const { SessionSecretStore } = await import('../../queue/session-secrets.ts')
        const { apiCredentials } = await import('../farm-config.ts')
        const { parseRsaPublicKey } = await import('../../mtproto/crypto/rsa-keys.ts')
        const { parseIdentityChoice } = await import('../../auth/device-identity.ts')
        const endpoint = config.testDcEndpointFile !== undefined ? testDcEndpointOf(config) : undefined
        const app = flags.resolve === false ? undefined : apiCredentials(config)
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-sessions' })
        try {
          const rows = await importSessions(redis, config.prefix, paths, {
            sealer: keyring,
            secrets: new SessionSecretStore(redis, config.prefix, keyring),
            ...(config.sessionTtlSeconds !== undefined ? { ttlSeconds: config.sessionTtlSeconds } : {}),
            ...(passcodeOf(flags) !== undefined ? { passcode: passcodeOf(flags)! } : {}),
            testMode: flags.testMode === true || endpoint !== undefined,
            ...(flags.dryRun ? { dryRun: true } : {}),
            identityChoice: parseIdentityChoice(config.identity),
            ...(app ? { defaultApiId: app.apiId } : {}),
            // Bundles found among the paths (or in a searched folder) go to the bundle reader.
            bundle: {
              isBundle: (head) => isSessionBundle(head),
              importBundle: async (path) => {
                const s = await importSessionBundle(redis, config.prefix, path, await keys(), {
                  ...bundleOptions,
                  secrets: new SessionSecretStore(redis, config.prefix, keyring),
                })
                return [
                  ...s.imported.map((i) => ({
                    source: path,
                    format: 'bundle' as const,
                    status: 'imported' as const,
                    session: i.name,
                    userId: i.userId,
                    warnings: [],
                  })),
                  ...s.existing.map((e) => ({
                    source: path,
                    format: 'bundle' as const,
                    status: 'duplicate' as const,
                    session: e.name,
                    duplicateOf: `farm:${e.name}`,
                    warnings: [],
                  })),
                ]
              },
            },
            ...(app
              ? {
                  resolveUser: (c) =>
                    whoAmI(
                      c.record,
                      { apiHash: c.sidecar.apiHash, proxy: c.sidecar.proxy },
                      {
                        ...app,
                        ...(endpoint ? { dcs: endpoint.dcs, rsaKeys: [parseRsaPublicKey(endpoint.publicKeyPem)] } : {}),
                      },
                    ),
                }
              : {}),
          })
          if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
          else printImportReport(rows, textTable)
          return rows.some((r) => r.status === 'error') ? ExitCode.accountsFailed : ExitCode.ok
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
