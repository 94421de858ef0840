// What every step of a login works with: the job (id, data, when it started), how it ends (`final`), and the
// services of the runner (Redis, inbox, registry, limiter, vault, the client cache). One object, handed to each
// step, instead of the same (jobId, data, final) threaded through every method.
import type { IdentityChoice } from '../../auth/device-identity.ts'
import type { RedisClient } from '../../queue/redis-connection.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import { RedisSessionStorage, type SessionRecord } from '../../auth/storage/index.ts'
import type { CodeInbox } from '../../queue/code-channel.ts'
import type { ExceptIdsRegistry } from '../../queue/except-ids-registry.ts'
import type { FinalState, LoginJobData, LoginResult } from '../../queue/login-job.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../../queue/redis-keys.ts'
import type { SecretVault } from '../../queue/secret-vault.ts'
import { Keyring, type Sealer } from '../../foundation/sealed-value.ts'
import type { SendCodeRateLimiter } from '../../queue/send-code-rate-limiter.ts'
import type { RedisEpoch } from '../../queue/redis-epoch.ts'
import type { LoginClient, LoginClientCache, LoginNetwork } from '../login-client-cache.ts'
import { isTransient } from '../transient-failure.ts'

export type StepOutcome =
  { kind: 'final'; result: LoginResult } | { kind: 'wait'; data: Partial<LoginJobData>; delayMs: number }

export interface StepRunnerConfig {
  redis: RedisClient
  inbox: CodeInbox
  registry: ExceptIdsRegistry
  limiter: SendCodeRateLimiter
  vault: SecretVault
  /** Tells a failover of the farm's Redis since a code was asked for (the request or code may be lost). */
  epoch?: RedisEpoch
  /** Seals what in the login hash lets someone continue the login (phone_code_hash); absent: stored in clear. */
  sealer?: Sealer
  /** How logins reach Telegram, with the clients' deadlines. */
  network: LoginNetwork
  apiId: number
  apiHash: string
  prefix?: string
  /** How long a login may wait for its code (or QR scan) in all (default 10 min). */
  codeTimeoutMs?: number
  /** How long one step may block waiting for a code before handing back to the queue (default 2 s). */
  waitSliceMs?: number
  /** How long a waiting job sleeps in the queue before it checks again unpromoted (default 15 s). */
  recheckMs?: number
  maxCodeFailures?: number
  /** FLOOD_WAITs longer than this end the job as flood_wait(X) instead of delaying it (default 1 h). */
  maxFloodWaitSeconds?: number
  /** Connected clients kept for reuse this long after their last step (default 2 min). */
  clientIdleMs?: number
  /** At most this many connected clients are kept (the least recently used are closed first; default 512). */
  maxCachedClients?: number
  /** Lifetime of the session records in Redis (from their last write); absent: kept until exported or deleted. */
  sessionTtlSeconds?: number
  /** How accounts without a saved identity get one (default: a mix of every platform's presets). */
  identity?: IdentityChoice
}

/** The runner's side of a step: its settings and what it holds for all jobs. */
export interface StepServices {
  readonly cfg: StepRunnerConfig
  readonly clients: LoginClientCache
  readonly keys: FarmRedisKeys
}

/** The session name of an account in Redis (`<prefix>session:<name>`). */
export function sessionNameOf(data: Pick<LoginJobData, 'kind' | 'account'>): string {
  return `${data.kind}-${data.account}`.replace(/:/g, '_')
}

/**
 * The account's session in Redis, under the farm's prefix. No PING on open: the worker's connection is shared and
 * busy, and a Redis that is down fails the load or save that follows. `soleWriter` for a login client's own storage
 * (its job holds the account's claim): its saves build on what it loaded or wrote, without reading the hash again.
 */
export function sessionStorageOf(
  services: StepServices,
  data: Pick<LoginJobData, 'kind' | 'account'>,
  opts: { soleWriter?: boolean } = {},
): RedisSessionStorage {
  return new RedisSessionStorage({
    redis: services.cfg.redis,
    name: sessionNameOf(data),
    keyPrefix: sessionKeyPrefix(services.keys.prefix),
    checkOnOpen: false,
    ...(opts.soleWriter === true ? { soleWriter: true } : {}),
    ...(services.cfg.sealer ? { sealer: services.cfg.sealer } : {}),
    ...(services.cfg.sessionTtlSeconds !== undefined ? { ttlSeconds: services.cfg.sessionTtlSeconds } : {}),
  })
}

