// The farm's settings, from (weakest first) built-in defaults, a JSON file, environment variables and command-line
// flags. The file is `--config <path>`, else $GRAMFARM_CONFIG, else `config/gramfarm.json` when it exists (see
// config/gramfarm.example.json). Relative paths (the test DC endpoint file) are taken from the current directory.
import { DEFAULT_IDENTITY_CHOICE, IdentityChoiceError, parseIdentityChoice } from '../auth/device-identity.ts'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { LogLevel } from '../foundation/logger.ts'
import { DEFAULT_PREFIX, hashTaggedPrefix } from '../queue/redis-keys.ts'
import { masterKeySourcesFromEnv, resolveKeyringSpecSync, type KeyringSpec } from '../foundation/master-key-source.ts'
import { MasterKeyError } from '../foundation/sealed-value.ts'
import { CliError, ExitCode } from './exit-codes.ts'
import type { RedisEndpoint } from '../queue/redis-connection.ts'
import {
  checkRedisFileSettings,
  REDIS_ENVIRONMENT_HELP,
  redisEndpointOf,
  type RedisFileSettings,
} from './redis-endpoint-config.ts'

export interface SendCodeRate {
  globalPerSec: number
  globalBurst: number
  perDcPerSec: number
  perDcBurst: number
}

export interface FarmConfig {
  /** Where the farm's Redis is and how to reach it (URL, cluster or sentinels; ACL user; TLS). */
  redis: RedisEndpoint
  /** Every Redis key and BullMQ queue of this farm starts with it; ends with ':'. */
  prefix: string
  /** Telegram API credentials (my.telegram.org); any value works against the test DC. */
  apiId: number | undefined
  apiHash: string | undefined
  /** piscina threads of a worker. */
  threads: number
  /** Login steps one worker process runs at once. */
  concurrency: number
  /** Endpoint file of a test DC (`gramfarm testdc` writes it): log in there instead of Telegram. */
  testDcEndpointFile: string | undefined
  logLevel: LogLevel
  /** How long a login waits for its code, 2FA password or QR scan. */
  codeTimeoutMs: number
  /** How long a waiting login sleeps before it looks again without being woken. */
  recheckMs: number
  /** How long a coordinator waits for a Redis that stopped answering before it gives up (exit 3). */
  redisTimeoutMs: number
  /** auth.sendCode pacing across the farm; the worker's default (1/s, burst 10; per DC 0.5/s, burst 5) when absent. */
  sendCodeRate: SendCodeRate | undefined
  /**
   * Deadlines of every login's client, so a DC or network that accepts connections and goes silent ends the
   * step (retried, then failed(dc_unreachable) / failed(timeout)) instead of holding the job: the TCP connect,
   * each answer of the key exchange, each call. The worker's defaults (10 s, 10 s, 30 s) when absent.
   */
  connectTimeoutMs: number | undefined
  handshakeTimeoutMs: number | undefined
  requestTimeoutMs: number | undefined
  /**
   * The master keys that seal secrets in Redis (GRAMFARM_MASTER_KEY / _FILE / _COMMAND, GRAMFARM_OLD_MASTER_KEYS;
   * masterKeyFile / masterKeyCommand / oldMasterKeyFiles / requireEncryption in the file), read once at start.
   * No key: secrets in clear (said once at start).
   */
  keyring: KeyringSpec
  /**
   * Lifetime of the session records workers (and imports) write in Redis, counted from their last write
   * (GRAMFARM_SESSION_TTL / sessionTtlSec / `worker --session-ttl`, seconds). Absent: kept until exported with
   * `--delete` or deleted.
   */
  sessionTtlSeconds: number | undefined
  /**
   * How accounts without a saved identity get one at their first login (GRAMFARM_IDENTITY / identity /
   * `worker --identity`): mix (default), mix:<platform>=<weight>,…, desktop, windows, macos, linux, android, ios,
   * preset:<id>, library (src/auth/device-identity.ts, docs/device-identities.md).
   */
  identity: string
  /** Session jobs (`sessions check|harden`) started per second across the farm (sessionJobRate, GRAMFARM_SESSION_JOB_RATE; default 5). */
  sessionJobRate: number | undefined
  /**
   * `sessions harden` on a session younger than 24 hours (Telegram refuses to terminate others then): `defer`
   * reports it with the time it can (default), `wait` keeps the job until then (hardenWhenFresh, GRAMFARM_HARDEN_WHEN_FRESH).
   */
  hardenWhenFresh: 'wait' | 'defer'
  /**
   * `gramfarm serve`'s bearer tokens from the file's "serve" section (`tokens`, `adminTokens`, `webhookTokens`),
   * added to those of --tokens and the environment. Secrets: never logged.
   */
  serveTokens: ServeTokenLists | undefined
  /** The file the settings were read from, if any. */
  configFile: string | undefined
}

