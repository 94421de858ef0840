// Runs one step of a login job and says what comes next: a final state, or "wait, then run step X". All
// login state lives in Redis (the auth key in the account's session, phone_code_hash and DC in a login hash),
// so any worker can run the next step — a job that waits minutes for an SMS holds no lock and no socket it
// needs. Connected clients are kept a while only as a cache, so a code that arrives quickly is used at once.
import type { Redis } from 'ioredis'
import { MtprotoClient } from '../mtproto/client/mtproto-client.ts'
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'
import type { RsaPublicKey } from '../mtproto/crypto/rsa-keys.ts'
import { RpcError } from '../mtproto/rpc-error.ts'
import type { tl } from '../mtproto/tl/index.ts'
import { LoginError } from '../auth/auth-errors.ts'
import { codeTypeName } from '../auth/credential-provider.ts'
import { botLogin } from '../auth/flows/bot-login.ts'
import { loginHostOf, type Authorization, type LoginHost } from '../auth/flows/login-host.ts'
import { checkPassword } from '../auth/flows/password-check.ts'
import { resendOrSendAgain, sendCode } from '../auth/flows/phone-login.ts'
import { loginUrl } from '../auth/flows/qr-login.ts'
import { SessionKeyStore } from '../auth/session-key-store.ts'
import { RedisSessionStorage } from '../auth/storage/index.ts'
import { CodeTimeoutError, type CodeInbox, type CodeType } from '../queue/code-channel.ts'
import type { ExceptIdsRegistry } from '../queue/except-ids-registry.ts'
import type { SendCodeRateLimiter } from '../queue/send-code-rate-limiter.ts'
import type { SecretVault } from '../queue/secret-vault.ts'
import type { FinalState, LoginJobData, LoginResult } from '../queue/login-job.ts'

export type StepOutcome =
  | { kind: 'final'; result: LoginResult }
  | { kind: 'wait'; data: Partial<LoginJobData>; delayMs: number }

export interface StepRunnerConfig {
  redis: Redis
  inbox: CodeInbox
  registry: ExceptIdsRegistry
  limiter: SendCodeRateLimiter
  vault: SecretVault
  network: { testMode: boolean; dcs?: readonly DcAddress[]; rsaKeys?: readonly RsaPublicKey[] }
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
  maxPasswordFailures?: number
  /** FLOOD_WAITs longer than this end the job as flood_wait(X) instead of delaying it (default 1 h). */
  maxFloodWaitSeconds?: number
  /** Connected clients kept for reuse this long after their last step (default 2 min). */
  clientIdleMs?: number
}

interface CachedClient {
  mtproto: MtprotoClient
  keys: SessionKeyStore
  storage: RedisSessionStorage
  host: LoginHost
  lastUsed: number
}

/** Where the farm's sessions live in Redis: under the farm's prefix, so runs and farms never share one. */
export function sessionKeyPrefix(prefix: string): string {
  return `${prefix}session:`
}

/** A claim on an account lasts this long between renewals (a crashed worker frees it by then). */
const CLAIM_TTL_SECONDS = 15 * 60

export class LoginStepRunner {
  private readonly clients = new Map<string, CachedClient>()
  private readonly sweep: NodeJS.Timeout
  private readonly prefix: string

  constructor(private readonly cfg: StepRunnerConfig) {
    this.prefix = cfg.prefix ?? 'gramfarm:'
    this.sweep = setInterval(() => this.evictIdle(), Math.min(30_000, cfg.clientIdleMs ?? 120_000))
    this.sweep.unref()
  }

  get cachedClients(): number {
    return this.clients.size
  }

  private loginKey(jobId: string): string {
    return `${this.prefix}login:${jobId}`
  }

  /** The session name of an account in Redis (`gramfarm:session:<name>`). */
  static sessionName(data: Pick<LoginJobData, 'kind' | 'account'>): string {
    return `${data.kind}-${data.account}`.replace(/:/g, '_')
  }

  /** The account's session in Redis, under this farm's prefix (`<prefix>session:<name>`). */
  sessionStorage(data: Pick<LoginJobData, 'kind' | 'account'>): RedisSessionStorage {
    return new RedisSessionStorage({ redis: this.cfg.redis, name: LoginStepRunner.sessionName(data), keyPrefix: sessionKeyPrefix(this.prefix) })
  }