/** The login hash's fields a step reads (phone code steps and the client's DC), in one HMGET. */
// codeAsked / codeDeadline: which code request of which run the hash's phoneCodeHash answers, and until when the
// login waits for it (a step run again after its worker died finds its request made: phone-code-steps.ts).
const LOGIN_FIELDS = [
  'phoneCodeHash',
  'dcId',
  'codeType',
  'codeLength',
  'passwordNeeded',
  'codeAsked',
  'codeDeadline',
] as const
export type LoginField = (typeof LOGIN_FIELDS)[number]
export type LoginFields = Readonly<Record<LoginField, string | null>>

/** A FLOOD_WAIT this login sits out (delayed), rather than ending as flood_wait(X). */
export function waitsOut(cfg: StepRunnerConfig, err: unknown): err is RpcError {
  return err instanceof RpcError && err.isFloodWait && err.seconds! <= (cfg.maxFloodWaitSeconds ?? 3600)
}

/**
 * After a failover the awaited code or password is asked for again this often until it comes: a request published
 * while a provider's subscription is still moving to the new primary reaches nobody (pub/sub keeps nothing).
 */
export const REASK_EVERY_MS = 5_000

/**
 * Whether to ask again for the awaited code or password: the farm's Redis failed over (or restarted empty) since it
 * was asked for, and it was not asked again in the last REASK_EVERY_MS.
 */
export async function reaskDue(ctx: StepContext): Promise<boolean> {
  const { cfg, data } = ctx
  if (cfg.epoch === undefined || data.requestEpoch === undefined) return false
  if (data.reaskedAt !== undefined && Date.now() - data.reaskedAt < REASK_EVERY_MS) return false
  return (await cfg.epoch.current()) !== data.requestEpoch
}

/** The code timeout of a login: the job's own, else the runner's (default 10 min). */
export function codeTimeoutOf(cfg: StepRunnerConfig, data: LoginJobData): number {
  return data.codeTimeoutMs ?? cfg.codeTimeoutMs ?? 600_000
}

/** A login hash outlives the longest wait by an hour, so one left behind by a vanished job goes by itself. */
export function loginTtlOf(cfg: StepRunnerConfig, data: LoginJobData): number {
  return Math.ceil(codeTimeoutOf(cfg, data) / 1000) + 3600
}

export class StepContext {
  readonly cfg: StepRunnerConfig
  /** The deadline the login's vault entry was last set to expire after, by this step (so the runner need not). */
  secretsExpireAt: number | undefined
  /** The login hash as this step read it (once: one HMGET instead of an HGET per field); null until read. */
  private loginRead: Promise<LoginFields> | null = null

  constructor(
    readonly services: StepServices,
    readonly jobId: string,
    readonly data: LoginJobData,
    readonly startedAt: number,
  ) {
    this.cfg = services.cfg
  }

  /** The same job with other data (a step that goes on as another step, e.g. from the start again). */
  with(data: LoginJobData): StepContext {
    return new StepContext(this.services, this.jobId, data, this.startedAt)
  }

  /** The login ends in `state`. */
  final(state: FinalState, extra: Partial<LoginResult> = {}): StepOutcome {
    return {
      kind: 'final',
      result: {
        account: this.data.account,
        kind: this.data.kind,
        state,
        startedAt: this.startedAt,
        finishedAt: Date.now(),
        ...extra,
      },
    }
  }

  /** The login's hash in Redis (phone_code_hash, DC, code type…). */
  get loginKey(): string {
    return this.services.keys.login(this.jobId)
  }

  /**
   * The login hash's fields, read once per step: only this job's steps write the hash, one step at a time, and a
   * step that writes it calls loginChanged(). A failed read is not kept (the next call reads again).
   */
  loginFields(): Promise<LoginFields> {
    this.loginRead ??= this.cfg.redis.hmget(this.loginKey, ...LOGIN_FIELDS).then(
      (values) => Object.fromEntries(LOGIN_FIELDS.map((f, i) => [f, values[i] ?? null])) as LoginFields,
      (err: unknown) => {
        this.loginRead = null
        throw err
      },
    )
    return this.loginRead
  }

