// Runs one step of a login job and says what comes next: a final state, or "wait, then run step X". All
// login state lives in Redis (the auth key in the account's session, phone_code_hash and DC in a login hash),
// so any worker can run the next step — a job that waits minutes for an SMS holds no lock and no socket it
// needs. Connected clients are kept a while only as a cache, so a code that arrives quickly is used at once.
import type { Redis } from 'ioredis'
import { AuthKeyUnknownError } from '../mtproto/dc/dc-connection.ts'
import { RpcError } from '../mtproto/rpc-error.ts'
import type { tl } from '../mtproto/tl/index.ts'
import { LoginError } from '../auth/auth-errors.ts'
import { codeTypeName } from '../auth/credential-provider.ts'
import { botLogin } from '../auth/flows/bot-login.ts'
import type { Authorization } from '../auth/flows/login-host.ts'
import { checkPassword } from '../auth/flows/password-check.ts'
import { resendOrSendAgain, sendCode } from '../auth/flows/phone-login.ts'
import { loginUrl } from '../auth/flows/qr-login.ts'
import { RedisSessionStorage, type SessionRecord } from '../auth/storage/index.ts'
import { CodeTimeoutError, type CodeInbox, type KnownCodeType } from '../queue/code-channel.ts'
import type { ExceptIdsRegistry } from '../queue/except-ids-registry.ts'
import type { SendCodeRateLimiter } from '../queue/send-code-rate-limiter.ts'
import type { SecretVault } from '../queue/secret-vault.ts'
import type { FinalState, LoginJobData, LoginResult } from '../queue/login-job.ts'
import { DEFAULT_PREFIX, FarmRedisKeys, sessionKeyPrefix } from '../queue/redis-keys.ts'
import { causedBy, isTransient } from './transient-failure.ts'
import { LoginClientCache, type LoginClient, type LoginNetwork } from './login-client-cache.ts'

export type StepOutcome =
  | { kind: 'final'; result: LoginResult }
  | { kind: 'wait'; data: Partial<LoginJobData>; delayMs: number }

export interface StepRunnerConfig {
  redis: Redis
  inbox: CodeInbox
  registry: ExceptIdsRegistry
  limiter: SendCodeRateLimiter
  vault: SecretVault
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
}

/** A QR login's URL is republished only when the one on screen has less than this left (seconds). */
const QR_MIN_REMAINING_SECONDS = 5

/** FLOOD_WAITs on sendCode up to this long pace the whole DC; longer ones are one phone's own limit. */
const DC_PENALTY_MAX_SECONDS = 60

/** signIn's answers about the code itself: anything else leaves the code unjudged (and it is put back). */
const CODE_VERDICTS = ['PHONE_CODE_INVALID', 'PHONE_CODE_EMPTY', 'PHONE_CODE_EXPIRED', 'SESSION_PASSWORD_NEEDED'] as const

function isCodeVerdict(err: unknown): err is RpcError {
  return err instanceof RpcError && CODE_VERDICTS.some((v) => err.is(v))
}

/** A claim on an account lasts this long between renewals (a crashed worker frees it by then). */
const CLAIM_TTL_SECONDS = 15 * 60

export class LoginStepRunner {
  private readonly clients: LoginClientCache
  private readonly prefix: string

  constructor(private readonly cfg: StepRunnerConfig) {
    this.prefix = cfg.prefix ?? DEFAULT_PREFIX
    this.clients = new LoginClientCache({
      redis: cfg.redis, vault: cfg.vault, network: cfg.network, apiId: cfg.apiId, apiHash: cfg.apiHash, prefix: this.prefix,
      sessionStorage: (data) => this.sessionStorage(data), loginKey: (jobId) => this.loginKey(jobId), loginTtlSec: (data) => this.loginTtlSec(data),
      ...(cfg.clientIdleMs !== undefined ? { clientIdleMs: cfg.clientIdleMs } : {}),
      ...(cfg.maxCachedClients !== undefined ? { maxCachedClients: cfg.maxCachedClients } : {}),
    })
  }

  get cachedClients(): number {
    return this.clients.size
  }

  private loginKey(jobId: string): string {
    return new FarmRedisKeys(this.prefix).login(jobId)
  }

  /** The session name of an account in Redis (`gramfarm:session:<name>`). */
  static sessionName(data: Pick<LoginJobData, 'kind' | 'account'>): string {
    return `${data.kind}-${data.account}`.replace(/:/g, '_')
  }