/** Bearer tokens by role, as the config file lists them. */
export interface ServeTokenLists {
  codes: string[]
  admin: string[]
  webhook: string[]
}

/** What flags can override (the CLI's global options). */
export interface ConfigOverrides {
  configFile?: string
  redisUrl?: string
  prefix?: string
  apiId?: string | number
  apiHash?: string
  threads?: string | number
  concurrency?: string | number
  testDc?: string
  logLevel?: string
  codeTimeoutMs?: string | number
  recheckMs?: string | number
  redisTimeoutMs?: string | number
  sendCodeRate?: string
  connectTimeoutMs?: string | number
  handshakeTimeoutMs?: string | number
  requestTimeoutMs?: string | number
  /** Seconds. */
  sessionTtl?: string | number
  identity?: string
}

export { DEFAULT_REDIS_URL } from '../queue/redis-connection.ts'
export { DEFAULT_PREFIX }
export const DEFAULT_CONFIG_FILE = 'config/gramfarm.json'
/** Where `gramfarm testdc` writes its endpoint by default (out/ is git-ignored). */
export const DEFAULT_TESTDC_ENDPOINT_FILE = 'out/testdc-endpoint.json'
/** Long enough for a Redis restart or failover; short enough that a dead Redis is not mistaken for a slow run. */
export const DEFAULT_REDIS_TIMEOUT_MS = 180_000

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Environment variables read, and what they set. */
export const ENVIRONMENT_HELP = `Environment:
${REDIS_ENVIRONMENT_HELP}
  GRAMFARM_CONFIG        settings file (default ${DEFAULT_CONFIG_FILE} when present)
  GRAMFARM_PREFIX        Redis key prefix (default ${DEFAULT_PREFIX})
  GRAMFARM_API_ID        Telegram api_id
  GRAMFARM_API_HASH      Telegram api_hash
  GRAMFARM_THREADS       worker threads (default 2)
  GRAMFARM_CONCURRENCY   login steps per worker process (default 256)
  GRAMFARM_TESTDC        test DC endpoint file: log in against the local test DC instead of Telegram
  GRAMFARM_LOG_LEVEL     fatal|error|warn|info|debug|trace|silent (default info)
  GRAMFARM_CODE_TIMEOUT  seconds a login waits for its code / password / QR scan (default 600)
  GRAMFARM_REDIS_TIMEOUT seconds a run waits for a Redis that stopped answering before it gives up (default ${DEFAULT_REDIS_TIMEOUT_MS / 1000})
  GRAMFARM_SEND_CODE_RATE  auth.sendCode pacing: <global/s>:<burst>,<per DC/s>:<burst> (e.g. 1:10,0.5:5)
  GRAMFARM_CONNECT_TIMEOUT, GRAMFARM_HANDSHAKE_TIMEOUT, GRAMFARM_REQUEST_TIMEOUT
                         seconds a login's client waits for a TCP connect, each key-exchange answer, each call
                         (defaults 10, 10, 30): a silent DC ends the job as failed(dc_unreachable) / failed(timeout)
  GRAMFARM_SESSION_TTL   seconds a session record stays in Redis after its last write (default: until exported
                         with --delete or deleted)
  GRAMFARM_IDENTITY      device identity of accounts at their first login: mix (default), mix:windows=2,android=1,…,
                         desktop, android, ios, preset:<id>, library
  GRAMFARM_SESSION_JOB_RATE  sessions check/harden jobs started per second across the farm (default 5)
  GRAMFARM_HARDEN_WHEN_FRESH wait|defer: harden of a session younger than 24 h waits until it may terminate the
                         others, or reports deferred with when (default defer)`

