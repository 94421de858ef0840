// What every command needs before it does its own work: the settings, a logger on stderr (stdout is for data),
// a Redis that answered, the test DC's endpoint when one is configured, and Ctrl-C as an AbortSignal.
import { pino } from 'pino'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { ServerAddress } from '../auth/storage/index.ts'
import { readTestDcEndpoint, type TestDcEndpoint } from '../testdc/testdc-endpoint.ts'
import { apiCredentials, loadFarmConfig, type ConfigOverrides, type FarmConfig } from './farm-config.ts'
import { CliError, ExitCode } from './exit-codes.ts'
import { createLogger, type Logger, type LogLevel } from '../foundation/logger.ts'
import { openCliRedis, probeRedis } from './redis-access.ts'
import { describeRedisEndpoint } from '../queue/redis-connection.ts'
import { escapingDestination } from './terminal-output.ts'
import { adoptPhoneMaskKey } from '../queue/phone-mask-key.ts'
import { keyringFromSpec } from '../foundation/master-key-source.ts'
import type { FarmWorkerOptions } from '../worker/farm-worker.ts'

/** The global options (`gramfarm --redis-url … <command>`). */
export interface GlobalFlags {
  config?: string
  redisUrl?: string
  prefix?: string
  logLevel?: string
  testdc?: string
  apiId?: string
  apiHash?: string
}

export function configOf(flags: GlobalFlags, extra: ConfigOverrides = {}): FarmConfig {
  return loadFarmConfig({
    ...(flags.config !== undefined ? { configFile: flags.config } : {}),
    ...(flags.redisUrl !== undefined ? { redisUrl: flags.redisUrl } : {}),
    ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
    ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel } : {}),
    ...(flags.testdc !== undefined ? { testDc: flags.testdc } : {}),
    ...(flags.apiId !== undefined ? { apiId: flags.apiId } : {}),
    ...(flags.apiHash !== undefined ? { apiHash: flags.apiHash } : {}),
    ...extra,
  })
}

/** pino on stderr: JSON lines, pretty when stderr is a terminal; control characters in either escaped. */
export function cliLogger(level: LogLevel, name = 'gramfarm'): Logger {
  return createLogger({
    level,
    name,
    pretty: process.stderr.isTTY === true,
    destination: escapingDestination(pino.destination({ dest: 2, sync: true })),
  })
}

/** A command connection to a Redis that answered a PING (CliError exit 3 otherwise). */
export async function connectRedis(
  config: FarmConfig,
  opts: { failFast?: boolean; name?: string } = {},
): Promise<RedisClient> {
  await probeRedis(config.redis)
  const redis = openCliRedis(config.redis, opts)
  // A fail-fast connection refuses commands until it is ready: wait for that (it answered a PING just now).
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CliError(
              `Redis at ${describeRedisEndpoint(config.redis)} did not become ready`,
              ExitCode.redisUnreachable,
            ),
          ),
        5000,
      )
      redis.once('ready', () => {
        clearTimeout(timer)
        resolve()
      })
    }).catch((err: unknown) => {
      redis.disconnect()
      throw err
    })
  }
  // Phones this command masks (output, logs) carry the farm's tags, as the workers' do. Best effort: a key that
  // cannot be read leaves this process's own random one (tags nobody can reverse, matching no other process's).
  await (async () => adoptPhoneMaskKey(redis, config.prefix, keyringFromSpec(config.keyring)))().catch(() => undefined)
  return redis
}

/** The configured test DC's endpoint, or undefined for Telegram. CliError (exit 2) when the file is unusable. */
export function testDcEndpointOf(config: FarmConfig): TestDcEndpoint | undefined {
  if (config.testDcEndpointFile === undefined) return undefined
  try {
    return readTestDcEndpoint(config.testDcEndpointFile)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(
      `test DC endpoint ${config.testDcEndpointFile}: ${code === 'ENOENT' ? 'no such file (is `gramfarm testdc` running?)' : (err as Error).message}`,
      ExitCode.usage,
    )
  }
}

/** DC id → address, for `.session` files of test DC accounts (Pyrogram connects there instead of Telegram). */
export function serverOfEndpoint(
  endpoint: TestDcEndpoint | undefined,
): ((dcId: number) => ServerAddress | undefined) | undefined {
  if (!endpoint) return undefined
  return (dcId) => {
    const dc = endpoint.dcs.find((d) => d.id === dcId)
    return dc ? { host: dc.host, port: dc.port } : undefined
  }
}

/** Worker options from the settings (the caller adds threads/concurrency overrides and the logger). */
export function workerOptionsOf(config: FarmConfig, endpoint: TestDcEndpoint | undefined): FarmWorkerOptions {
  return {
    redis: config.redis,
    prefix: config.prefix,
    ...apiCredentials(config),
    ...(endpoint ? { testDc: { dcs: endpoint.dcs, publicKeyPem: endpoint.publicKeyPem } } : {}),
    threads: config.threads,
    concurrency: config.concurrency,
    codeTimeoutMs: config.codeTimeoutMs,
    recheckMs: config.recheckMs,
    ...(config.sendCodeRate ? { sendCodeRate: config.sendCodeRate } : {}),
    ...(config.connectTimeoutMs !== undefined ? { connectTimeoutMs: config.connectTimeoutMs } : {}),
    ...(config.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: config.handshakeTimeoutMs } : {}),
    ...(config.requestTimeoutMs !== undefined ? { requestTimeoutMs: config.requestTimeoutMs } : {}),
    logLevel: config.logLevel,
    keyring: config.keyring,
    ...(config.sessionTtlSeconds !== undefined ? { sessionTtlSeconds: config.sessionTtlSeconds } : {}),
    identity: config.identity,
    ...(config.sessionJobRate !== undefined ? { sessionJobRate: config.sessionJobRate } : {}),
  }
}

/**
 * One Ctrl-C can arrive twice: the terminal signals the whole process group, and the `gramfarm` wrapper
 * (bin/gramfarm.js) passes on what it gets. A repeat within this window is the same request.
 */
const REPEATED_SIGNAL_MS = 1000

/** Ctrl-C / SIGTERM as an AbortSignal; a second Ctrl-C (a second later or more) exits at once (130). */
export function interruptSignal(opts: { quitOnSecond?: boolean } = {}): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController()
  const quitOnSecond = opts.quitOnSecond ?? true
  let firstAt = 0
  const onSignal = (): void => {
    if (ac.signal.aborted) {
      if (quitOnSecond && Date.now() - firstAt >= REPEATED_SIGNAL_MS) process.exit(ExitCode.interrupted)
      return
    }
    firstAt = Date.now()
    process.stderr.write(quitOnSecond ? '\nstopping… (Ctrl-C again to quit at once)\n' : '\nstopping…\n')
    ac.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/** A CLI number option: a positive integer (CliError exit 2 otherwise). */
export function positiveInt(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new CliError(`${what} must be a positive integer`, ExitCode.usage)
  return Number(value)
}

/** A CLI number of seconds (fractions allowed), as milliseconds. */
export function secondsOption(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${what} must be a positive number of seconds`, ExitCode.usage)
  return Math.round(n * 1000)
}