  private async client(jobId: string, data: LoginJobData): Promise<CachedClient> {
    const cached = this.clients.get(jobId)
    if (cached) {
      cached.lastUsed = Date.now()
      return cached
    }
    const storage = this.sessionStorage(data)
    await storage.open()
    const record = await storage.load()
    const homeDc = Number(await this.cfg.redis.hget(this.loginKey(jobId), 'dcId')) || record?.dcId || 2
    const keys = new SessionKeyStore(storage, record, homeDc)
    keys.homeDc = homeDc
    const o = data.options
    const mtproto = new MtprotoClient({
      app: {
        apiId: o.apiId ?? this.cfg.apiId, deviceModel: o.deviceModel ?? 'gramfarm', systemVersion: o.systemVersion ?? 'Linux',
        appVersion: o.appVersion ?? '0.1.0', systemLangCode: o.systemLangCode ?? 'en', langPack: '', langCode: o.langCode ?? 'en',
      },
      testMode: this.cfg.network.testMode, homeDc, keys, sleepThreshold: 0, maxRetries: 2,
      ...(this.cfg.network.dcs ? { dcs: this.cfg.network.dcs } : {}),
      ...(this.cfg.network.rsaKeys ? { rsaKeys: this.cfg.network.rsaKeys } : {}),
    })
    const host = loginHostOf({
      apiId: o.apiId ?? this.cfg.apiId, apiHash: o.apiHash ?? this.cfg.apiHash, mtproto,
      onHomeDc: (dcId) => {
        keys.setHome(dcId)
        void this.cfg.redis.hset(this.loginKey(jobId), 'dcId', dcId)
      },
    })
    const entry = { mtproto, keys, storage, host, lastUsed: Date.now() }
    this.clients.set(jobId, entry)
    return entry
  }

  private evictIdle(): void {
    const idle = this.cfg.clientIdleMs ?? 120_000
    for (const [id, c] of this.clients) if (Date.now() - c.lastUsed > idle) void this.drop(id)
  }

  private async drop(jobId: string): Promise<void> {
    const c = this.clients.get(jobId)
    if (!c) return
    this.clients.delete(jobId)
    c.mtproto.close()
    await c.keys.flush().catch(() => undefined)
    await c.storage.close().catch(() => undefined)
  }

  async close(): Promise<void> {
    clearInterval(this.sweep)
    await Promise.all([...this.clients.keys()].map((id) => this.drop(id)))
  }

  /** Runs the job's current step. Errors that are not a login outcome end as failed(<reason>). */
  async run(jobId: string, data: LoginJobData, startedAt: number): Promise<StepOutcome> {
    const final = (state: FinalState, extra: Partial<LoginResult> = {}): StepOutcome => ({
      kind: 'final', result: { account: data.account, kind: data.kind, state, startedAt, finishedAt: Date.now(), ...extra },
    })
    try {
      if (data.kind === 'bot') return await this.botStep(jobId, data, final)
      if (data.kind === 'qr') return await this.qrStep(jobId, data, final)
      switch (data.step) {
        case 'start': return await this.sendCodeStep(jobId, data, final)
        case 'wait_code': return await this.codeStep(jobId, data, final)
        case 'wait_password': return await this.passwordStep(jobId, data, final, undefined)
        default: return final(`failed(bad step ${data.step})`)
      }
    } catch (err) {
      const outcome = this.outcomeOf(err, final)
      if (outcome.kind === 'final') await this.finish(jobId, data)
      return outcome
    }
  }

