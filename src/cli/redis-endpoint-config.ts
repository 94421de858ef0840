// The farm's Redis endpoint from the settings: the `redis` object of the config file (or its older `redisUrl`),
// the environment (REDIS_URL, GRAMFARM_REDIS_*), the --redis-url flag. Where Redis is comes from the strongest
// source that names it (flag > environment > file); credentials and TLS are taken field by field the same way.
// TLS files and a password file are read here, so a missing file is a usage error at start, not a failed job.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  checkRedisEndpoint,
  DEFAULT_REDIS_URL,
  RedisEndpointError,
  redisTlsOptions,
  type RedisEndpoint,
  type RedisSentinelEndpoint,
  type RedisTls,
} from '../queue/redis-connection.ts'
import { CliError, ExitCode } from './exit-codes.ts'

/** The environment variables read here, for `gramfarm --help`. */
export const REDIS_ENVIRONMENT_HELP = `  REDIS_URL              Redis to use (default ${DEFAULT_REDIS_URL}; rediss:// for TLS)
  GRAMFARM_REDIS_CLUSTER Redis Cluster nodes instead: host:port,host:port,…
  GRAMFARM_REDIS_SENTINELS, GRAMFARM_REDIS_SENTINEL_NAME
                         a Sentinel-watched master instead: host:port,… and the master's name
  GRAMFARM_REDIS_USERNAME, GRAMFARM_REDIS_PASSWORD (or GRAMFARM_REDIS_PASSWORD_FILE)
                         the ACL user and its password (or put them in the URL)
  GRAMFARM_REDIS_TLS_CA, GRAMFARM_REDIS_TLS_CERT, GRAMFARM_REDIS_TLS_KEY, GRAMFARM_REDIS_TLS_SERVERNAME
                         TLS towards Redis: CA file, client certificate and key files, expected server name`

/** The config file's `redis` object (every field optional). */
export interface RedisFileSettings {
  url?: string
  cluster?: { nodes: string[] }
  sentinel?: RedisSentinelEndpoint
  username?: string
  password?: string
  /** A file holding the password (first line), instead of the password in the config file. */
  passwordFile?: string
  db?: number
  tls?: RedisTls
}

const FILE_FIELDS = new Set(['url', 'cluster', 'sentinel', 'username', 'password', 'passwordFile', 'db', 'tls'])
const TLS_FIELDS = new Set(['caFile', 'certFile', 'keyFile', 'servername', 'rejectUnauthorized'])
const SENTINEL_FIELDS = new Set(['sentinels', 'name', 'role', 'sentinelUsername', 'sentinelPassword', 'sentinelTls'])

function bad(message: string): CliError {
  return new CliError(message, ExitCode.usage)
}

function strings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string')
}

