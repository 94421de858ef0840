// Getting to Redis from the CLI: a quick reachability probe (so a missing Redis is one clear message and exit 3,
// not a hang), the connections each role needs, and — for the demo only — a throwaway redis-server of our own.
import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'
import { keysUnderPattern, scanKeys, unlinkKeys, type RedisLike } from '../queue/redis-scan.ts'
import { CliError, ExitCode } from './exit-codes.ts'

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`. */
export function maskRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/\/\/:[^@/]*@/, '//:***@')
}

/** How to get a Redis, for the message of exit code 3. */
export const REDIS_HINT =
  'Start one (e.g. `redis-server`, or `docker run -d -p 6379:6379 redis:7`), or point REDIS_URL / --redis-url at yours.'

/**
 * Redis answered, but refused who we said we are: no password where one is required (NOAUTH), a wrong password
 * or ACL user (WRONGPASS; older servers: "ERR invalid password"). Starting a Redis would not help: exit 7.
 */
export class RedisAuthError extends CliError {
  constructor(
    url: string,
    readonly reply: 'NOAUTH' | 'WRONGPASS',
  ) {
    super(
      `Redis authentication failed at ${maskRedisUrl(url)} (${reply === 'NOAUTH' ? 'it wants a password and none was given' : 'wrong password or ACL user'}). ` +
        'Put the password (and ACL user) in the URL: redis://user:password@host:6379 (REDIS_URL, --redis-url or redisUrl in the config file).',
      ExitCode.redisAuthFailed,
    )
  }
}

/** Redis' replies that refuse a client's credentials, by the reply's first word. */
function authRefusal(err: unknown): 'NOAUTH' | 'WRONGPASS' | undefined {
  const message = typeof (err as Error | undefined)?.message === 'string' ? (err as Error).message : ''
  if (/^NOAUTH\b/.test(message)) return 'NOAUTH'
  if (/^WRONGPASS\b|^ERR invalid (password|username-password)/.test(message)) return 'WRONGPASS'
  return undefined
}

/** Resolves when Redis answers PING within `timeoutMs`; RedisAuthError (exit 7) or CliError (exit 3) otherwise. */
export async function probeRedis(url: string, timeoutMs = 2000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  })
  // The refusal of AUTH/HELLO comes as an error event; the connect() itself then only fails with "Connection is closed".
  let refused: 'NOAUTH' | 'WRONGPASS' | undefined
  probe.on('error', (err: unknown) => (refused ??= authRefusal(err)))
  try {
    await withTimeout(
      probe.connect().then(() => probe.ping()),
      timeoutMs,
    )
  } catch (err) {
    refused ??= authRefusal(err)
    if (refused) throw new RedisAuthError(url, refused)
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new CliError(
      `Redis at ${maskRedisUrl(url)} is unreachable (${reason}). ${REDIS_HINT}`,
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
export function openRedis(url: string, opts: { failFast?: boolean; name?: string } = {}): Redis {
  const options: RedisOptions = opts.failFast
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 }
    : { maxRetriesPerRequest: null }
  const redis = new Redis(url, { ...options, ...(opts.name ? { connectionName: opts.name } : {}) })
  redis.on('error', () => undefined) // reconnects are ioredis' job; failed commands surface where they are awaited
  return redis
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
