// Where the farm's Redis is and how to reach it, as one plain value (RedisEndpoint) that crosses into piscina
// threads and child processes unchanged, and the one factory every process opens its connections with: a single
// Redis (redis:// or rediss://, an ACL user, TLS with our own CA, client certificate and key), a Redis Cluster
// (ioredis Cluster from seed nodes) or a Sentinel-watched master. TLS material is named by file path in the
// endpoint and read the first time a process opens a connection (once per process/thread, then cached).
import { readFileSync } from 'node:fs'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { createRequire } from 'node:module'
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'
import { QueueError } from './queue-error.ts'

// ioredis is loaded on the first connection, not with this module: the endpoint types, checks and descriptions
// here are what the CLI's config needs, and `gramfarm --help` must not pay for a Redis client it does not use.
let ioredis: typeof import('ioredis') | undefined
function ioredisModule(): typeof import('ioredis') {
  return (ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis'))
}

/** TLS towards Redis (and its cluster nodes or sentinels). Paths are PEM files; nothing here is a secret itself. */
export interface RedisTls {
  /** CA certificate(s) that signed the server's certificate (instead of NODE_EXTRA_CA_CERTS / the system store). */
  caFile?: string
  /** Client certificate and its key, for a Redis that asks for one (`tls-auth-clients yes`). */
  certFile?: string
  keyFile?: string
  /** The name the server's certificate must carry, when it is not the host we connect to (SNI too). */
  servername?: string
  /** false accepts any certificate: for a throwaway test only, never in production. Default true. */
  rejectUnauthorized?: boolean
}

/** A Redis Cluster: any reachable nodes (`host:port`); ioredis discovers the rest from CLUSTER SLOTS. */
export interface RedisClusterEndpoint {
  nodes: string[]
}

/** A master (or replica) watched by Sentinel: where the sentinels are and the master's name there. */
export interface RedisSentinelEndpoint {
  /** `host:port` of each sentinel. */
  sentinels: string[]
  /** The monitored master's name (`sentinel monitor <name> …`). */
  name: string
  /** Connect to the master (default) or a replica. */
  role?: 'master' | 'slave'
  /** The sentinels' own credentials, when they differ from the data nodes'. */
  sentinelUsername?: string
  sentinelPassword?: string
  /** The sentinels speak TLS too (with the endpoint's `tls`). Default: as the data nodes. */
  sentinelTls?: boolean
}

/**
 * Where the farm's Redis is. Exactly one of `url`, `cluster` and `sentinel` says where; `username`/`password`
 * (an ACL user, or `default`'s password), `db` and `tls` apply to every data node. A `rediss://` URL turns TLS on
 * even without a `tls` object; credentials in the URL are used when `username`/`password` are absent.
 * JSON-serialisable on purpose: it is passed to worker threads as is.
 */
export interface RedisEndpoint {
  url?: string
  cluster?: RedisClusterEndpoint
  sentinel?: RedisSentinelEndpoint
  username?: string
  password?: string
  db?: number
  tls?: RedisTls
}

/** What the farm connects with, whichever kind of Redis it is: commands and pipelines are the same on both. */
export type RedisClient = Redis | Cluster

/** The endpoint cannot be used as given (bad URL or node, unreadable certificate): a configuration error. */
export class RedisEndpointError extends QueueError {
  override readonly name = 'RedisEndpointError'
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

export interface OpenRedisOptions {
  /** Who this connection is for (`coordinator`, `worker-thread`, `serve` …): its CLIENT SETNAME, seen in ACL LOG. */
  purpose: string
  /**
   * null (default): a command waits for Redis to come back (workers, followers, BullMQ's blocking connections);
   * a number: it fails after that many reconnects (producers that must not hang).
   */
  maxRetriesPerRequest?: number | null
  /** false: commands fail at once while not connected instead of waiting in ioredis' queue. Default true. */
  enableOfflineQueue?: boolean
  /** Do not connect until `connect()` (or the first command). */
  lazyConnect?: boolean
  /** Milliseconds a connection attempt may take (ioredis' default 10 s). */
  connectTimeoutMs?: number
  /** false: one attempt, no reconnects (a reachability probe). Default true. */
  reconnect?: boolean
  /**
   * true: commands issued in the same event-loop turn leave as one pipeline, one socket write (ioredis'
   * enableAutoPipelining), instead of a write each. For a connection of many concurrent short commands (a worker
   * thread's logins). Never for one that blocks (BZPOPMIN, XREAD BLOCK) or subscribes: a command would wait behind
   * the pipeline in flight. Connections duplicated from it (duplicateRedis) do not inherit it. Default false.
   */
  autoPipelining?: boolean
}

const tlsFiles = new Map<string, Buffer>()

function readPem(path: string, what: string): Buffer {
  const cached = tlsFiles.get(path)
  if (cached) return cached
  let pem: Buffer
  try {
    pem = readFileSync(path)
  } catch (err) {
    throw new RedisEndpointError(
      `Redis TLS ${what} file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    )
  }
  tlsFiles.set(path, pem)
  return pem
}

/** node's TLS options for the endpoint, or undefined for plain TCP. Reads the PEM files (once per process). */
export function redisTlsOptions(endpoint: RedisEndpoint): TlsOptions | undefined {
  const tls = endpoint.tls
  const rediss = endpoint.url !== undefined && endpoint.url.startsWith('rediss:')
  if (!tls && !rediss) return undefined
  return {
    ...(tls?.caFile !== undefined ? { ca: readPem(tls.caFile, 'CA') } : {}),
    ...(tls?.certFile !== undefined ? { cert: readPem(tls.certFile, 'certificate') } : {}),
    ...(tls?.keyFile !== undefined ? { key: readPem(tls.keyFile, 'key') } : {}),
    ...(tls?.servername !== undefined ? { servername: tls.servername } : {}),
    ...(tls?.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
  }
}

/** `host:port` (IPv6 as `[::1]:7000`) → its parts. */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^\s*(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})\s*$/.exec(text)
  const port = m ? Number(m[3]) : Number.NaN
  if (!m || port < 1 || port > 65535) throw new RedisEndpointError(`${what} "${text}" is not host:port`)
  return { host: (m[1] ?? m[2]) as string, port }
}

/** Checks the endpoint's shape (one of url/cluster/sentinel, URLs, host:port lists) without connecting. */
export function checkRedisEndpoint(endpoint: RedisEndpoint): RedisEndpoint {
  const kinds = [endpoint.url, endpoint.cluster, endpoint.sentinel].filter((k) => k !== undefined).length
  if (kinds > 1) throw new RedisEndpointError('a Redis endpoint is one of: a URL, cluster nodes, or sentinels')
  if (endpoint.url !== undefined) {
    let parsed: URL
    try {
      parsed = new URL(endpoint.url)
    } catch {
      throw new RedisEndpointError(`Redis URL "${maskRedisUrl(endpoint.url)}" is not a URL (redis://host:port)`)
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
      throw new RedisEndpointError('the Redis URL must start with redis:// or rediss://')
  }
  if (endpoint.cluster) {
    if (endpoint.cluster.nodes.length === 0) throw new RedisEndpointError('Redis Cluster: no nodes given')
    for (const n of endpoint.cluster.nodes) parseHostPort(n, 'Redis Cluster node')
  }
  if (endpoint.sentinel) {
    if (endpoint.sentinel.sentinels.length === 0) throw new RedisEndpointError('Redis Sentinel: no sentinels given')
    if (!endpoint.sentinel.name) throw new RedisEndpointError('Redis Sentinel: the master name is missing')
    for (const s of endpoint.sentinel.sentinels) parseHostPort(s, 'Redis sentinel')
  }
  if (endpoint.db !== undefined && endpoint.cluster)
    throw new RedisEndpointError('Redis Cluster has only database 0: drop "db"')
  return endpoint
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`. */
export function maskRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/\/\/:[^@/]*@/, '//:***@')
}

/** The endpoint for logs and messages: never a password; the ACL user is named (it says whose permissions). */
export function describeRedisEndpoint(endpoint: RedisEndpoint): string {
  const user = endpoint.username !== undefined ? ` as ${endpoint.username}` : ''
  const tls = endpoint.tls && !endpoint.url?.startsWith('rediss:') ? ' (TLS)' : ''
  if (endpoint.cluster) return `Redis Cluster ${endpoint.cluster.nodes.join(',')}${user}${tls}`
  if (endpoint.sentinel)
    return `Redis ${endpoint.sentinel.role === 'slave' ? 'replica' : 'master'} "${endpoint.sentinel.name}" via sentinels ${endpoint.sentinel.sentinels.join(',')}${user}${tls}`
  return `${maskRedisUrl(endpoint.url ?? DEFAULT_REDIS_URL)}${user}${tls}`
}

/** ioredis' options for one data node (shared by single, sentinel and every cluster node). */
function nodeOptions(endpoint: RedisEndpoint, opts: OpenRedisOptions): RedisOptions {
  const tls = redisTlsOptions(endpoint)
  return {
    connectionName: opts.purpose.startsWith('gramfarm') ? opts.purpose : `gramfarm-${opts.purpose}`,
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? null : opts.maxRetriesPerRequest,
    ...(opts.enableOfflineQueue === false ? { enableOfflineQueue: false } : {}),
    ...(opts.lazyConnect ? { lazyConnect: true } : {}),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeout: opts.connectTimeoutMs } : {}),
    ...(opts.reconnect === false ? { retryStrategy: () => null, reconnectOnError: () => false } : {}),
    ...(opts.autoPipelining === true ? { enableAutoPipelining: true } : {}),
    ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
    ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
    ...(endpoint.db !== undefined ? { db: endpoint.db } : {}),
    ...(tls ? { tls } : {}),
  }
}

/**
 * Opens a connection to the endpoint: a Cluster for `cluster`, otherwise a Redis (single or via Sentinel).
 * Errors go to the 'error' listener the caller adds (one is added that ignores them, as ioredis reconnects by
 * itself and a failed command surfaces where it is awaited). RedisEndpointError when the endpoint is unusable.
 */
export function openRedis(endpoint: RedisEndpoint, opts: OpenRedisOptions): RedisClient {
  checkRedisEndpoint(endpoint)
  const node = nodeOptions(endpoint, opts)
  let client: RedisClient
  if (endpoint.cluster) {
    const { lazyConnect, enableOfflineQueue, maxRetriesPerRequest, enableAutoPipelining, ...perNode } = node
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...perNode, maxRetriesPerRequest },
      // The Cluster pipelines (per group of slots on the same nodes), not its node connections.
      ...(enableAutoPipelining === true ? { enableAutoPipelining } : {}),
      ...(lazyConnect ? { lazyConnect } : {}),
      ...(enableOfflineQueue === false ? { enableOfflineQueue } : {}),
      ...(opts.reconnect === false ? { clusterRetryStrategy: () => null } : {}),
      // TLS certificates name hosts, not the IPs CLUSTER SLOTS announces: keep the names we were given.
      ...(perNode.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    }
    client = new (ioredisModule().Cluster)(
      endpoint.cluster.nodes.map((n) => parseHostPort(n, 'Redis Cluster node')),
      clusterOptions,
    )
  } else if (endpoint.sentinel) {
    const s = endpoint.sentinel
    client = new (ioredisModule().Redis)({
      ...node,
      sentinels: s.sentinels.map((x) => parseHostPort(x, 'Redis sentinel')),
      name: s.name,
      role: s.role ?? 'master',
      ...(s.sentinelUsername !== undefined ? { sentinelUsername: s.sentinelUsername } : {}),
      ...(s.sentinelPassword !== undefined ? { sentinelPassword: s.sentinelPassword } : {}),
      ...(node.tls ? { enableTLSForSentinelMode: true } : {}),
      ...(node.tls && s.sentinelTls !== false ? { sentinelTLS: node.tls } : {}),
      ...(opts.reconnect === false ? { sentinelRetryStrategy: () => null } : {}),
    })
  } else {
    client = new (ioredisModule().Redis)(endpoint.url ?? DEFAULT_REDIS_URL, node)
  }
  client.on('error', () => undefined)
  return client
}

/**
 * Another connection to the same Redis with other options (a subscriber, BullMQ's QueueEvents): works for a
 * Cluster too, whose `duplicate()` takes startup nodes first.
 */
export function duplicateRedis(
  client: RedisClient,
  overrides: Pick<RedisOptions, 'maxRetriesPerRequest' | 'enableOfflineQueue' | 'connectionName' | 'autoResubscribe'>,
): RedisClient {
  // Never auto-pipelined, whatever the original is: a copy is for subscribing or blocking reads.
  const copy = isCluster(client)
    ? client.duplicate(undefined, {
        enableAutoPipelining: false,
        redisOptions: { ...client.options.redisOptions, ...overrides, enableAutoPipelining: false },
      })
    : client.duplicate({ ...overrides, enableAutoPipelining: false })
  copy.on('error', () => undefined)
  return copy
}

/** Whether the client is a Redis Cluster connection (SCAN, KEYS and Pub/Sub then need care). */
export function isCluster(client: RedisClient): client is Cluster {
  // ioredis marks its clients (true on a Cluster, false on a Redis): no instanceof, so ioredis need not be loaded.
  return (client as { isCluster?: boolean }).isCluster === true
}
