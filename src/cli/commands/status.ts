// `gramfarm status`: what the farm is doing — the login queue, the workers connected, the recent runs and their
// final states so far, sessions kept in Redis.
import type { Command } from 'commander'
import type { Redis } from 'ioredis'
import { CliError, ExitCode } from '../exit-codes.ts'
import { action, flagsOf } from './command-kit.ts'

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let n = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    n += keys.length
  } while (cursor !== '0')
  return n
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the login queue, connected workers, recent runs and sessions in Redis')
    .option('--runs <n>', 'how many recent runs to show', '5')
    .option('--run <runId>', 'show one run in detail (every account finished so far)')
    .option('--json', 'print the status as JSON')
    .option('--show-phones', 'show phone numbers in full in the --run table (masked by default; --json has them in full)')
    .addHelpText('after', `
With --run, the exit code says whether the run is over: 0 every account finished, 4 some still pending,
2 no such run in Redis.

Example:
  gramfarm status --json
  gramfarm status --run run-20261101T120000Z-a1b2c3`)
    .action(action(async (_opts: unknown, cmd: Command) => {
      const flags = flagsOf<{ runs: string; run?: string; json?: boolean; showPhones?: boolean }>(cmd)
      const [{ configOf, connectRedis, positiveInt }, { FarmRedisKeys }, { maskRedisUrl }, { STATE_ORDER, textTable, shownAccount }, { listRedisSessions }, { readRunStatus }, { LOGIN_QUEUE }, { ExceptIdsRegistry }, { Queue }] = await Promise.all([
        import('../cli-context.ts'), import('../../queue/redis-keys.ts'), import('../redis-access.ts'), import('../run-summary.ts'), import('../../farm/session-export.ts'), import('../../farm/run-status.ts'),
        import('../../queue/login-job.ts'), import('../../queue/except-ids-registry.ts'), import('bullmq'),
      ])
      const config = configOf(flags)
      const keys = new FarmRedisKeys(config.prefix)
      const limit = positiveInt(flags.runs, '--runs') ?? 5
      const redis = await connectRedis(config, { failFast: true, name: 'gramfarm-status' })
      const queue = new Queue(LOGIN_QUEUE, { connection: redis, prefix: keys.bullPrefix })
      try {
        if (flags.run !== undefined) {
          const run = await readRunStatus(redis, config.prefix, flags.run)
          if (run === null) throw new CliError(`no run ${flags.run} in Redis (runs are kept 7 days; \`gramfarm status\` lists the recent ones)`, ExitCode.usage)
          if (flags.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`)
          else {
            process.stdout.write(`run ${run.runId} (${run.label ?? 'no label'}, ${run.createdAt}): ${run.finished}/${run.total} finished\n`)
            const rows = run.accounts.map((a) => [shownAccount(a, flags.showPhones === true), a.kind, a.state, a.userId ?? '', a.dcId !== undefined ? String(a.dcId) : '', a.followedRun ? `followed run ${a.followedRun}` : ''])
            if (rows.length > 0) process.stdout.write(`${textTable(['account', 'kind', 'state', 'user id', 'dc', 'note'], rows)}\n`)
          }
          return run.finished >= run.total ? ExitCode.ok : ExitCode.timedOut
        }
        const [counts, workers, runIds, sessions, authorized, codeRequests] = await Promise.all([
          queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
          queue.getWorkers(),
          redis.zrevrange(keys.runs, 0, limit - 1),
          listRedisSessions(redis, config.prefix),
          redis.scard(new ExceptIdsRegistry({ redis, prefix: config.prefix }).keys.authorizedIds),
          countKeys(redis, keys.codeChannel.requestPattern),
        ])
        const runs = (await Promise.all(runIds.map((id) => readRunStatus(redis, config.prefix, id)))).filter((r) => r !== null)
        const status = {
          redis: maskRedisUrl(config.redisUrl),
          prefix: config.prefix,
          queue: counts,
          workers: workers.length,
          sessionsInRedis: sessions.length,
          authorizedUsers: authorized,
          codeRequestsRecent: codeRequests,
          runs: runs.map(({ accounts: _a, ...r }) => r),
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
          return ExitCode.ok
        }
        const out = [
          `redis ${status.redis}  prefix ${status.prefix}`,
          `queue: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join('  ')}`,
          `workers connected: ${status.workers}   sessions in Redis: ${status.sessionsInRedis}   authorized users: ${authorized}   recent code requests: ${codeRequests}`,
        ]
        if (runs.length > 0) {
          const groups = STATE_ORDER.filter((s) => runs.some((r) => r.states[s]))
          out.push('', textTable(['run', 'created', 'finished', ...groups],
            runs.map((r) => [r.runId, r.createdAt.replace('T', ' ').slice(0, 19), `${r.finished}/${r.total}`, ...groups.map((g) => String(r.states[g] ?? 0))])))
        } else out.push('', 'no runs yet')
        process.stdout.write(`${out.join('\n')}\n`)
        return ExitCode.ok
      } finally {
        await queue.close()
        redis.disconnect()
      }
    }))
}