function bad(message: string): CliError {
  return new CliError(message, ExitCode.usage)
}

function int(value: string | number, what: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(n) || n < min || n > max) throw bad(`${what} must be an integer from ${min} to ${max}`)
  return n
}

function seconds(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 7 * 24 * 3600) throw bad(`${what} must be a number of seconds (> 0)`)
  return Math.round(n * 1000)
}

function milliseconds(value: string | number, what: string): number {
  return int(value, what, 1, 7 * 24 * 3600 * 1000)
}

/** `1:10,0.5:5` → global 1/s burst 10, per DC 0.5/s burst 5. */
export function parseSendCodeRate(text: string, what = 'send-code rate'): SendCodeRate {
  const m = /^\s*([\d.]+):(\d+)\s*,\s*([\d.]+):(\d+)\s*$/.exec(text)
  const nums = m ? m.slice(1).map(Number) : []
  if (!m || nums.some((n) => !Number.isFinite(n) || n <= 0) || (nums[1] as number) < 1 || (nums[3] as number) < 1) {
    throw bad(`${what} must look like <global per second>:<burst>,<per DC per second>:<burst>, e.g. 1:10,0.5:5`)
  }
  const [globalPerSec, globalBurst, perDcPerSec, perDcBurst] = nums as [number, number, number, number]
  return { globalPerSec, globalBurst, perDcPerSec, perDcBurst }
}

function checkRate(v: unknown, where: string): SendCodeRate {
  if (typeof v === 'string') return parseSendCodeRate(v, where)
  const o = v as Partial<SendCodeRate> | null
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0
  if (
    !o ||
    typeof o !== 'object' ||
    !ok(o.globalPerSec) ||
    !ok(o.globalBurst) ||
    !ok(o.perDcPerSec) ||
    !ok(o.perDcBurst)
  ) {
    throw bad(`${where} must be { globalPerSec, globalBurst, perDcPerSec, perDcBurst } (positive numbers)`)
  }
  return {
    globalPerSec: o.globalPerSec,
    globalBurst: o.globalBurst,
    perDcPerSec: o.perDcPerSec,
    perDcBurst: o.perDcBurst,
  }
}

/** The prefix as keys use it: ending in `:` and hash-tagged (`gramfarm` → `{gramfarm}:`, one Cluster slot). */
export function normalizePrefix(prefix: string): string {
  const p = prefix.trim()
  if (!/^[\w.:@{}-]{1,64}$/.test(p))
    throw bad('the Redis prefix must be 1-64 characters of letters, digits, _ . : @ - { }')
  return hashTaggedPrefix(p.endsWith(':') ? p : `${p}:`)
}

function checkLogLevel(level: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw bad(`log level must be one of ${LOG_LEVELS.join(', ')}`)
  return level as LogLevel
}

function checkApiHash(hash: string): string {
  if (!/^[0-9a-f]{32}$/i.test(hash)) throw bad('api_hash must be 32 hex characters')
  return hash.toLowerCase()
}

type FileSettings = Partial<{
  redisUrl: string
  redis: RedisFileSettings
  prefix: string
  apiId: number
  apiHash: string
  threads: number
  concurrency: number
  testDc: string
  logLevel: string
  codeTimeoutSec: number
  recheckSec: number
  redisTimeoutSec: number
  sendCodeRate: unknown
  connectTimeoutSec: number
  handshakeTimeoutSec: number
  requestTimeoutSec: number
  masterKeyFile: string
  masterKeyCommand: string
  oldMasterKeyFiles: string[]
  requireEncryption: boolean
  sessionTtlSec: number
  identity: string
  sessionJobRate: number
  hardenWhenFresh: string
  serve: unknown
}>

