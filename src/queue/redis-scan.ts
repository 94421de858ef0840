// Walking and deleting keys by pattern on one Redis or on a Redis Cluster. SCAN is per node: on a Cluster each
// master holds only its slots' keys, so every master is scanned (a farm's keys share one hash tag, hence one
// master, but a caller's pattern need not). A multi-key UNLINK must stay within one slot there, so a Cluster's
// keys are unlinked one command per key.
import type { Cluster, Redis } from 'ioredis'
import { isCluster } from './redis-connection.ts'

/** A connection to one Redis or to a Cluster. */
export type RedisLike = Redis | Cluster

/** A glob pattern matching every key that starts with `prefix` literally (SCAN's specials escaped). */
export function keysUnderPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
}

/** The keys matching `pattern`, in batches (each key once per node; a key may repeat while slots migrate). */
export async function* scanKeys(redis: RedisLike, pattern: string, count = 1000): AsyncGenerator<string[]> {
  if (isCluster(redis) && redis.nodes('master').length === 0) await redis.ping() // connected: nodes known
  const nodes: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis]
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count)
      cursor = next
      if (keys.length > 0) yield keys
    } while (cursor !== '0')
  }
}

/** Every key matching `pattern`, deduplicated. */
export async function listKeys(redis: RedisLike, pattern: string): Promise<string[]> {
  const seen = new Set<string>()
  for await (const keys of scanKeys(redis, pattern)) for (const k of keys) seen.add(k)
  return [...seen]
}

/** UNLINKs `keys`; returns how many existed. */
export async function unlinkKeys(redis: RedisLike, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0
  if (!isCluster(redis)) return redis.unlink(...keys)
  const removed = await Promise.all(keys.map((k) => redis.unlink(k)))
  return removed.reduce((a, b) => a + b, 0)
}
