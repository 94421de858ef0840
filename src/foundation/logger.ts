// The farm's logger: pino JSON lines (pretty on a TTY), secrets censored by key name, one child logger per job.
// pino's redaction needs explicit paths, so every secret key is listed at the top level and one and two levels
// deep; deeper secrets must not be logged in the first place.
import { createHmac, randomBytes } from 'node:crypto'
import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import { createRequire } from 'node:module'
import type PinoPretty from 'pino-pretty'

export type { Logger } from 'pino'

export const REDACT_CENSOR = '[redacted]'

/** Key names whose values are never written to a log. */
export const SECRET_KEYS: readonly string[] = [
  'authKey',
  'auth_key',
  'sessionString',
  'session_string',
  'code',
  'phoneCode',
  'phone_code',
  'password',
  'botToken',
  'bot_token',
  'token',
  'apiHash',
  'api_hash',
  // MTProxy secrets, a job's vault secrets, proxy URLs (they carry credentials)
  'secret',
  'secrets',
  'proxy',
  'proxyUrl',
  'proxy_url',
  // sessions and the auth keys in them
  'session',
  'sessions',
  'dcAuthKeys',
  'dc_auth_keys',
  'authKeys',
  'auth_keys',
  'phoneCodeHash',
  'phone_code_hash',
  'newPassword',
  'new_password',
]

/** `key`, `*.key`, `*.*.key` for every secret key. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`])

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface CreateLoggerOptions {
  readonly level?: LogLevel
  /** Default: pretty when the destination is stdout and stdout is a TTY. */
  readonly pretty?: boolean
  /** Default stdout. Tests pass a stream to inspect the JSON lines. */
  readonly destination?: DestinationStream
  readonly name?: string
}

/**
 * Error serializer: `code` is a secret key (login codes), so an error's own `code` (ECONNREFUSED, FLOOD_WAIT…)
 * is moved to `errCode` to survive the redaction.
 */
function serializeError(err: Error | string): Record<string, unknown> | string {
  // `error` is also the key of a failed login's message (a string): spreading it would log it a character a key.
  if (typeof err !== 'object' || err === null) return err
  const { code, ...rest } = stdSerializers.err(err) as unknown as Record<string, unknown>
  return code === undefined ? rest : { ...rest, errCode: code }
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
    serializers: { err: serializeError, error: serializeError },
    ...(options.name !== undefined ? { name: options.name } : {}),
  }
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true)
  if (pretty) {
    // In-process stream rather than a transport: no worker thread, and lines are not lost on a quick exit.
    // Loaded only here: commands whose logs go to a pipe (status --json, workers under a supervisor) skip its start-up cost.
    const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty
    const stream = pinoPretty({
      colorize: options.destination === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      ...(options.destination !== undefined ? { destination: options.destination } : {}),
    })
    return pino(pinoOptions, stream)
  }
  return pino(pinoOptions, options.destination ?? pino.destination({ dest: 1, sync: false }))
}

/**
 * The key of the tag a masked phone carries. A tag made with a key everyone knows could be recomputed for the
 * few numbers the visible digits leave, so the key is a secret: GRAMFARM_MASK_KEY, else the farm's own random
 * key kept in Redis (src/queue/phone-mask-key.ts), which each process adopts once it reaches the farm's Redis —
 * logs and reports of one farm then agree on each account's tag. Until then a random key of this process: a tag
 * nobody can reverse, even if it matches no other process's.
 */
let phoneMaskKey: string = process.env.GRAMFARM_MASK_KEY || randomBytes(32).toString('hex')

/** Sets the key of masked phones' tags (the farm's, from Redis); a thread is given its worker's. */
export function setPhoneMaskKey(key: string): void {
  if (key !== '') phoneMaskKey = key
}

/**
 * `99966123234` → `+99966***234~1f0c`: enough to tell accounts apart in logs, not enough to dial. The tag (4 hex
 * digits of an HMAC of the whole number) keeps two numbers that differ only in the hidden digits apart.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '')
  if (digits.length < 7) return '+***'
  const tail = digits.length >= 10 ? 3 : 2
  const head = Math.min(5, digits.length - tail - 3)
  const tag = createHmac('sha256', phoneMaskKey).update(digits).digest('hex').slice(0, 4)
  return `+${digits.slice(0, head)}***${digits.slice(-tail)}~${tag}`
}

/** What jobLogger reads from a BullMQ Job (structural, so this module does not depend on bullmq). */
export interface JobLike {
  readonly id?: string | undefined
  readonly name?: string
  readonly data?: unknown
}

const BOT_TOKEN_SHAPE = /^\d+:[\w-]{20,}$/

function jobAccount(data: Record<string, unknown>): string | undefined {
  if (typeof data.phone === 'string') return maskPhone(data.phone)
  // The name the report uses (`bot100…`, phone digits, the QR label): one account name in logs and reports.
  const key = data.account ?? data.accountKey
  if (typeof key !== 'string') return undefined
  if (BOT_TOKEN_SHAPE.test(key)) return REDACT_CENSOR // a raw bot token where a key was expected
  return /^\+?[\d\s()-]{7,}$/.test(key) ? maskPhone(key) : key
}

/** A child logger bound to one job: `jobId`, `runId`, `kind` and a masked `account`. */
export function jobLogger(parent: Logger, job: JobLike): Logger {
  const data = typeof job.data === 'object' && job.data !== null ? (job.data as Record<string, unknown>) : {}
  const bindings: Record<string, string> = {}
  if (job.id !== undefined) bindings.jobId = job.id
  if (typeof data.runId === 'string') bindings.runId = data.runId
  const kind = typeof data.kind === 'string' ? data.kind : job.name
  if (kind !== undefined) bindings.kind = kind
  const account = jobAccount(data)
  if (account !== undefined) bindings.account = account
  return parent.child(bindings)
}