  /** One field of the login hash (see loginFields). */
  async loginField(field: LoginField): Promise<string | null> {
    return (await this.loginFields())[field]
  }

  /** This step wrote the login hash: the next read goes to Redis. */
  loginChanged(): void {
    this.loginRead = null
  }

  /** The login's phone_code_hash (sealed in the login hash: with it and the code, anyone could finish the login). */
  async phoneCodeHash(): Promise<string | null> {
    const stored = await this.loginField('phoneCodeHash')
    return stored === null
      ? null
      : (this.cfg.sealer ?? Keyring.clear()).openText(stored, `${this.loginKey}#phoneCodeHash`)
  }

  /** The login hash's phoneCodeHash field as stored (sealed, bound to the hash and field). */
  sealedPhoneCodeHash(phoneCodeHash: string): string {
    return (this.cfg.sealer ?? Keyring.clear()).seal(phoneCodeHash, `${this.loginKey}#phoneCodeHash`)
  }

  /** How long a waiting job sleeps in the queue before it looks again. */
  get recheckMs(): number {
    return this.cfg.recheckMs ?? 15_000
  }

  get codeTimeoutMs(): number {
    return codeTimeoutOf(this.cfg, this.data)
  }

  get loginTtlSec(): number {
    return loginTtlOf(this.cfg, this.data)
  }

  /** The job's connected client (cached, or connected with the key in its session). */
  client(): Promise<LoginClient> {
    return this.services.clients.get(this.jobId, this.data, () => this.loginField('dcId'))
  }

  /** The login's secrets live until just after `deadline` (SecretVault.expireWithDeadline), noted for the runner. */
  expireSecretsWithDeadline(deadline: number): Promise<void> {
    this.secretsExpireAt = deadline
    return this.cfg.vault.expireWithDeadline(this.jobId, deadline)
  }

  /** Closes the job's client: nothing to do until something arrives, so hold no socket. */
  dropClient(): Promise<void> {
    // A client built again in this step reads the hash again: the dropped one may have moved the home DC in it.
    this.loginChanged()
    return this.services.clients.drop(this.jobId)
  }

  sessionStorage(): RedisSessionStorage {
    return sessionStorageOf(this.services, this.data)
  }

  async sessionRecord(): Promise<SessionRecord | null> {
    const storage = this.sessionStorage()
    await storage.open()
    try {
      return await storage.load()
    } finally {
      await storage.close()
    }
  }

  /**
   * A login that ended without an authorization leaves an auth key that logs nobody in: remove it, so Redis
   * storage holds sessions only. Never the session of an account the farm has authorized (a later job of it).
   */
  async discardSession(): Promise<void> {
    try {
      if ((await this.cfg.registry.authorizedAs(this.data.accountKey)) !== null) return
      const record = await this.sessionRecord()
      if (record && record.userId === null) await this.sessionStorage().delete()
    } catch {
      // bookkeeping only: the outcome stands
    }
  }

  /** Ends a job's login bookkeeping (the account session stays if it was authorized). */
  async finish(): Promise<void> {
    await this.dropClient()
    // Login hash, QR key and vault entry in one DEL (one hash slot: the farm's prefix carries the hash tag).
    await this.cfg.redis.del(this.loginKey, this.services.keys.qr(this.jobId), this.cfg.vault.keyOf(this.jobId))
    await this.cfg.registry.release(this.data.accountKey, this.jobId).catch(() => false)
  }

  /** Who records an authorization: this job of this run (a later run of the same account is someone else). */
  get recorder(): string {
    return `${this.data.runId}/${this.jobId}`
  }

  /** The step will run again after this error (a retry, or after a FLOOD_WAIT): what it consumed must go back. */
  runsAgainAfter(err: unknown): boolean {
    return isTransient(err) || waitsOut(this.cfg, err)
  }

  /** Puts a consumed code or password back for the step's next run (a newer delivery, if any, wins). */
  async putBack(key: string, value: string, err: unknown, minTtlSec: number): Promise<void> {
    const floodSec = err instanceof RpcError && err.isFloodWait ? err.seconds! : 0
    await this.cfg.redis.set(key, value, 'EX', Math.max(minTtlSec, floodSec + minTtlSec), 'NX').catch(() => undefined)
  }
}