const FILE_KEYS: ReadonlySet<string> = new Set([
  'redisUrl',
  'redis',
  'prefix',
  'apiId',
  'apiHash',
  'threads',
  'concurrency',
  'testDc',
  'logLevel',
  'codeTimeoutSec',
  'recheckSec',
  'redisTimeoutSec',
  'sendCodeRate',
  'connectTimeoutSec',
  'handshakeTimeoutSec',
  'requestTimeoutSec',
  'masterKeyFile',
  'masterKeyCommand',
  'oldMasterKeyFiles',
  'requireEncryption',
  'sessionTtlSec',
  'identity',
  'sessionJobRate',
  'hardenWhenFresh',
  'serve',
  '$comment',
])

function readSettingsFile(path: string): FileSettings {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as unknown
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw bad(
      `config file ${path}: ${code ? `cannot read it (${code})` : `not valid JSON (${(err as Error).message})`}`,
    )
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw bad(`config file ${path}: expected a JSON object`)
  for (const key of Object.keys(json))
    if (!FILE_KEYS.has(key)) throw bad(`config file ${path}: unknown setting "${key}"`)
  const s = json as Record<string, unknown>
  if (s['redis'] !== undefined) checkRedisFileSettings(s['redis'], `config file ${path}`)
  if (s['requireEncryption'] !== undefined && typeof s['requireEncryption'] !== 'boolean')
    throw bad(`config file ${path}: "requireEncryption" must be true or false`)
  const oldFiles = s['oldMasterKeyFiles']
  if (oldFiles !== undefined && (!Array.isArray(oldFiles) || oldFiles.some((f) => typeof f !== 'string')))
    throw bad(`config file ${path}: "oldMasterKeyFiles" must be a list of paths`)
  for (const key of [
    'redisUrl',
    'prefix',
    'apiHash',
    'testDc',
    'logLevel',
    'masterKeyFile',
    'masterKeyCommand',
    'identity',
    'hardenWhenFresh',
  ] as const) {
    if (s[key] !== undefined && typeof s[key] !== 'string') throw bad(`config file ${path}: "${key}" must be a string`)
  }
  for (const key of [
    'apiId',
    'threads',
    'concurrency',
    'codeTimeoutSec',
    'recheckSec',
    'redisTimeoutSec',
    'connectTimeoutSec',
    'handshakeTimeoutSec',
    'requestTimeoutSec',
    'sessionTtlSec',
    'sessionJobRate',
  ] as const) {
    if (s[key] !== undefined && typeof s[key] !== 'number') throw bad(`config file ${path}: "${key}" must be a number`)
  }
  return s as FileSettings
}