  /** The account's session in Redis, under this farm's prefix (`<prefix>session:<name>`). */
  sessionStorage(data: Pick<LoginJobData, 'kind' | 'account'>): RedisSessionStorage {
    return new RedisSessionStorage({ redis: this.cfg.redis, name: LoginStepRunner.sessionName(data), keyPrefix: sessionKeyPrefix(this.prefix) })
  }

  async close(): Promise<void> {
    await this.clients.close()
  }

  /** Runs the job's current step. Errors that are not a login outcome end as failed(<reason>). */
  async run(jobId: string, data: LoginJobData, startedAt: number): Promise<StepOutcome> {
    const final = (state: FinalState, extra: Partial<LoginResult> = {}): StepOutcome => ({
      kind: 'final', result: { account: data.account, kind: data.kind, state, startedAt, finishedAt: Date.now(), ...extra },
    })
    let outcome: StepOutcome
    try {
      outcome = await this.step(jobId, data, final)
    } catch (err) {
      if (isTransient(err)) {
        // Start the retry from a fresh connection; the login's state (key, hash, claim) stays in Redis.
        await this.clients.drop(jobId).catch(() => undefined)
        // Except a key the DC no longer knows (-404): the retry must make a new one, not load it again.
        if (causedBy(err, AuthKeyUnknownError)) await this.discardSession(data)
        throw err
      }
      outcome = this.outcomeOf(err, data, final)
      if (outcome.kind === 'final') await this.finish(jobId, data)
    }
    if (outcome.kind === 'final' && outcome.result.state !== 'authorized' && outcome.result.state !== 'duplicate') {
      await this.discardSession(data)
    }
    return outcome
  }

  /**
   * The bookkeeping of a job that ended outside the runner (its last attempt failed, or it stalled too often):
   * vault entry, login hash, QR key and claim go, and so does an auth key that logs nobody in.
   */
  async cleanup(jobId: string, data: LoginJobData): Promise<void> {
    await this.finish(jobId, data).catch(() => undefined)
    await this.discardSession(data)
  }

  private async step(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const flooded = (data.floodUntil ?? 0) - Date.now()
    if (flooded > 0) return { kind: 'wait', data: {}, delayMs: flooded }
    const resumed = await this.resume(jobId, data, final)
    if (resumed) return resumed
    if (data.kind === 'bot') return this.botStep(jobId, data, final)
    if (data.kind === 'qr') return this.qrStep(jobId, data, final)
    switch (data.step) {
      case 'start': return this.sendCodeStep(jobId, data, final)
      case 'wait_code': return this.codeStep(jobId, data, final)
      case 'resend_code': return this.resendStep(jobId, data, final)
      case 'wait_password': return this.passwordStep(jobId, data, final, undefined)
      default:
        await this.finish(jobId, data)
        return final(`failed(bad step ${String(data.step)})`)
    }
  }

  /**
   * A login that ended without an authorization leaves an auth key that logs nobody in: remove it, so Redis
   * storage holds sessions only. Never the session of an account the farm has authorized (a later job of it).
   */
  private async discardSession(data: LoginJobData): Promise<void> {
    try {
      if ((await this.cfg.registry.authorizedAs(data.accountKey)) !== null) return
      const record = await this.sessionRecord(data)
      if (record && record.userId === null) await this.sessionStorage(data).delete()
    } catch {
      // bookkeeping only: the outcome stands
    }
  }

  private async sessionRecord(data: LoginJobData): Promise<SessionRecord | null> {
    const storage = this.sessionStorage(data)
    await storage.open()
    try {
      return await storage.load()
    } finally {
      await storage.close()
    }
  }

