// Getting to Redis from the CLI: a quick reachability probe (so a missing Redis is one clear message and exit 3,
// not a hang), the connections each role needs, and — for the demo only — a throwaway redis-server of our own.
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import {
  describeRedisEndpoint,
  isCluster,
  maskRedisUrl,
  openRedis,
  type RedisClient,
  type RedisEndpoint,
} from '../queue/redis-connection.ts'
import { keysUnderPattern, scanKeys, unlinkKeys, type RedisLike } from '../queue/redis-scan.ts'
import { CliError, ExitCode } from './exit-codes.ts'

export { describeRedisEndpoint, maskRedisUrl }

/** How to get a Redis, for the message of exit code 3. */
export const REDIS_HINT =
  'Start one (e.g. `redis-server`, or `docker run -d -p 6379:6379 redis:7`), or point REDIS_URL / --redis-url (or the config file\'s "redis") at yours.'

/**
 * Redis answered, but refused who we said we are: no password where one is required (NOAUTH), a wrong password
 * or ACL user (WRONGPASS; older servers: "ERR invalid password"). Starting a Redis would not help: exit 7.
 */
export class RedisAuthError extends CliError {
  constructor(
    endpoint: RedisEndpoint | string,
    readonly reply: 'NOAUTH' | 'WRONGPASS',
  ) {
    super(
      `Redis authentication failed at ${describe(endpoint)} (${reply === 'NOAUTH' ? 'it wants a password and none was given' : 'wrong password or ACL user'}). ` +
        'Put the password (and ACL user) in the URL, redis://user:password@host:6379 (REDIS_URL, --redis-url), or in ' +
        'GRAMFARM_REDIS_USERNAME / GRAMFARM_REDIS_PASSWORD or the config file\'s "redis" { username, password }.',
      ExitCode.redisAuthFailed,
    )
  }
}

/**
 * The TLS handshake with Redis failed: its certificate is not signed by the CA we trust, names another host, or
 * it wants a client certificate. Redis is there; starting one would not help. Exit 7, as for refused credentials.
 */
export class RedisTlsError extends CliError {
  constructor(
    endpoint: RedisEndpoint | string,
    readonly reason: string,
  ) {
    super(
      `TLS handshake with Redis at ${describe(endpoint)} failed: ${reason}. Check the CA (GRAMFARM_REDIS_TLS_CA or ` +
        'redis.tls.caFile), the expected name (redis.tls.servername) and, if Redis asks for one, the client ' +
        'certificate and key (redis.tls.certFile / keyFile).',
      ExitCode.redisAuthFailed,
    )
  }
}

function describe(endpoint: RedisEndpoint | string): string {
  return typeof endpoint === 'string' ? maskRedisUrl(endpoint) : describeRedisEndpoint(endpoint)
}

/** node's TLS verification failures (and OpenSSL's handshake alerts), by error code, as words. */
function tlsFailure(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined
  const code = typeof e?.code === 'string' ? e.code : ''
  const message = typeof e?.message === 'string' ? e.message : ''
  if (
    /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_[A-Z_]+)$/.test(
      code,
    )
  )
    return `${message} [${code}]`
  if (/ssl3_read_bytes|tlsv1 alert|wrong version number|certificate required/i.test(message)) return message
  return undefined
}

/** Redis' replies that refuse a client's credentials, by the reply's first word. */
function authRefusal(err: unknown): 'NOAUTH' | 'WRONGPASS' | undefined {
  const message = typeof (err as Error | undefined)?.message === 'string' ? (err as Error).message : ''
  if (/^NOAUTH\b/.test(message)) return 'NOAUTH'
  if (/^WRONGPASS\b|^ERR invalid (password|username-password)/.test(message)) return 'WRONGPASS'
  return undefined
}

/**
 * Resolves when Redis answers PING within `timeoutMs`; RedisAuthError or RedisTlsError (exit 7), or CliError
 * (exit 3) when nothing answers. A URL string stands for `{ url }`.
 */
export async function probeRedis(endpoint: RedisEndpoint | string, timeoutMs = 2000): Promise<void> {
  const target: RedisEndpoint = typeof endpoint === 'string' ? { url: endpoint } : endpoint
  const probe = openRedis(target, {
    purpose: 'probe',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeoutMs: timeoutMs,
    reconnect: false,
  })
  // The refusal of AUTH/HELLO and a failed TLS handshake come as error events; the connect() itself then only
  // fails with "Connection is closed". A cluster reports its nodes' errors as 'node error'.
  let refused: 'NOAUTH' | 'WRONGPASS' | undefined
  let tls: string | undefined
  const note = (err: unknown): void => {
    refused ??= authRefusal(err)
    tls ??= tlsFailure(err)
  }
  probe.on('error', note)
  if (isCluster(probe)) probe.on('node error', note)
  try {
    await withTimeout(
      probe.connect().then(() => probe.ping()),
      timeoutMs,
    )
  } catch (err) {
    note(err)
    if (refused) throw new RedisAuthError(target, refused)
    if (tls) throw new RedisTlsError(target, tls)
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new CliError(
      `Redis at ${describeRedisEndpoint(target)} is unreachable (${reason}). ${REDIS_HINT}`,
      ExitCode.redisUnreachable,
    )
  } finally {
    probe.disconnect()
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    p.then(
      (v) => {
        clearTimeout(t)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(t)
        reject(e as Error)
      },
    )
  })
}

/**
 * A command connection. Producers fail fast rather than queue commands while Redis is away (`failFast`);
 * long-running roles (workers, followers) wait for it to come back.
 */
export function openCliRedis(endpoint: RedisEndpoint, opts: { failFast?: boolean; name?: string } = {}): RedisClient {
  return openRedis(endpoint, {
    purpose: opts.name ?? 'gramfarm',
    ...(opts.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: null }),
  })
}

/** Deletes every key under `prefix` (SCAN + UNLINK in batches). Returns how many were removed. */
export async function deleteKeysUnder(redis: RedisLike, prefix: string): Promise<number> {
  let removed = 0
  for await (const keys of scanKeys(redis, keysUnderPattern(prefix))) removed += await unlinkKeys(redis, keys)
  return removed
}

/** Whether `redis-server` can be started from PATH. */
export function redisServerAvailable(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' })
  return r.status === 0
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export interface LocalRedisServer {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
}

/** A private, memory-only redis-server on a free loopback port (the demo's fallback). */
export async function startLocalRedisServer(): Promise<LocalRedisServer> {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `redis://127.0.0.1:${port}`
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      await probeRedis(url, 500)
      break
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new CliError(
          `could not start redis-server on port ${port}: ${(err as Error).message}`,
          ExitCode.redisUnreachable,
        )
      }
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return {
    url,
    port,
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await exited
    },
  }
}