/** The settings in force: defaults < config file < environment < flags. Throws CliError (exit 2) on a bad value. */
export function loadFarmConfig(
  flags: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): FarmConfig {
  const explicit = flags.configFile ?? env['GRAMFARM_CONFIG']
  const configFile =
    explicit !== undefined
      ? resolve(cwd, explicit)
      : existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))
        ? resolve(cwd, DEFAULT_CONFIG_FILE)
        : undefined
  const file: FileSettings = configFile !== undefined ? readSettingsFile(configFile) : {}
  const pick = <T>(flag: T | undefined, envName: string, fromFile: T | undefined): T | string | undefined =>
    flag ?? (env[envName] !== undefined && env[envName] !== '' ? env[envName] : undefined) ?? fromFile

  const apiId = pick<string | number>(flags.apiId, 'GRAMFARM_API_ID', file.apiId)
  const apiHash = pick(flags.apiHash, 'GRAMFARM_API_HASH', file.apiHash)
  const testDc = pick(flags.testDc, 'GRAMFARM_TESTDC', file.testDc)
  const rate = flags.sendCodeRate ?? env['GRAMFARM_SEND_CODE_RATE'] ?? file.sendCodeRate
  // A duration setting: flag (ms) < environment (s) < file (s); undefined when none is given (a client deadline
  // then keeps the worker's default).
  const duration = (
    flag: string | number | undefined,
    flagWhat: string,
    envName: string | undefined,
    fromFile: number | undefined,
    fileKey: string,
  ): number | undefined =>
    flag !== undefined
      ? milliseconds(flag, flagWhat)
      : envName !== undefined && env[envName]
        ? seconds(env[envName], envName)
        : fromFile !== undefined
          ? seconds(fromFile, fileKey)
          : undefined
  return {
    redis: redisEndpointOf(flags.redisUrl, env, file, {
      cwd,
      fileDir: configFile !== undefined ? dirname(configFile) : cwd,
    }),
    prefix: normalizePrefix(String(pick(flags.prefix, 'GRAMFARM_PREFIX', file.prefix) ?? DEFAULT_PREFIX)),
    apiId: apiId === undefined ? undefined : int(apiId, 'api_id', 1, 0x7fffffff),
    apiHash: apiHash === undefined ? undefined : checkApiHash(String(apiHash)),
    threads: int(pick<string | number>(flags.threads, 'GRAMFARM_THREADS', file.threads) ?? 2, 'threads', 1, 64),
    concurrency: int(
      pick<string | number>(flags.concurrency, 'GRAMFARM_CONCURRENCY', file.concurrency) ?? 256,
      'concurrency',
      1,
      100_000,
    ),
    testDcEndpointFile: testDc === undefined ? undefined : resolve(cwd, String(testDc)),
    logLevel: checkLogLevel(String(pick(flags.logLevel, 'GRAMFARM_LOG_LEVEL', file.logLevel) ?? 'info')),
    codeTimeoutMs:
      duration(flags.codeTimeoutMs, 'code timeout', 'GRAMFARM_CODE_TIMEOUT', file.codeTimeoutSec, 'codeTimeoutSec') ??
      600_000,
    recheckMs: duration(flags.recheckMs, 'recheck interval', undefined, file.recheckSec, 'recheckSec') ?? 15_000,
    redisTimeoutMs:
      duration(
        flags.redisTimeoutMs,
        'Redis timeout',
        'GRAMFARM_REDIS_TIMEOUT',
        file.redisTimeoutSec,
        'redisTimeoutSec',
      ) ?? DEFAULT_REDIS_TIMEOUT_MS,
    sendCodeRate: rate === undefined ? undefined : checkRate(rate, 'send-code rate'),
    connectTimeoutMs: duration(
      flags.connectTimeoutMs,
      'GRAMFARM_CONNECT_TIMEOUT',
      'GRAMFARM_CONNECT_TIMEOUT',
      file.connectTimeoutSec,
      'connectTimeoutSec',
    ),
    handshakeTimeoutMs: duration(
      flags.handshakeTimeoutMs,
      'GRAMFARM_HANDSHAKE_TIMEOUT',
      'GRAMFARM_HANDSHAKE_TIMEOUT',
      file.handshakeTimeoutSec,
      'handshakeTimeoutSec',
    ),
    requestTimeoutMs: duration(
      flags.requestTimeoutMs,
      'GRAMFARM_REQUEST_TIMEOUT',
      'GRAMFARM_REQUEST_TIMEOUT',
      file.requestTimeoutSec,
      'requestTimeoutSec',
    ),
    keyring: keyringSpecOf(env, file, cwd),
    sessionTtlSeconds: sessionTtlOf(
      pick<string | number>(flags.sessionTtl, 'GRAMFARM_SESSION_TTL', file.sessionTtlSec),
    ),
    identity: identityOf(pick<string>(flags.identity, 'GRAMFARM_IDENTITY', file.identity) ?? DEFAULT_IDENTITY_CHOICE),
    sessionJobRate: sessionJobRateOf(
      pick<string | number>(undefined, 'GRAMFARM_SESSION_JOB_RATE', file.sessionJobRate),
    ),
    hardenWhenFresh: hardenWhenFreshOf(pick<string>(undefined, 'GRAMFARM_HARDEN_WHEN_FRESH', file.hardenWhenFresh)),
    serveTokens: configFile !== undefined ? serveTokensOf(file.serve, configFile) : undefined,
    configFile,
  }
}