  private outcomeOf(err: unknown, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): StepOutcome {
    if (err instanceof LoginError) {
      switch (err.reason) {
        case 'phone_invalid': return final('phone_invalid')
        case 'phone_banned': return final('banned')
        case 'password_invalid': return final('password_invalid')
        case 'password_needed': return final('needs_password')
        case 'signup_needed': return final('unregistered')
        default: return final(`failed(${err.reason})`)
      }
    }
    if (err instanceof RpcError) {
      if (err.isFloodWait) {
        const s = err.seconds!
        if (!this.waitsOut(err)) return final(`flood_wait(${s})`)
        // The wait is Telegram's, not the provider's: the code (password) deadline moves by as much, and the job
        // is not woken before it is over (a waiting code would otherwise promote it at once).
        const floodUntil = Date.now() + s * 1000
        return { kind: 'wait', data: { floodUntil, ...(data.deadline > 0 ? { deadline: data.deadline + s * 1000 } : {}) }, delayMs: s * 1000 }
      }
      if (err.is('USER_DEACTIVATED_BAN') || err.is('PHONE_NUMBER_BANNED')) return final('banned')
      if (err.is('PHONE_NUMBER_UNOCCUPIED')) return final('unregistered')
      return final(`failed(${err.errorMessage})`)
    }
    return final(`failed(${(err as Error).name ?? 'Error'})`)
  }

  /** A FLOOD_WAIT this login sits out (delayed), rather than ending as flood_wait(X). */
  private waitsOut(err: unknown): err is RpcError {
    return err instanceof RpcError && err.isFloodWait && err.seconds! <= (this.cfg.maxFloodWaitSeconds ?? 3600)
  }

  /** The step will run again after this error (a retry, or after a FLOOD_WAIT): what it consumed must go back. */
  private runsAgainAfter(err: unknown): boolean {
    return isTransient(err) || this.waitsOut(err)
  }

  /** Puts a consumed code or password back for the step's next run (a newer delivery, if any, wins). */
  private async putBack(key: string, value: string, err: unknown, minTtlSec: number): Promise<void> {
    const floodSec = err instanceof RpcError && err.isFloodWait ? err.seconds! : 0
    await this.cfg.redis.set(key, value, 'EX', Math.max(minTtlSec, floodSec + minTtlSec), 'NX').catch(() => undefined)
  }

  /** Ends a job's login bookkeeping (the account session stays if it was authorized). */
  private async finish(jobId: string, data: LoginJobData): Promise<void> {
    await this.clients.drop(jobId)
    await this.cfg.redis.del(this.loginKey(jobId), new FarmRedisKeys(this.prefix).qr(jobId))
    await this.cfg.vault.delete(jobId)
    await this.cfg.registry.release(data.accountKey, jobId).catch(() => false)
  }

  /** Who records an authorization: this job of this run (a later run of the same account is someone else). */
  private static recorder(jobId: string, data: LoginJobData): string {
    return `${data.runId}/${jobId}`
  }

  /** After an authorization: duplicate check, session completed, claim released. */
  private async authorized(jobId: string, data: LoginJobData, auth: Authorization, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const c = await this.clients.get(jobId, data)
    const user = auth.user as tl.RawUser
    const recorded = await this.cfg.registry.recordAuthorized(user.id, data.accountKey, LoginStepRunner.recorder(jobId, data))
    if (recorded.status === 'duplicate') return this.dropDuplicate(jobId, data, user.id, final)
    return this.complete(jobId, data, c, user, final)
  }

  /** Someone else already holds this account's user: drop the authorization this login made, keep theirs. */
  private async dropDuplicate(jobId: string, data: LoginJobData, userId: bigint, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const c = await this.clients.get(jobId, data)
    await c.host.invoke({ _: 'auth.logOut' }).catch(() => undefined)
    await this.clients.drop(jobId)
    await this.sessionStorage(data).delete().catch(() => undefined)
    await this.finish(jobId, data)
    return final('duplicate', { userId: userId.toString() })
  }

  /** The session gets its user (the key that logged in is in it), then the login's bookkeeping ends. */
  private async complete(jobId: string, data: LoginJobData, c: LoginClient, user: tl.RawUser, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const app = c.mtproto.opts.app
    c.keys.persist({
      userId: user.id, isBot: user.bot ?? false, apiId: app.apiId, testMode: this.cfg.network.testMode,
      device: { deviceModel: app.deviceModel, systemVersion: app.systemVersion, appVersion: app.appVersion, systemLangCode: app.systemLangCode, langCode: app.langCode, langPack: app.langPack },
    })
    await c.keys.flush()
    const dcId = c.mtproto.homeDc
    await this.finish(jobId, data)
    return final('authorized', { userId: user.id.toString(), dcId, session: LoginStepRunner.sessionName(data) })
  }