/** Checks the shape of the file's `redis` object (unknown keys and wrong types are usage errors). */
export function checkRedisFileSettings(v: unknown, where: string): RedisFileSettings {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where}: "redis" must be an object`)
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!FILE_FIELDS.has(k)) throw bad(`${where}: unknown setting "redis.${k}"`)
  for (const k of ['url', 'username', 'password', 'passwordFile'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'string') throw bad(`${where}: "redis.${k}" must be a string`)
  if (o['db'] !== undefined && (typeof o['db'] !== 'number' || !Number.isInteger(o['db']) || o['db'] < 0))
    throw bad(`${where}: "redis.db" must be a database number`)
  const cluster = o['cluster'] as Record<string, unknown> | undefined
  if (cluster !== undefined && (typeof cluster !== 'object' || cluster === null || !strings(cluster['nodes'])))
    throw bad(`${where}: "redis.cluster" must be { "nodes": ["host:port", …] }`)
  const sentinel = o['sentinel'] as Record<string, unknown> | undefined
  if (sentinel !== undefined) {
    if (typeof sentinel !== 'object' || sentinel === null || !strings(sentinel['sentinels']))
      throw bad(`${where}: "redis.sentinel" must be { "sentinels": ["host:port", …], "name": "<master>" }`)
    for (const k of Object.keys(sentinel))
      if (!SENTINEL_FIELDS.has(k)) throw bad(`${where}: unknown setting "redis.sentinel.${k}"`)
    if (typeof sentinel['name'] !== 'string') throw bad(`${where}: "redis.sentinel.name" must be the master's name`)
    if (sentinel['role'] !== undefined && sentinel['role'] !== 'master' && sentinel['role'] !== 'slave')
      throw bad(`${where}: "redis.sentinel.role" must be "master" or "slave"`)
  }
  const tls = o['tls'] as Record<string, unknown> | undefined
  if (tls !== undefined) {
    if (typeof tls !== 'object' || tls === null || Array.isArray(tls))
      throw bad(`${where}: "redis.tls" must be an object`)
    for (const k of Object.keys(tls)) if (!TLS_FIELDS.has(k)) throw bad(`${where}: unknown setting "redis.tls.${k}"`)
    for (const k of ['caFile', 'certFile', 'keyFile', 'servername'])
      if (tls[k] !== undefined && typeof tls[k] !== 'string') throw bad(`${where}: "redis.tls.${k}" must be a string`)
    if (tls['rejectUnauthorized'] !== undefined && typeof tls['rejectUnauthorized'] !== 'boolean')
      throw bad(`${where}: "redis.tls.rejectUnauthorized" must be true or false`)
  }
  return o as RedisFileSettings
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function readPasswordFile(path: string): string {
  try {
    return (readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '').trim()
  } catch (err) {
    throw bad(`Redis password file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/**
 * The endpoint in force. `fileUrl` is the file's older top-level `redisUrl`; `file` its `redis` object; relative
 * file paths are taken from `baseDir` (the config file's directory for the file, `cwd` for the environment).
 */
export function redisEndpointOf(
  flagUrl: string | undefined,
  env: NodeJS.ProcessEnv,
  file: { redisUrl?: string; redis?: RedisFileSettings },
  paths: { cwd: string; fileDir: string },
): RedisEndpoint {
  const e = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined)
  const f = file.redis ?? {}
  if (file.redisUrl !== undefined && (f.url !== undefined || f.cluster || f.sentinel))
    throw bad('config file: give Redis either as "redisUrl" or in "redis", not both')

  // Where: the strongest source that names a place.
  let where: Pick<RedisEndpoint, 'url' | 'cluster' | 'sentinel'>
  const envKinds = [e('REDIS_URL'), e('GRAMFARM_REDIS_CLUSTER'), e('GRAMFARM_REDIS_SENTINELS')].filter(Boolean).length
  if (flagUrl !== undefined) where = { url: flagUrl }
  else if (envKinds > 1) throw bad('set only one of REDIS_URL, GRAMFARM_REDIS_CLUSTER and GRAMFARM_REDIS_SENTINELS')
  else if (e('REDIS_URL') !== undefined) where = { url: e('REDIS_URL') as string }
  else if (e('GRAMFARM_REDIS_CLUSTER') !== undefined)
    where = { cluster: { nodes: list(e('GRAMFARM_REDIS_CLUSTER') as string) } }
  else if (e('GRAMFARM_REDIS_SENTINELS') !== undefined) {
    const name = e('GRAMFARM_REDIS_SENTINEL_NAME') ?? f.sentinel?.name
    if (name === undefined) throw bad('GRAMFARM_REDIS_SENTINELS needs GRAMFARM_REDIS_SENTINEL_NAME (the master name)')
    where = { sentinel: { ...f.sentinel, sentinels: list(e('GRAMFARM_REDIS_SENTINELS') as string), name } }
  } else if (f.cluster) where = { cluster: { nodes: [...f.cluster.nodes] } }
  else if (f.sentinel) where = { sentinel: { ...f.sentinel } }
  else where = { url: f.url ?? file.redisUrl ?? DEFAULT_REDIS_URL }

  const fromFile = (p: string | undefined): string | undefined =>
    p === undefined ? undefined : resolve(paths.fileDir, p)
  const fromEnv = (name: string): string | undefined => {
    const v = e(name)
    return v === undefined ? undefined : resolve(paths.cwd, v)
  }
  const tlsFields: RedisTls = {
    ...(f.tls ?? {}),
    ...(f.tls?.caFile !== undefined ? { caFile: fromFile(f.tls.caFile) } : {}),
    ...(f.tls?.certFile !== undefined ? { certFile: fromFile(f.tls.certFile) } : {}),
    ...(f.tls?.keyFile !== undefined ? { keyFile: fromFile(f.tls.keyFile) } : {}),
    ...(fromEnv('GRAMFARM_REDIS_TLS_CA') !== undefined ? { caFile: fromEnv('GRAMFARM_REDIS_TLS_CA') } : {}),
    ...(fromEnv('GRAMFARM_REDIS_TLS_CERT') !== undefined ? { certFile: fromEnv('GRAMFARM_REDIS_TLS_CERT') } : {}),
    ...(fromEnv('GRAMFARM_REDIS_TLS_KEY') !== undefined ? { keyFile: fromEnv('GRAMFARM_REDIS_TLS_KEY') } : {}),
    ...(e('GRAMFARM_REDIS_TLS_SERVERNAME') !== undefined ? { servername: e('GRAMFARM_REDIS_TLS_SERVERNAME') } : {}),
  }
  const passwordFile = fromEnv('GRAMFARM_REDIS_PASSWORD_FILE') ?? fromFile(f.passwordFile)
  const password =
    e('GRAMFARM_REDIS_PASSWORD') ?? (passwordFile !== undefined ? readPasswordFile(passwordFile) : f.password)
  const username = e('GRAMFARM_REDIS_USERNAME') ?? f.username
  const endpoint: RedisEndpoint = {
    ...where,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(f.db !== undefined ? { db: f.db } : {}),
    ...(Object.keys(tlsFields).length > 0 ? { tls: tlsFields } : {}),
  }
  try {
    checkRedisEndpoint(endpoint)
    redisTlsOptions(endpoint) // reads the PEM files now: a missing one is a usage error at start
  } catch (err) {
    if (err instanceof RedisEndpointError) throw bad(err.message)
    throw err
  }
  return endpoint
}
