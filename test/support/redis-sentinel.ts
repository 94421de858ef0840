// A primary, its replica and a Sentinel watching them — Debian's redis-server and redis-sentinel on free loopback
// ports — for tests of a farm whose Redis fails over. `failover()` kills the primary the way a crash does and
// waits until Sentinel has promoted the replica; the farm reaches whichever is primary through the Sentinel.
import { after } from 'node:test'
import { Redis } from 'ioredis'
import type { RedisEndpoint } from '../../src/queue/redis-connection.ts'
import { startRedisServer, type RedisServer } from './redis-servers.ts'

export const SENTINEL_GROUP = 'gramfarm-test'

export interface SentinelGroup {
  readonly primary: RedisServer
  readonly replica: RedisServer
  readonly sentinel: RedisServer
  /** How the farm connects: through the Sentinel, to the group's current primary. */
  readonly endpoint: RedisEndpoint
  /** host:port of the primary Sentinel names now. */
  currentPrimary(): Promise<string>
  /** Waits until the replica has every write the primary took (its offset caught up). */
  replicaCaughtUp(): Promise<void>
  /**
   * Kills the primary (SIGKILL: no goodbye to anyone) and waits until Sentinel names the replica primary.
   * `beforeKill` runs with the replica stopped (SIGSTOP) and cut off, so whatever it writes to the primary never
   * replicates: the writes a real failover loses. Returns how long the promotion took.
   */
  failover(beforeKill?: () => Promise<void>): Promise<number>
}

const DATA_ARGS = ['--save', '', '--appendonly', 'no']

export async function startSentinelGroup(): Promise<SentinelGroup> {
  const primary = await startRedisServer({ args: DATA_ARGS })
  const replica = await startRedisServer({ args: [...DATA_ARGS, '--replicaof', primary.host, String(primary.port)] })
  const sentinel = await startRedisServer({
    binary: 'redis-sentinel',
    configText: [
      `sentinel monitor ${SENTINEL_GROUP} ${primary.host} ${primary.port} 1`,
      // A primary silent for 1 s is down (Telegram-speed tests, not production's 30 s).
      `sentinel down-after-milliseconds ${SENTINEL_GROUP} 1000`,
      `sentinel failover-timeout ${SENTINEL_GROUP} 5000`,
      `sentinel parallel-syncs ${SENTINEL_GROUP} 1`,
      '',
    ].join('\n'),
  })
  const admin = new Redis({ host: sentinel.host, port: sentinel.port, maxRetriesPerRequest: 1 })
  admin.on('error', () => undefined)
  const replicaConn = new Redis({ host: replica.host, port: replica.port, maxRetriesPerRequest: 1, lazyConnect: true })
  replicaConn.on('error', () => undefined)
  after(() => {
    admin.disconnect()
    replicaConn.disconnect()
  })

  const currentPrimary = async (): Promise<string> => {
    const [host, port] = (await admin.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_GROUP)) as [string, string]
    return `${host}:${port}`
  }
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline)
        throw new Error(`${what}: not within ${timeoutMs} ms\n${sentinel.output()}\n${replica.output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  // Sentinel learns of the replica from the primary's INFO (every 10 s at first): wait until it knows it, or a
  // failover would find no replica to promote.
  await waitFor('the replica is in sync', async () =>
    /master_link_status:up/.test(await replicaConn.info('replication')),
  )
  await waitFor('Sentinel knows the replica', async () => {
    const replicas = (await admin.call('SENTINEL', 'replicas', SENTINEL_GROUP)) as string[][]
    return replicas.some((r) => r.includes(String(replica.port)) && !r.join(' ').includes('s_down'))
  })

  const replicaCaughtUp = async (): Promise<void> => {
    const primaryConn = new Redis({ host: primary.host, port: primary.port, maxRetriesPerRequest: 1 })
    try {
      // WAIT returns once this connection's writes (none) and everything before them reached 1 replica.
      await primaryConn.call('WAIT', '1', '5000')
    } finally {
      primaryConn.disconnect()
    }
  }

  return {
    primary,
    replica,
    sentinel,
    endpoint: { sentinel: { sentinels: [`${sentinel.host}:${sentinel.port}`], name: SENTINEL_GROUP } },
    currentPrimary,
    replicaCaughtUp,
    async failover(beforeKill) {
      const replicaAddr = `${replica.host}:${replica.port}`
      if (beforeKill) {
        replica.process.kill('SIGSTOP')
        // A stopped replica still has its socket: the kernel would hand it what the primary sent meanwhile. The
        // primary drops the link instead, so what beforeKill writes reaches the primary only.
        const primaryConn = new Redis({ host: primary.host, port: primary.port, maxRetriesPerRequest: 1 })
        await primaryConn.call('CLIENT', 'KILL', 'TYPE', 'replica').finally(() => primaryConn.disconnect())
        try {
          await beforeKill()
        } finally {
          await primary.stop('SIGKILL')
          replica.process.kill('SIGCONT')
        }
      } else await primary.stop('SIGKILL')
      const t0 = Date.now()
      await waitFor('Sentinel promotes the replica', async () => (await currentPrimary()) === replicaAddr)
      await waitFor('the promoted replica takes writes', async () =>
        /role:master/.test(await replicaConn.info('replication')),
      )
      return Date.now() - t0
    },
  }
}