  /**
   * A step retried after its own login was recorded (the worker died, or Redis failed, between recording and
   * the job's end) finishes that login: it must neither report its own authorization as a duplicate, nor wait
   * for a code it already used, nor authorize again. An account resolved by someone else (an earlier run) ends
   * as duplicate, as before. Null when the account is not resolved yet.
   */
  private async resume(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome | null> {
    const resolved = await this.cfg.registry.resolution(data.accountKey)
    if (!resolved) return null
    if (resolved.recordedBy !== LoginStepRunner.recorder(jobId, data)) {
      await this.finish(jobId, data)
      return final('duplicate')
    }
    if (resolved.holderAccountKey !== data.accountKey) return this.dropDuplicate(jobId, data, resolved.userId, final)
    const record = await this.sessionRecord(data)
    if (record?.userId === resolved.userId) {
      await this.finish(jobId, data)
      return final('authorized', { userId: resolved.userId.toString(), dcId: record.dcId, session: LoginStepRunner.sessionName(data) })
    }
    if (record && record.userId === null) {
      // Recorded, but the session's user was never written: the key in it is the one that logged in, if the DC
      // says it is logged in as that user.
      const c = await this.clients.get(jobId, data)
      const user = await this.loggedInUser(c)
      if (user?.id === resolved.userId) return this.complete(jobId, data, c, user, final)
    }
    // The authorization is lost with its key: forget it, so that a new run can log the account in again.
    await this.cfg.registry.forgetAuthorized(resolved.userId)
    await this.finish(jobId, data)
    return final('failed(session_lost)')
  }

  /** Whom the client's key is logged in as, asked of the DC; null when it logs nobody in (401). */
  private async loggedInUser(c: LoginClient): Promise<tl.RawUser | null> {
    const me = await c.host.invoke<tl.TypeUser[]>({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }).catch((err: unknown) => {
      if (err instanceof RpcError && err.code === 401) return []
      throw err
    })
    const user = me[0]
    return user?._ === 'user' ? user : null
  }

  /**
   * After an answer a re-sent call gets when the first one went through (the client re-sends a call whose
   * connection was lost, and the lost answer was a success: the code or srp_id is used up by then): is the key
   * logged in already? Then that is the login's outcome.
   */
  private async alreadyLoggedIn(c: LoginClient): Promise<Authorization | null> {
    const user = await this.loggedInUser(c).catch(() => null)
    return user ? { _: 'auth.authorization', user } : null
  }

  /** Claims the account for this job; null to go on, or the outcome when someone else has it. */
  private async claim(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome | null> {
    const status = await this.cfg.registry.claimStatus(data.accountKey, jobId, CLAIM_TTL_SECONDS)
    if (status === 'authorized') {
      const resumed = await this.resume(jobId, data, final)
      if (resumed) return resumed
      await this.finish(jobId, data)
      return final('duplicate')
    }
    if (status === 'held') return { kind: 'wait', data: {}, delayMs: 5_000 }
    return null
  }

  private async sendCodeStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const held = await this.claim(jobId, data, final)
    if (held) return held
    const c = await this.clients.get(jobId, data)
    const pace = await this.cfg.limiter.acquire({ dcId: c.mtproto.homeDc })
    if (!pace.ok) return { kind: 'wait', data: {}, delayMs: pace.retryInMs }
    const sent = await this.sendingCode(c, () => sendCode(c.host, data.account))
    if (sent._ === 'auth.sentCodeSuccess') return this.authorized(jobId, data, sent.authorization as Authorization, final)
    return this.codeSent(jobId, data, sent, 1)
  }

  /**
   * auth.sendCode or auth.resendCode, after the limiter let it go. A short FLOOD_WAIT paces the DC for everyone
   * (the limit is on us); a longer one is this phone's own limit and must not stop every other login on the DC.
   */
  private async sendingCode<T>(c: LoginClient, send: () => Promise<T>): Promise<T> {
    try {
      return await send()
    } catch (err) {
      if (err instanceof RpcError && err.isFloodWait && err.seconds! <= DC_PENALTY_MAX_SECONDS) await this.cfg.limiter.penalize(c.mtproto.homeDc, err.seconds!)
      throw err
    }
  }

  /** The code expired before it was used: another one (resendCode, or sendCode when the hash expired too), paced. */
  private async resendStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const c = await this.clients.get(jobId, data)
    const phoneCodeHash = await this.cfg.redis.hget(this.loginKey(jobId), 'phoneCodeHash')
    if (!phoneCodeHash) return this.sendCodeStep(jobId, { ...data, step: 'start' }, final)
    const pace = await this.cfg.limiter.acquire({ dcId: c.mtproto.homeDc })
    if (!pace.ok) return { kind: 'wait', data: { step: 'resend_code' }, delayMs: pace.retryInMs }
    const next = await this.sendingCode(c, () => resendOrSendAgain(c.host, data.account, phoneCodeHash))
    if (next._ === 'auth.sentCodeSuccess') return this.authorized(jobId, data, next.authorization as Authorization, final)
    return this.codeSent(jobId, data, next, data.codeAttempt + 1)
  }

