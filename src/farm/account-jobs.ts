// From an accounts-file entry to a login job: its id (derived from the account, so the same account twice is one
// job), its clear-text data (no secret in it) and the secrets that go to the vault instead (token, password,
// proxy URL, api_hash).
import { createHash } from 'node:crypto'
import type { AccountSource, AccountSpec } from './accounts-file.ts'
import type { ProxyConfig } from '../mtproto/transport/transport-connection.ts'
import {
  botAccountKey,
  botLabel,
  newLoginNonce,
  type AccountOptions,
  type LoginJobData,
  type LoginKind,
} from '../queue/login-job.ts'
import { JobIds } from '../queue/job-ids.ts'
import type { JobSecrets } from '../queue/secret-vault.ts'

export interface PlannedJob {
  readonly jobId: string
  readonly data: LoginJobData
  readonly secrets: JobSecrets
  readonly source: AccountSource | undefined
}

export interface PlanOptions {
  readonly runId: string
  /**
   * A 2FA account without a password in the file: ask the code provider for it (true, the default) or end as
   * needs_password at once (false).
   */
  readonly passwordProvider?: boolean
  /** Per-run wait for codes / passwords / QR scans; the worker's setting when absent. */
  readonly codeTimeoutMs?: number
  /** How jobs are named (keyed with a master key); plain ids when absent. */
  readonly jobIds?: JobIds
}

/** `socks5://user:pass@host:port` or `mtproxy://host:port?secret=…`, as the vault keeps a proxy. */
function proxyUrl(p: ProxyConfig): string {
  const cfg = p as { type: string; host: string; port: number; username?: string; password?: string; secret?: string }
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host
  if (cfg.type === 'socks5') {
    const auth =
      cfg.username !== undefined ? `${encodeURIComponent(cfg.username)}:${encodeURIComponent(cfg.password ?? '')}@` : ''
    return `socks5://${auth}${host}:${cfg.port}`
  }
  return `mtproxy://${host}:${cfg.port}?secret=${cfg.secret ?? ''}`
}

/** A QR slot's account key: its label when that is a safe Redis key part, else a hash of it. */
function qrAccountKey(label: string): string {
  return /^[\w.-]{1,100}$/.test(label)
    ? `qr:${label}`
    : `qr:${createHash('sha256').update(label).digest('hex').slice(0, 32)}`
}

export function planJob(spec: AccountSpec, index: number, opts: PlanOptions): PlannedJob {
  const identity = spec.identity ?? {}
  // Proxy credentials and api_hash are secrets: the vault holds them, the job data only says they exist.
  const connection: JobSecrets = {
    ...(spec.proxy ? { proxy: proxyUrl(spec.proxy) } : {}),
    ...(identity.apiHash !== undefined ? { apiHash: identity.apiHash } : {}),
  }
  const options: AccountOptions = {
    ...(spec.proxy ? { proxied: true } : {}),
    ...(identity.apiId !== undefined ? { apiId: identity.apiId } : {}),
    ...(identity.deviceModel !== undefined ? { deviceModel: identity.deviceModel } : {}),
    ...(identity.systemVersion !== undefined ? { systemVersion: identity.systemVersion } : {}),
    ...(identity.appVersion !== undefined ? { appVersion: identity.appVersion } : {}),
    ...(identity.langCode !== undefined ? { langCode: identity.langCode } : {}),
    ...(identity.systemLangCode !== undefined ? { systemLangCode: identity.systemLangCode } : {}),
  }
  const base = {
    options,
    step: 'start' as const,
    codeAttempt: 0,
    loginNonce: newLoginNonce(),
    codeFailures: 0,
    deadline: 0,
    runId: opts.runId,
    ...(opts.codeTimeoutMs !== undefined ? { codeTimeoutMs: opts.codeTimeoutMs } : {}),
  }
  const jobIdOf = (kind: LoginKind, accountKey: string): string => (opts.jobIds ?? JobIds.plain).of(kind, accountKey)
  const passwordFrom = (password: string | undefined): AccountOptions['passwordFrom'] =>
    password !== undefined ? 'vault' : opts.passwordProvider === false ? 'none' : 'provider'
  switch (spec.kind) {
    case 'user': {
      const data: LoginJobData = {
        ...base,
        options: { ...options, passwordFrom: passwordFrom(spec.password) },
        kind: 'user',
        account: spec.phone,
        accountKey: spec.phone,
      }
      return {
        jobId: jobIdOf('user', spec.phone),
        data,
        secrets: { ...connection, ...(spec.password !== undefined ? { password: spec.password } : {}) },
        source: spec.source,
      }
    }
    case 'bot': {
      const accountKey = botAccountKey(spec.token)
      const data: LoginJobData = { ...base, kind: 'bot', account: botLabel(spec.token), accountKey }
      return {
        jobId: jobIdOf('bot', accountKey),
        data,
        secrets: { ...connection, botToken: spec.token },
        source: spec.source,
      }
    }
    case 'qr': {
      const label = spec.label ?? `${opts.runId}-${index + 1}`
      const accountKey = qrAccountKey(label)
      const data: LoginJobData = {
        ...base,
        options: { ...options, passwordFrom: spec.password !== undefined ? 'vault' : 'none' },
        kind: 'qr',
        account: label,
        accountKey,
      }
      return {
        jobId: jobIdOf('qr', accountKey),
        data,
        secrets: { ...connection, ...(spec.password !== undefined ? { password: spec.password } : {}) },
        source: spec.source,
      }
    }
  }
}

/** Every account of a file as a job; the same account twice (which a valid file cannot hold) is planned once. */
export function planJobs(specs: readonly AccountSpec[], opts: PlanOptions): PlannedJob[] {
  const seen = new Set<string>()
  const out: PlannedJob[] = []
  specs.forEach((spec, i) => {
    const job = planJob(spec, i, opts)
    if (seen.has(job.jobId)) return
    seen.add(job.jobId)
    out.push(job)
  })
  return out
}

/** A new run id: sortable by time, no ':' (it is part of Redis keys), never all digits. */
export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  return `run-${stamp}-${createHash('sha256').update(`${process.pid}${Math.random()}${now.getTime()}`).digest('hex').slice(0, 6)}`
}
