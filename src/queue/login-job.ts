// The farm's login jobs: one BullMQ job per account. Job data is stored in clear in Redis, so it carries no
// secret (bot tokens, 2FA passwords, proxy URLs and per-account api_hash go to the SecretVault); the job id is derived from the account, so
// enqueueing the same account twice does nothing while its job exists.
import { createHash, randomBytes } from 'node:crypto'
export { botAccountKey } from './except-ids-registry.ts'

export const LOGIN_QUEUE = 'gramfarm-login'

/**
 * BullMQ priority of a login job's routine steps: its first one, and the rechecks a timer brings. BullMQ takes
 * jobs without a priority before any prioritized one: a job woken because something arrived for it (a code, a
 * password, a QR scan) is made urgent (priority 0) for that one step, so the step that finishes a login runs
 * before every login still to start and every recheck (an SMS code expires; a new login can wait).
 */
export const ROUTINE_PRIORITY = 1
/** Priority of the step run because a code, password or scan arrived. */
export const URGENT_PRIORITY = 0

export type LoginKind = 'user' | 'bot' | 'qr'

/** Where a job stands; a job resumes from its step on any worker (the state lives in Redis). */
export type LoginStep = 'start' | 'wait_code' | 'resend_code' | 'wait_password' | 'wait_qr'

/** Per-account options from the accounts file (no secrets here: the proxy URL and api_hash are in the vault). */
export interface AccountOptions {
  /**
   * The account goes through a proxy (its URL, which holds credentials, is in the vault): without that URL the
   * login fails rather than connect from the farm's own address.
   */
  proxied?: boolean
  /** With its api_hash in the vault. */
  apiId?: number
  deviceModel?: string
  systemVersion?: string
  appVersion?: string
  langCode?: string
  systemLangCode?: string
  /** Where the 2FA password comes from: the vault (given in the file), the code provider, or nowhere. */
  passwordFrom?: 'vault' | 'provider' | 'none'
}

export interface LoginJobData {
  kind: LoginKind
  /** What the operator knows the account by: phone digits, `bot<id>`, or a QR label. */
  account: string
  /** Claim and session key: phone digits, `bot:<bot id>`, or `qr:<label>`. */
  accountKey: string
  options: AccountOptions
  step: LoginStep
  /** Which code request this is (one per auth.sendCode/resendCode), for the code channel. */
  codeAttempt: number
  /**
   * Per-login prefix of this login's code-channel attempt ids (codeAttemptId): a phone's code request outlives its
   * login by minutes, so without it the next login's attempt `1` would be the old login's `1` to a provider.
   */
  loginNonce?: string
  /** Codes refused so far in this login. */
  codeFailures: number
  /**
   * The next look for the code (password) may block a moment: set by a new request, when the code is likely to
   * come soon. Later rechecks look once without blocking — a delivery promotes the job anyway — so that waiting
   * jobs do not hold concurrency slots.
   */
  blockOnNextLook?: boolean
  /** Unix ms after which waiting for a code (or a QR scan) ends in code_timeout. */
  deadline: number
  /** Unix ms until which Telegram asked us to wait (FLOOD_WAIT): the job is not woken before, not even by a code. */
  floodUntil?: number
  /** The coordinator run that enqueued it. */
  runId: string
  /** How long this login may wait for its code, password or QR scan; the worker's setting when absent. */
  codeTimeoutMs?: number
  /** Unix ms when the login began waiting for its current code (the code-wait histogram's start). */
  codeWaitSince?: number
  /** The Redis epoch (RedisEpoch) when the code or password now awaited was asked for: a failover since re-asks. */
  requestEpoch?: string
  /** Unix ms of the last time the awaited code or password was asked for again after a failover. */
  reaskedAt?: number
}

/**
 * The code channel's attempt id for code request `n` of this login: `<loginNonce>.<n>`, so that no two logins of
 * a phone share one (a provider echoing the old login's request is refused as stale, the old login's late code is
 * never this login's). Jobs without a nonce (enqueued before it existed) keep the bare counter.
 */
export function codeAttemptId(data: Pick<LoginJobData, 'codeAttempt' | 'loginNonce'>, n = data.codeAttempt): string {
  return data.loginNonce !== undefined ? `${data.loginNonce}.${n}` : String(n)
}

/** A fresh per-login nonce for LoginJobData.loginNonce (8 hex chars: collisions between two logins of a phone are moot). */
export function newLoginNonce(): string {
  return randomBytes(4).toString('hex')
}

export type FinalState =
  | 'authorized'
  | 'needs_password'
  | 'password_invalid'
  | 'phone_invalid'
  | 'banned'
  | 'unregistered'
  | 'code_timeout'
  | `flood_wait(${number})`
  | 'duplicate'
  | `failed(${string})`

export interface LoginResult {
  account: string
  kind: LoginKind
  state: FinalState
  userId?: string
  dcId?: number
  /** Where the session was saved (a storage name). */
  session?: string
  startedAt: number
  finishedAt: number
  /** The error that ended the login and its causes (`Name: message <- Cause: message`), phones masked. */
  error?: string
}

/** BullMQ custom ids must not contain ':' nor be all digits; a hash of the account key is neither. */
export function loginJobId(kind: LoginKind, accountKey: string): string {
  return `${kind}-${createHash('sha256').update(accountKey).digest('hex').slice(0, 32)}`
}

/** `123456:ABC…` → `bot123456`: how a bot is shown (the secret part never is). */
export function botLabel(token: string): string {
  return `bot${token.split(':')[0] ?? '?'}`
}

export function isFinalState(s: string): s is FinalState {
  return /^(authorized|needs_password|password_invalid|phone_invalid|banned|unregistered|code_timeout|duplicate|flood_wait\(\d+\)|failed\(.*\))$/.test(
    s,
  )
}
