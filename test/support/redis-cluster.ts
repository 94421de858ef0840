// A real Redis Cluster for tests and benchmarks: N masters (no replicas) from Debian's redis-server on free loopback
// ports (the cluster bus on another free port each, never port+10000 by chance), no persistence, joined with
// `redis-cli --cluster create`, ready once every node reports cluster_state:ok and knows every other node. Stopped
// (processes killed, directories removed) after the test file, or by stop() outside a test.
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import { freeLoopbackPort, startRedisServer, type RedisServer } from './redis-servers.ts'

export interface RedisClusterOptions {
  /** Default 3 (the fewest masters `redis-cli --cluster create` accepts). */
  readonly masters?: number
  /** false: not stopped by node:test's `after` (a benchmark calls stop()). Default true. */
  readonly stopAfterTest?: boolean
}

export interface RedisClusterHandle {
  /** `host:port` of every master: the seed nodes of a cluster endpoint. */
  readonly nodes: readonly string[]
  readonly servers: readonly RedisServer[]
  /** An ioredis Cluster connection to it (closed by the caller). */
  connect(options?: ClusterOptions): Cluster
  /** Kills every node and removes their directories. */
  stop(): Promise<void>
}

/** `count` distinct free loopback ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) {
    const p = await freeLoopbackPort()
    if (p !== 6379 && p + 10000 !== 6379) ports.add(p)
  }
  return [...ports]
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))
    })
  })
}

async function clusterInfo(host: string, port: number): Promise<Record<string, string>> {
  const r = new Redis({ host, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 1 })
  r.on('error', () => undefined)
  try {
    await r.connect()
    const text = (await r.call('CLUSTER', 'INFO')) as string
    return Object.fromEntries(
      text
        .split(/\r?\n/)
        .filter((l) => l.includes(':'))
        .map((l) => l.split(':', 2) as [string, string]),
    )
  } finally {
    r.disconnect()
  }
}

/** Starts a `masters`-node Redis Cluster on loopback and waits until it serves every slot. */
export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3
  if (masters < 3) throw new RangeError('redis-cli --cluster create needs at least 3 masters')
  const ports = await freePorts(masters * 2)
  const servers: RedisServer[] = []
  const stop = async (): Promise<void> => {
    for (const s of servers) {
      await s.stop('SIGKILL')
      rmSync(s.dir, { recursive: true, force: true })
    }
  }
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer({
          port: ports[i]!,
          stopAfterTest: opts.stopAfterTest,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port', // the bus: its own free port, not port+10000
            String(ports[masters + i]!),
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '5000',
            '--save',
            '',
            '--appendonly',
            'no',
          ],
        }),
      )
    }
    const nodes = servers.map((s) => `${s.host}:${s.port}`)
    await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], 60_000)
    const deadline = Date.now() + 30_000
    for (;;) {
      const infos = await Promise.all(servers.map((s) => clusterInfo(s.host, s.port).catch(() => ({}))))
      const ready = infos.every(
        (i: Record<string, string>) =>
          i['cluster_state'] === 'ok' &&
          i['cluster_slots_ok'] === '16384' &&
          Number(i['cluster_known_nodes']) === masters,
      )
      if (ready) break
      if (Date.now() > deadline) throw new Error(`Redis Cluster not ready in 30 s: ${JSON.stringify(infos)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    return {
      nodes,
      servers,
      connect: (options = {}) => {
        const c = new Cluster(
          servers.map((s) => ({ host: s.host, port: s.port })),
          { ...options, redisOptions: { maxRetriesPerRequest: null, ...options.redisOptions } },
        )
        c.on('error', () => undefined)
        return c
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
