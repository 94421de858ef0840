// Which "life" of the farm's Redis we talk to. A replica promoted by Sentinel (or a cluster failover) starts a new
// replication history with a new replication id, and so does a Redis restarted without its data: writes the old
// primary took but had not yet replicated are gone. A login waiting for a code compares the epoch of its request
// with the current one; when they differ, the request (or the code delivered for it) may have been lost, so it
// asks again instead of waiting out its deadline for a code that will never come.
import type { Cluster, Redis } from 'ioredis'
import { isCluster } from './redis-connection.ts'

/** How long a read epoch is trusted: one INFO per worker thread per second, whatever the number of waiting logins. */
const DEFAULT_MAX_AGE_MS = 1_000

/** `master_replid` from INFO replication (the server's own id when it is a primary, its primary's when a replica). */
export function replicationId(info: string): string | null {
  const m = /^master_replid:([0-9a-f]+)\r?$/m.exec(info)
  return m ? m[1]! : null
}

export class RedisEpoch {
  private cached: { value: string; at: number } | null = null
  private reading: Promise<string> | null = null

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly maxAgeMs = DEFAULT_MAX_AGE_MS,
  ) {}

  /** The current epoch: the replication id, or on a cluster those of every primary, sorted and joined. */
  async current(): Promise<string> {
    const c = this.cached
    if (c !== null && Date.now() - c.at < this.maxAgeMs) return c.value
    this.reading ??= this.read().finally(() => {
      this.reading = null
    })
    return this.reading
  }

  private async read(): Promise<string> {
    const redis = this.redis
    let nodes = isCluster(redis) ? redis.nodes('master') : [redis]
    // A Cluster connection lists no node until it has read the slots: ask once, so the first epoch is not ''.
    if (nodes.length === 0 && isCluster(redis)) {
      await redis.ping()
      nodes = redis.nodes('master')
    }
    const ids = await Promise.all(nodes.map(async (n) => replicationId(await n.info('replication')) ?? 'unknown'))
    const value = ids.sort().join(',')
    this.cached = { value, at: Date.now() }
    return value
  }
}