/** The identity choice, checked now (a typo is a usage error at start, not a failed login later). */
function identityOf(text: string): string {
  try {
    parseIdentityChoice(text)
  } catch (err) {
    if (err instanceof IdentityChoiceError) throw bad(`${err.message} (identity, GRAMFARM_IDENTITY, --identity)`)
    throw err
  }
  return text.trim()
}

function sessionJobRateOf(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 10_000)
    throw bad(
      'the session job rate (sessionJobRate, GRAMFARM_SESSION_JOB_RATE) must be a number of jobs per second (> 0)',
    )
  return n
}

function hardenWhenFreshOf(value: string | undefined): 'wait' | 'defer' {
  if (value === undefined) return 'defer'
  if (value !== 'wait' && value !== 'defer')
    throw bad('hardenWhenFresh (GRAMFARM_HARDEN_WHEN_FRESH) must be "wait" or "defer"')
  return value
}

/** Longest session TTL taken: ten years (past it, a typo more likely than a wish). */
const MAX_SESSION_TTL_SECONDS = 10 * 365 * 24 * 3600

/** A session record's lifetime in whole seconds; undefined = kept until exported or deleted. */
function sessionTtlOf(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined
  return int(
    value,
    'the session TTL (seconds; sessionTtlSec, GRAMFARM_SESSION_TTL, --session-ttl)',
    1,
    MAX_SESSION_TTL_SECONDS,
  )
}

const SERVE_TOKEN_KEYS = { tokens: 'codes', adminTokens: 'admin', webhookTokens: 'webhook' } as const

/** The file's "serve" section: lists of tokens by role (their length is checked where they are used). */
function serveTokensOf(section: unknown, path: string): ServeTokenLists | undefined {
  if (section === undefined) return undefined
  if (typeof section !== 'object' || section === null || Array.isArray(section))
    throw bad(`config file ${path}: "serve" must be an object`)
  const out: ServeTokenLists = { codes: [], admin: [], webhook: [] }
  for (const [key, list] of Object.entries(section)) {
    const role = (SERVE_TOKEN_KEYS as Record<string, keyof ServeTokenLists | undefined>)[key]
    if (role === undefined)
      throw bad(`config file ${path}: unknown setting "serve.${key}" (tokens, adminTokens, webhookTokens)`)
    // Never the values in a message: they are secrets.
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string'))
      throw bad(`config file ${path}: "serve.${key}" must be a list of strings`)
    out[role] = list as string[]
  }
  return out
}

/** The master keys: the environment's sources, else the file's (one source for the current key). */
function keyringSpecOf(env: NodeJS.ProcessEnv, file: FileSettings, cwd: string): KeyringSpec {
  const fromEnv = masterKeySourcesFromEnv(env)
  const envGivesKey = fromEnv.key !== undefined || fromEnv.keyFile !== undefined || fromEnv.keyCommand !== undefined
  try {
    return resolveKeyringSpecSync({
      ...fromEnv,
      ...(envGivesKey
        ? {}
        : {
            ...(file.masterKeyFile !== undefined ? { keyFile: resolve(cwd, file.masterKeyFile) } : {}),
            ...(file.masterKeyCommand !== undefined ? { keyCommand: file.masterKeyCommand } : {}),
          }),
      oldKeyFiles: (file.oldMasterKeyFiles ?? []).map((f) => resolve(cwd, f)),
      requireEncryption: fromEnv.requireEncryption ?? file.requireEncryption ?? false,
    })
  } catch (err) {
    if (err instanceof MasterKeyError) throw bad(err.message)
    throw err
  }
}

/** Credentials for the worker: the configured ones, or placeholders against the test DC (which accepts any). */
export function apiCredentials(config: FarmConfig): { apiId: number; apiHash: string } {
  if (config.apiId !== undefined && config.apiHash !== undefined)
    return { apiId: config.apiId, apiHash: config.apiHash }
  if (config.testDcEndpointFile !== undefined)
    return { apiId: config.apiId ?? 2040, apiHash: config.apiHash ?? '0123456789abcdef0123456789abcdef' }
  throw bad(
    'Telegram API credentials are missing: set GRAMFARM_API_ID and GRAMFARM_API_HASH (or apiId/apiHash in the config file), or use --testdc',
  )
}
