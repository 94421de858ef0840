// `gramfarm status`: what the farm is doing — the login queue, the workers connected, the recent runs and their
// final states so far, sessions kept in Redis.
import type { Command } from 'commander'
import { listKeys, type RedisLike } from '../../queue/redis-scan.ts'
import { CliError, ExitCode } from '../exit-codes.ts'
import { action, flagsOf } from './command-kit.ts'

async function countKeys(redis: RedisLike, pattern: string): Promise<number> {
  return (await listKeys(redis, pattern)).length
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the login queue, connected workers, recent runs and sessions in Redis')
    .option('--runs <n>', 'how many recent runs to show', '5')
    .option(
      '--run <runId>',
      'show one run in detail: every account finished so far, and what each pending one waits for',
    )
    .option('--watch', 'with --run: follow the run until it ends, showing it again whenever it changes (Ctrl-C stops)')
    .option('--interval <seconds>', 'with --watch: how often to look (default 2)')
    .option('--json', 'print the status as JSON')
    .option(
      '--show-phones',
      'show phone numbers in full in the --run table (masked by default; --json has them in full)',
    )
    .addHelpText(
      'after',
      `
With --run, the exit code says whether the run is over: 0 every account finished, 4 some still pending,
2 no such run in Redis. Pending accounts say what they wait for: queued, running, code, password, qr_scan
(a phone to scan its QR code) or flood_wait, with the seconds left. --watch follows the run until its last
account finishes (exit 0); with --json it prints one JSON object per change.

Example:
  gramfarm status --json
  gramfarm status --run run-20261101T120000Z-a1b2c3 --watch`,
    )
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const flags = flagsOf<{
          runs: string
          run?: string
          json?: boolean
          showPhones?: boolean
          watch?: boolean
          interval?: string
        }>(cmd)
        if (flags.watch && flags.run === undefined)
          throw new CliError('--watch follows one run: give it --run <runId>', ExitCode.usage)
        const [
          { configOf, connectRedis, positiveInt, secondsOption, interruptSignal },
          { FarmRedisKeys },
          { describeRedisEndpoint },
          { STATE_ORDER, textTable, shownAccount },
          { listRedisSessions },
          { readRunStatus, readPendingAccounts },
          { LOGIN_QUEUE },
          { ExceptIdsRegistry },
          { Queue },
          { readSessionHealth, summarizeSessionHealth },
        ] = await Promise.all([
          import('../cli-context.ts'),
          import('../../queue/redis-keys.ts'),
          import('../redis-access.ts'),
          import('../run-summary.ts'),
          import('../../farm/session-export.ts'),
          import('../../farm/run-status.ts'),
          import('../../queue/login-job.ts'),
          import('../../queue/except-ids-registry.ts'),
          import('bullmq'),
          import('../../farm/session-health-status.ts'),
        ])
        const config = configOf(flags)
        const keys = new FarmRedisKeys(config.prefix)
        const limit = positiveInt(flags.runs, '--runs') ?? 5
        const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-status' })
        const queue = new Queue(LOGIN_QUEUE, { connection: redis, prefix: keys.bullPrefix })
        try {
          if (flags.run !== undefined) {
            const runId = flags.run
            const intervalMs = secondsOption(flags.interval, '--interval') ?? 2_000
            /** The run as it stands: what to print (text, or one JSON object), and whether it is over. */
            const snapshot = async (): Promise<{ out: string; over: boolean }> => {
              const run = await readRunStatus(redis, config.prefix, runId)
              if (run === null)
                throw new CliError(
                  `no run ${runId} in Redis (runs are kept 7 days; \`gramfarm status\` lists the recent ones)`,
                  ExitCode.usage,
                )
              const over = run.finished >= run.total
              const pending = over ? [] : await readPendingAccounts(queue, runId, new Set(run.attachedAccounts))
              if (flags.json)
                return { out: JSON.stringify({ ...run, pending }, null, flags.watch ? undefined : 2), over }
              const rows = [
                ...run.accounts.map((a) => [
                  shownAccount(a, flags.showPhones === true),
                  a.kind,
                  a.state,
                  a.userId ?? '',
                  a.dcId !== undefined ? String(a.dcId) : '',
                  a.followedRun ? `followed run ${a.followedRun}` : '',
                ]),
                ...pending.map((p) => [
                  shownAccount(p, flags.showPhones === true),
                  p.kind,
                  'pending',
                  '',
                  '',
                  `waits for ${p.waitingFor.replace('_', ' ')}${p.secondsLeft !== undefined ? ` (${p.secondsLeft} s left)` : ''}`,
                ]),
              ]
              const head = `run ${run.runId} (${run.label ?? 'no label'}, ${run.createdAt}): ${run.finished}/${run.total} finished`
              return {
                out:
                  rows.length > 0
                    ? `${head}\n${textTable(['account', 'kind', 'state', 'user id', 'dc', 'note'], rows)}`
                    : head,
                over,
              }
            }
            if (!flags.watch) {
              const { out, over } = await snapshot()
              process.stdout.write(`${out}\n`)
              return over ? ExitCode.ok : ExitCode.timedOut
            }
            // Follow: print whenever the run changes (seconds left alone do not count), until it is over or Ctrl-C.
            const stop = interruptSignal()
            try {
              let last = ''
              for (;;) {
                const { out, over } = await snapshot()
                const shape = out.replace(/\d+ s left/g, '')
                if (shape !== last) {
                  process.stdout.write(`${flags.json ? '' : `— ${new Date().toISOString().slice(11, 19)}\n`}${out}\n`)
                  last = shape
                }
                if (over) return ExitCode.ok
                await new Promise<void>((resolve) => {
                  const t = setTimeout(resolve, intervalMs)
                  stop.signal.addEventListener(
                    'abort',
                    () => {
                      clearTimeout(t)
                      resolve()
                    },
                    { once: true },
                  )
                })
                if (stop.signal.aborted) return ExitCode.interrupted
              }
            } finally {
              stop.dispose()
            }
          }
          const [counts, workers, runIds, sessions, authorized, codeRequests, health] = await Promise.all([
            queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
            queue.getWorkers(),
            redis.zrevrange(keys.runs, 0, limit - 1),
            listRedisSessions(redis, config.prefix),
            redis.scard(new ExceptIdsRegistry({ redis, prefix: config.prefix }).keys.authorizedIds),
            countKeys(redis, keys.codeChannel.requestPattern),
            readSessionHealth(redis, config.prefix),
          ])
          const runs = (await Promise.all(runIds.map((id) => readRunStatus(redis, config.prefix, id)))).filter(
            (r) => r !== null,
          )
          const status = {
            redis: describeRedisEndpoint(config.redis),
            prefix: config.prefix,
            queue: counts,
            workers: workers.length,
            sessionsInRedis: sessions.length,
            authorizedUsers: authorized,
            codeRequestsRecent: codeRequests,
            runs: runs.map(({ accounts: _a, ...r }) => r),
            sessionHealth: summarizeSessionHealth(health),
          }
          if (flags.json) {
            process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
            return ExitCode.ok
          }
          const out = [
            `redis ${status.redis}  prefix ${status.prefix}`,
            `queue: ${Object.entries(counts)
              .map(([k, v]) => `${k} ${v}`)
              .join('  ')}`,
            `workers connected: ${status.workers}   sessions in Redis: ${status.sessionsInRedis}   authorized users: ${authorized}   recent code requests: ${codeRequests}`,
          ]
          if (status.sessionHealth.checked > 0) {
            const h = status.sessionHealth
            out.push(
              `session health (\`sessions check\`, ${h.oldestCheck?.replace('T', ' ').slice(0, 16)} – ${h.newestCheck?.replace('T', ' ').slice(0, 16)} UTC): ${Object.entries(
                h.states,
              )
                .map(([state, n]) => `${state} ${n}`)
                .join('  ')}`,
            )
          }
          if (runs.length > 0) {
            const groups = STATE_ORDER.filter((s) => runs.some((r) => r.states[s]))
            out.push(
              '',
              textTable(
                ['run', 'created', 'finished', ...groups],
                runs.map((r) => [
                  r.runId,
                  r.createdAt.replace('T', ' ').slice(0, 19),
                  `${r.finished}/${r.total}`,
                  ...groups.map((g) => String(r.states[g] ?? 0)),
                ]),
              ),
            )
          } else out.push('', 'no runs yet')
          process.stdout.write(`${out.join('\n')}\n`)
          return ExitCode.ok
        } finally {
          await queue.close()
          redis.disconnect()
        }
      }),
    )
}