  private codeTimeoutMs(data: LoginJobData): number {
    return data.codeTimeoutMs ?? this.cfg.codeTimeoutMs ?? 600_000
  }

  /** A login hash outlives the longest wait by an hour, so one left behind by a vanished job goes by itself. */
  private loginTtlSec(data: LoginJobData): number {
    return Math.ceil(this.codeTimeoutMs(data) / 1000) + 3600
  }

  private async codeSent(jobId: string, data: LoginJobData, sent: tl.auth.RawSentCode, codeAttempt: number): Promise<StepOutcome> {
    const c = await this.clients.get(jobId, data)
    // The auth key that asked for the code is in Redis before anyone can deliver it: whichever worker resumes
    // the job signs in with that key.
    await c.keys.flush()
    // A passwordNeeded left by an earlier login of this job id (one that ended outside the runner) would make
    // the code step skip signIn.
    const codeType = (codeTypeName(sent.type._) ?? 'unknown') as KnownCodeType
    const codeLength = (sent.type as { length?: number }).length ?? 0
    await this.cfg.redis.multi()
      .hset(this.loginKey(jobId), { phoneCodeHash: sent.phoneCodeHash, dcId: c.mtproto.homeDc, codeType, codeLength })
      .hdel(this.loginKey(jobId), 'passwordNeeded')
      .expire(this.loginKey(jobId), this.loginTtlSec(data))
      .exec()
    const deadline = Date.now() + this.codeTimeoutMs(data)
    await this.cfg.inbox.requestCode({
      phone: data.account, attempt: String(codeAttempt), codeType, jobId,
      // How long the request lives (a provider polls, then cancels for a refund, by it): the login's wait.
      timeoutSec: Math.max(1, Math.ceil((deadline - Date.now()) / 1000)),
      ...(codeLength > 0 ? { codeLength } : {}),
      // sentCode.timeout is only when a resend may be asked for.
      ...(sent.timeout ? { resendAfterSec: sent.timeout } : {}),
    })
    return { kind: 'wait', data: { step: 'wait_code', codeAttempt, deadline, blockOnNextLook: true }, delayMs: this.cfg.recheckMs ?? 15_000 }
  }

  /**
   * Telegram refused the code (PHONE_CODE_INVALID): ask for it again as a new attempt that names the refused one,
   * so that a provider can act (read it again, ask its vendor for another SMS). The login's deadline stands.
   */
  private async askCodeAgain(jobId: string, data: LoginJobData, codeFailures: number): Promise<StepOutcome> {
    const [type, length] = await this.cfg.redis.hmget(this.loginKey(jobId), 'codeType', 'codeLength')
    const codeAttempt = data.codeAttempt + 1
    await this.cfg.inbox.requestCode({
      phone: data.account, attempt: String(codeAttempt), codeType: (type ?? 'sms') as KnownCodeType, jobId,
      timeoutSec: Math.max(1, Math.ceil((data.deadline - Date.now()) / 1000)),
      ...(Number(length) > 0 ? { codeLength: Number(length) } : {}),
      refusedAttempt: String(data.codeAttempt),
    })
    return { kind: 'wait', data: { codeFailures, codeAttempt, blockOnNextLook: true }, delayMs: this.cfg.recheckMs ?? 15_000 }
  }

  /** The delivered code (consumed), or null: a short blocking wait right after a request, else one look. */
  private async lookForCode(data: LoginJobData): Promise<string | null> {
    const at = { phone: data.account, attempt: String(data.codeAttempt) }
    if (!data.blockOnNextLook) return this.cfg.inbox.takeCode(at)
    return this.cfg.inbox.waitForCode({ ...at, timeoutMs: this.cfg.waitSliceMs ?? 2_000 }).catch((err: unknown) => {
      if (err instanceof CodeTimeoutError) return null
      throw err
    })
  }

