// `cluster_vs_single` of `npm run bench -- farm`: the same farm (an in-process worker, a coordinator, a code provider
// answering at once) logging fresh accounts in against one Redis and against a 3-master Redis Cluster started here
// from Debian's redis-server (test/support/redis-cluster.ts), in one run and in the order single, cluster, cluster,
// single (a drift of the machine's load over the run weighs on both alike). Reports accounts/s of each and the ratio
// cluster ÷ single of their means.
import type { AccountSpec } from '../../src/farm/accounts-file.ts'
import { Coordinator } from '../../src/farm/coordinator.ts'
import { deleteKeysUnder } from '../../src/cli/redis-access.ts'
import { openRedis, type RedisEndpoint } from '../../src/queue/redis-connection.ts'
import { BenchCodeProvider } from './bench-code-provider.ts'
import { startFarmWorker, type FarmWorkerOptions } from '../../src/worker/farm-worker.ts'
import { startRedisCluster } from '../../test/support/redis-cluster.ts'

export interface ClusterVsSingleOptions {
  /** The single Redis (the bench's own). */
  readonly single: RedisEndpoint
  /** Accounts per run (four runs). */
  readonly accounts: number
  /** Fresh test numbers for one run: distinct for each `run` (0..3). */
  readonly phonesOf: (run: number, count: number) => string[]
  /** The code of a test number. */
  readonly codeOf: (phone: string) => string
  /** The worker's options, as the bench's other farm runs use them (threads, concurrency, pacing, test DC…). */
  readonly worker: Omit<FarmWorkerOptions, 'redis' | 'prefix'>
}

export interface ClusterVsSingleResult {
  /** accounts/s of each run, in the order run. */
  readonly runs: readonly { readonly target: 'single' | 'cluster'; readonly perSec: number; readonly seconds: number }[]
  readonly singlePerSec: number
  readonly clusterPerSec: number
  /** cluster ÷ single (goal ≥ 0.9). */
  readonly ratio: number
}

/** One run of `specs` on `endpoint` under a fresh prefix: worker, provider and coordinator started and stopped here. */
async function runOn(
  endpoint: RedisEndpoint,
  tag: string,
  specs: AccountSpec[],
  opts: ClusterVsSingleOptions,
): Promise<{ perSec: number; seconds: number }> {
  const prefix = `{gramfarm-bench-${tag}:${process.pid}}:`
  const redis = openRedis(endpoint, { purpose: 'bench' })
  const provider = await BenchCodeProvider.start({ redis, prefix, codeOf: opts.codeOf })
  const worker = await startFarmWorker({ ...opts.worker, redis: endpoint, prefix })
  const coordinator = new Coordinator({ redis, prefix })
  try {
    const start = Date.now()
    const run = await coordinator.enqueue(specs)
    const outcome = await coordinator.follow(run, { timeoutMs: 30 * 60_000, pollMs: 200 })
    if (outcome.timedOut) throw new Error(`the ${tag} run did not finish`)
    const authorized = outcome.results.filter((r) => r.state === 'authorized')
    if (authorized.length < specs.length)
      console.log(`  ! ${tag}: ${specs.length - authorized.length} of ${specs.length} logins did not end authorized`)
    const seconds = (Math.max(...authorized.map((r) => r.finishedAt!)) - start) / 1000
    return { perSec: authorized.length / seconds, seconds }
  } finally {
    await coordinator.close()
    await worker.close()
    await provider.close()
    await deleteKeysUnder(redis, prefix)
    redis.disconnect()
  }
}

export async function measureClusterVsSingle(opts: ClusterVsSingleOptions): Promise<ClusterVsSingleResult> {
  const started = performance.now()
  const cluster = await startRedisCluster({ stopAfterTest: false })
  console.log(
    `Redis Cluster of 3 masters up in ${((performance.now() - started) / 1000).toFixed(1)} s (${cluster.nodes.join(', ')})`,
  )
  const clusterEndpoint: RedisEndpoint = { cluster: { nodes: [...cluster.nodes] } }
  const order = ['single', 'cluster', 'cluster', 'single'] as const
  const runs: { target: 'single' | 'cluster'; perSec: number; seconds: number }[] = []
  try {
    for (const [i, target] of order.entries()) {
      const specs: AccountSpec[] = opts.phonesOf(i, opts.accounts).map((phone, line) => ({
        kind: 'user',
        phone,
        source: { file: `bench-${target}`, line: line + 1 },
      }))
      const r = await runOn(target === 'single' ? opts.single : clusterEndpoint, `${target}${i}`, specs, opts)
      runs.push({ target, ...r })
    }
  } finally {
    await cluster.stop()
  }
  const mean = (t: 'single' | 'cluster'): number => {
    const of = runs.filter((r) => r.target === t)
    return of.reduce((a, r) => a + r.perSec, 0) / of.length
  }
  const singlePerSec = mean('single')
  const clusterPerSec = mean('cluster')
  return { runs, singlePerSec, clusterPerSec, ratio: clusterPerSec / singlePerSec }
}