  private outcomeOf(err: unknown, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): StepOutcome {
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
        if (s > (this.cfg.maxFloodWaitSeconds ?? 3600)) return final(`flood_wait(${s})`)
        return { kind: 'wait', data: {}, delayMs: s * 1000 }
      }
      if (err.is('USER_DEACTIVATED_BAN') || err.is('PHONE_NUMBER_BANNED')) return final('banned')
      if (err.is('PHONE_NUMBER_UNOCCUPIED')) return final('unregistered')
      return final(`failed(${err.errorMessage})`)
    }
    return final(`failed(${(err as Error).name ?? 'Error'})`)
  }

  /** Ends a job's login bookkeeping (the account session stays if it was authorized). */
  private async finish(jobId: string, data: LoginJobData): Promise<void> {
    await this.drop(jobId)
    await this.cfg.redis.del(this.loginKey(jobId))
    await this.cfg.vault.delete(jobId)
    await this.cfg.registry.release(data.accountKey, jobId).catch(() => false)
  }

  /** After an authorization: duplicate check, session completed, claim released. */
  private async authorized(jobId: string, data: LoginJobData, auth: Authorization, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const c = await this.client(jobId, data)
    const user = auth.user as tl.RawUser
    const recorded = await this.cfg.registry.recordAuthorized(user.id, data.accountKey)
    if (recorded.status === 'duplicate') {
      // Someone already holds this account: drop the authorization we just made, keep theirs.
      await c.host.invoke({ _: 'auth.logOut' }).catch(() => undefined)
      await this.drop(jobId)
      await this.sessionStorage(data).delete().catch(() => undefined)
      await this.finish(jobId, data)
      return final('duplicate', { userId: user.id.toString() })
    }
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

  /** Claims the account for this job; null to go on, or the outcome when someone else has it. */
  private async claim(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome | null> {
    const status = await this.cfg.registry.claimStatus(data.accountKey, jobId, CLAIM_TTL_SECONDS)
    if (status === 'authorized') {
      await this.finish(jobId, data)
      return final('duplicate')
    }
    if (status === 'held') return { kind: 'wait', data: {}, delayMs: 5_000 }
    return null
  }

  private async sendCodeStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    const held = await this.claim(jobId, data, final)
    if (held) return held
    const c = await this.client(jobId, data)
    const pace = await this.cfg.limiter.acquire({ dcId: c.mtproto.homeDc })
    if (!pace.ok) return { kind: 'wait', data: {}, delayMs: pace.retryInMs }
    let sent: tl.auth.RawSentCode | tl.auth.RawSentCodeSuccess
    try {
      sent = await sendCode(c.host, data.account)
    } catch (err) {
      if (err instanceof RpcError && err.isFloodWait) await this.cfg.limiter.penalize(c.mtproto.homeDc, err.seconds!)
      throw err
    }
    if (sent._ === 'auth.sentCodeSuccess') return this.authorized(jobId, data, sent.authorization as Authorization, final)
    return this.codeSent(jobId, data, sent, 1)
  }

  private async codeSent(jobId: string, data: LoginJobData, sent: tl.auth.RawSentCode, codeAttempt: number): Promise<StepOutcome> {
    const c = await this.client(jobId, data)
    await this.cfg.redis.hset(this.loginKey(jobId), { phoneCodeHash: sent.phoneCodeHash, dcId: c.mtproto.homeDc })
    await this.cfg.redis.expire(this.loginKey(jobId), Math.ceil((this.cfg.codeTimeoutMs ?? 600_000) / 1000) + 3600)
    const codeType = (codeTypeName(sent.type._) ?? 'unknown') as CodeType
    await this.cfg.inbox.requestCode({
      phone: data.account, attempt: String(codeAttempt), codeType, jobId,
      ...((sent.type as { length?: number }).length ? { codeLength: (sent.type as { length: number }).length } : {}),
      ...(sent.timeout ? { timeoutSec: sent.timeout } : {}),
    })
    return { kind: 'wait', data: { step: 'wait_code', codeAttempt, deadline: Date.now() + (this.cfg.codeTimeoutMs ?? 600_000) }, delayMs: this.cfg.recheckMs ?? 15_000 }
  }

  private async codeStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome): Promise<StepOutcome> {
    let code: string
    try {
      code = await this.cfg.inbox.waitForCode({ phone: data.account, attempt: String(data.codeAttempt), timeoutMs: this.cfg.waitSliceMs ?? 2_000 })
    } catch (err) {
      if (!(err instanceof CodeTimeoutError)) throw err
      if (Date.now() > data.deadline) {
        await this.finish(jobId, data)
        return final('code_timeout')
      }
      await this.cfg.registry.renew(data.accountKey, jobId, CLAIM_TTL_SECONDS)
      await this.drop(jobId) // nothing to do until the code comes: hold no socket while waiting
      return { kind: 'wait', data: {}, delayMs: this.cfg.recheckMs ?? 15_000 }
    }
    const c = await this.client(jobId, data)
    const phoneCodeHash = await this.cfg.redis.hget(this.loginKey(jobId), 'phoneCodeHash')
    if (!phoneCodeHash) return this.sendCodeStep(jobId, { ...data, step: 'start' }, final)
    let auth: Authorization | tl.auth.RawAuthorizationSignUpRequired
    try {
      auth = await c.host.invoke({ _: 'auth.signIn', phoneNumber: data.account, phoneCodeHash, phoneCode: code })
    } catch (err) {
      if (!(err instanceof RpcError)) throw err
      if (err.is('PHONE_CODE_INVALID') || err.is('PHONE_CODE_EMPTY')) {
        const failures = data.codeFailures + 1
        if (failures >= (this.cfg.maxCodeFailures ?? 3)) {
          await this.finish(jobId, data)
          return final('failed(code_invalid)')
        }
        return { kind: 'wait', data: { codeFailures: failures }, delayMs: 0 }
      }
      if (err.is('PHONE_CODE_EXPIRED')) {
        const next = await resendOrSendAgain(c.host, data.account, phoneCodeHash)
        if (next._ === 'auth.sentCodeSuccess') return this.authorized(jobId, data, next.authorization as Authorization, final)
        return this.codeSent(jobId, data, next, data.codeAttempt + 1)
      }
      if (err.is('SESSION_PASSWORD_NEEDED')) return this.passwordStep(jobId, data, final, c)
      throw err
    }
    if (auth._ === 'auth.authorizationSignUpRequired') {
      await this.finish(jobId, data)
      return final('unregistered')
    }
    return this.authorized(jobId, data, auth, final)
  }

  private async passwordStep(jobId: string, data: LoginJobData, final: (s: FinalState, e?: Partial<LoginResult>) => StepOutcome, cached: CachedClient | undefined): Promise<StepOutcome> {
    const from = data.options.passwordFrom ?? 'vault'
    let password: string | undefined
    if (from === 'vault') password = (await this.cfg.vault.get(jobId)).password
    if (password === undefined && from !== 'none') {
      if (data.step !== 'wait_password') {
        await this.cfg.inbox.requestPassword({ phone: data.account, jobId })
        return { kind: 'wait', data: { step: 'wait_password', deadline: Date.now() + (this.cfg.codeTimeoutMs ?? 600_000) }, delayMs: this.cfg.recheckMs ?? 15_000 }
      }
      try {
        password = await this.cfg.inbox.waitForPassword({ phone: data.account, timeoutMs: this.cfg.waitSliceMs ?? 2_000 })
      } catch (err) {
        if (!(err instanceof CodeTimeoutError)) throw err
        if (Date.now() > data.deadline) {
          await this.finish(jobId, data)
          return final('needs_password')
        }
        await this.drop(jobId)
        return { kind: 'wait', data: {}, delayMs: this.cfg.recheckMs ?? 15_000 }
      }
    }
    if (password === undefined) {
      await this.finish(jobId, data)
      return final('needs_password')
    }
    const c = cached ?? (await this.client(jobId, data))
    const auth = await checkPassword(c.host, { password, maxAttempts: 1, phoneNumber: data.account })
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
    const c = await this.client(jobId, data)
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
    const c = await this.client(jobId, data)
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
    const deadline = data.step === 'start' ? Date.now() + (this.cfg.codeTimeoutMs ?? 600_000) : data.deadline
    if (Date.now() > deadline) {
      await this.finish(jobId, data)
      return final('code_timeout')
    }
    const url = loginUrl(result.token)
    const qrKey = `${this.prefix}qr:${jobId}`
    if ((await this.cfg.redis.hget(qrKey, 'url')) !== url) {
      await this.cfg.redis.multi().hset(qrKey, { url, expires: result.expires, account: data.account }).expire(qrKey, 600).exec()
      await this.cfg.redis.publish(`${this.prefix}qr`, JSON.stringify({ jobId, account: data.account, url, expires: result.expires }))
    }
    return { kind: 'wait', data: { step: 'wait_qr', deadline }, delayMs: 1_000 }
  }
}