  private async lookForPassword(data: LoginJobData): Promise<string | null> {
    if (!data.blockOnNextLook) return this.cfg.inbox.takePassword({ phone: data.account })
    return this.cfg.inbox.waitForPassword({ phone: data.account, timeoutMs: this.cfg.waitSliceMs ?? 2_000 }).catch((err: unknown) => {
      if (err instanceof CodeTimeoutError) return null
      throw err
    })
  }

  private async codeStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    // The code was already accepted and the account wants its 2FA password (a retried step): go on from there.
    if ((await this.cfg.redis.hget(this.loginKey(jobId), 'passwordNeeded')) === '1') return this.passwordStep(jobId, data, final, undefined)
    const code = await this.lookForCode(data)
    if (code === null) {
      if (Date.now() > data.deadline) {
        await this.finish(jobId, data)
        return final('code_timeout')
      }
      await this.cfg.registry.renew(data.accountKey, jobId, CLAIM_TTL_SECONDS)
      await this.clients.drop(jobId) // nothing to do until the code comes: hold no socket while waiting
      return { kind: 'wait', data: { blockOnNextLook: false }, delayMs: this.cfg.recheckMs ?? 15_000 }
    }
    let c: LoginClient | undefined
    let phoneCodeHash: string | null = null
    let auth: Authorization | tl.auth.RawAuthorizationSignUpRequired | undefined
    try {
      c = await this.clients.get(jobId, data)
      phoneCodeHash = await this.cfg.redis.hget(this.loginKey(jobId), 'phoneCodeHash')
      if (phoneCodeHash) auth = await c.host.invoke({ _: 'auth.signIn', phoneNumber: data.account, phoneCodeHash, phoneCode: code })
    } catch (err) {
      if (!isCodeVerdict(err)) {
        // Not Telegram's verdict on the code (the connection or Redis went, a 500, a FLOOD_WAIT): the code goes
        // back for the step's next run. A login that ends here leaves no code behind for a later login to trip on.
        if (this.runsAgainAfter(err)) await this.putBack(this.cfg.inbox.names.code(data.account, String(data.codeAttempt)), code, err, 600)
        throw err
      }
      if (err.is('PHONE_CODE_INVALID') || err.is('PHONE_CODE_EMPTY')) {
        const failures = data.codeFailures + 1
        if (failures >= (this.cfg.maxCodeFailures ?? 3)) {
          await this.finish(jobId, data)
          return final('failed(code_invalid)')
        }
        return this.askCodeAgain(jobId, data, failures)
      }
      if (err.is('PHONE_CODE_EXPIRED')) {
        const done = await this.alreadyLoggedIn(c!)
        if (done) return this.authorized(jobId, data, done, final)
        return this.resendStep(jobId, data, final)
      }
      // SESSION_PASSWORD_NEEDED
      await this.cfg.redis.hset(this.loginKey(jobId), 'passwordNeeded', '1')
      return this.passwordStep(jobId, data, final, c)
    }
    if (!auth) return this.sendCodeStep(jobId, { ...data, step: 'start' }, final) // the hash is gone: a new code
    if (auth._ === 'auth.authorizationSignUpRequired') {
      await this.finish(jobId, data)
      return final('unregistered')
    }
    return this.authorized(jobId, data, auth, final)
  }

  private async passwordStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome, cached: LoginClient | undefined): Promise<StepOutcome> {
    const from = data.options.passwordFrom ?? 'vault'
    let password: string | undefined
    let fromChannel = false
    if (from === 'vault') password = (await this.cfg.vault.get(jobId)).password
    // A QR login has no phone to ask the channel about: its password is in the vault or nowhere.
    if (password === undefined && from !== 'none' && data.kind !== 'qr') {
      if (data.step !== 'wait_password') {
        await this.cfg.inbox.requestPassword({ phone: data.account, jobId, timeoutSec: Math.max(1, Math.ceil(this.codeTimeoutMs(data) / 1000)) })
        // The key waiting for the password must be the one that signs in with it, on whichever worker.
        await (cached ?? (await this.clients.get(jobId, data))).keys.flush()
        return { kind: 'wait', data: { step: 'wait_password', deadline: Date.now() + this.codeTimeoutMs(data), blockOnNextLook: true }, delayMs: this.cfg.recheckMs ?? 15_000 }
      }
      const delivered = await this.lookForPassword(data)
      if (delivered === null) {
        if (Date.now() > data.deadline) {
          await this.finish(jobId, data)
          return final('needs_password')
        }
        await this.clients.drop(jobId)
        return { kind: 'wait', data: { blockOnNextLook: false }, delayMs: this.cfg.recheckMs ?? 15_000 }
      }
      password = delivered
      fromChannel = true
    }
    if (password === undefined) {
      await this.finish(jobId, data)
      return final('needs_password')
    }
    const c = cached ?? (await this.clients.get(jobId, data))
    let auth: Authorization
    try {
      auth = await checkPassword(c.host, { password, maxAttempts: 1, phoneNumber: data.account })
    } catch (err) {
      // A password taken from the channel goes back when Telegram did not judge it (the connection went, a 500,
      // a FLOOD_WAIT), for the step's next run.
      if (fromChannel && this.runsAgainAfter(err)) await this.putBack(this.cfg.inbox.names.password(data.account), password, err, 120)
      if (err instanceof RpcError && err.is('SRP_ID_INVALID')) {
        const done = await this.alreadyLoggedIn(c)
        if (done) return this.authorized(jobId, data, done, final)
      }
      throw err
    }
    return this.authorized(jobId, data, auth, final)
  }

  private async botStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const held = await this.claim(jobId, data, final)
    if (held) return held
    const token = (await this.cfg.vault.get(jobId)).botToken
    if (!token) {
      await this.finish(jobId, data)
      return final('failed(no_token)')
    }
    const c = await this.clients.get(jobId, data)
    const auth = await botLogin(c.host, token)
    return this.authorized(jobId, data, auth, final)
  }

  /** QR: export (with the registry's ids as except_ids), publish the URL, poll until scanned or expired. */
  private async qrStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    if (data.step === 'wait_password') return this.passwordStep(jobId, data, final, undefined)
    if (data.step === 'start') {
      const held = await this.claim(jobId, data, final)
      if (held) return held
    }
    const c = await this.clients.get(jobId, data)
    const exceptIds = await this.cfg.registry.authorizedIds()
    let result: tl.auth.RawLoginToken | tl.auth.RawLoginTokenMigrateTo | tl.auth.RawLoginTokenSuccess
    try {
      result = await c.host.invoke({ _: 'auth.exportLoginToken', apiId: c.host.apiId, apiHash: c.host.apiHash, exceptIds })
      if (result._ === 'auth.loginTokenMigrateTo') {
        c.host.switchHomeDc(result.dcId)
        result = await c.host.invoke({ _: 'auth.importLoginToken', token: result.token })
      }
    } catch (err) {
      if (err instanceof RpcError && err.is('SESSION_PASSWORD_NEEDED')) return this.passwordStep(jobId, { ...data, step: 'start' }, final, c)
      throw err
    }
    if (result._ === 'auth.loginTokenSuccess') return this.authorized(jobId, data, result.authorization as Authorization, final)
    if (result._ !== 'auth.loginToken') return { kind: 'wait', data: {}, delayMs: 500 }
    const deadline = data.step === 'start' ? Date.now() + this.codeTimeoutMs(data) : data.deadline
    if (Date.now() > deadline) {
      await this.finish(jobId, data)
      return final('code_timeout')
    }
    // Each export makes a new token, and the earlier ones stay valid until they expire: keep the QR on screen
    // (and the one a device may be scanning) until it is about to expire, rather than a new one every poll.
    const url = loginUrl(result.token)
    const qrKey = new FarmRedisKeys(this.prefix).qr(jobId)
    const shownExpires = Number(await this.cfg.redis.hget(qrKey, 'expires'))
    if (!(shownExpires - Date.now() / 1000 > QR_MIN_REMAINING_SECONDS)) {
      await c.keys.flush() // the exporting key is the one the scan logs in: whichever worker polls next needs it
      await this.cfg.redis.multi().hset(qrKey, { url, expires: result.expires, account: data.account }).expire(qrKey, 600).exec()
      await this.cfg.redis.publish(new FarmRedisKeys(this.prefix).qrChannel, JSON.stringify({ jobId, account: data.account, url, expires: result.expires }))
    }
    return { kind: 'wait', data: { step: 'wait_qr', deadline }, delayMs: 1_000 }
  }
}

