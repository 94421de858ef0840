// Runs one step of a login job and says what comes next: a final state, or "wait, then run step X". All
// login state lives in Redis (the auth key in the account's session, phone_code_hash and DC in a login hash),
// so any worker can run the next step — a job that waits minutes for an SMS holds no lock and no socket it
// needs. Connected clients are kept a while only as a cache, so a code that arrives quickly is used at once.
// The steps themselves are in login-steps/ (phone code, password, bot, QR), each given a StepContext.
import { AuthKeyUnknownError } from '../mtproto/dc/dc-connection.ts'
import { RpcError } from '../mtproto/rpc-error.ts'
import { LoginError } from '../auth/auth-errors.ts'
import type { RedisSessionStorage } from '../auth/storage/index.ts'
import type { LoginJobData } from '../queue/login-job.ts'
import { DEFAULT_PREFIX, FarmRedisKeys } from '../queue/redis-keys.ts'
import { causedBy, isTransient } from './transient-failure.ts'
import { LoginClientCache } from './login-client-cache.ts'
import { botStep } from './login-steps/bot-step.ts'
import { resume } from './login-steps/login-outcomes.ts'
import { passwordStep } from './login-steps/password-step.ts'
import { codeStep, resendStep, sendCodeStep } from './login-steps/phone-code-steps.ts'
import { qrStep } from './login-steps/qr-step.ts'
import { failureText } from './failure-description.ts'
import { recordFloodWait } from '../queue/flood-waits.ts'
import {
  StepContext,
  loginTtlOf,
  sessionNameOf,
  sessionStorageOf,
  waitsOut,
  type StepOutcome,
  type StepRunnerConfig,
  type StepServices,
} from './login-steps/step-context.ts'

export type { StepOutcome, StepRunnerConfig } from './login-steps/step-context.ts'

export class LoginStepRunner {
  private readonly clients: LoginClientCache
  private readonly services: StepServices

  constructor(private readonly cfg: StepRunnerConfig) {
    const keys = new FarmRedisKeys(cfg.prefix ?? DEFAULT_PREFIX)
    this.clients = new LoginClientCache({
      redis: cfg.redis,
      vault: cfg.vault,
      network: cfg.network,
      apiId: cfg.apiId,
      apiHash: cfg.apiHash,
      prefix: keys.prefix,
      // A cached client's storage is its session's only writer (its job holds the claim): no read before a save.
      sessionStorage: (data) => sessionStorageOf(this.services, data, { soleWriter: true }),
      loginKey: (jobId) => keys.login(jobId),
      loginTtlSec: (data) => loginTtlOf(cfg, data),
      ...(cfg.clientIdleMs !== undefined ? { clientIdleMs: cfg.clientIdleMs } : {}),
      ...(cfg.maxCachedClients !== undefined ? { maxCachedClients: cfg.maxCachedClients } : {}),
      ...(cfg.identity ? { identity: cfg.identity } : {}),
    })
    this.services = { cfg, clients: this.clients, keys }
  }

  /** True once per build if the account connected with the library's default identity (the worker warns). */
  takeDefaultIdentity(accountKey: string): boolean {
    return this.clients.takeDefaultIdentity(accountKey)
  }

  get cachedClients(): number {
    return this.clients.size
  }

  /** The session name of an account in Redis (`gramfarm:session:<name>`). */
  static sessionName(data: Pick<LoginJobData, 'kind' | 'account'>): string {
    return sessionNameOf(data)
  }

  /** The account's session in Redis, under this farm's prefix (`<prefix>session:<name>`). */
  sessionStorage(data: Pick<LoginJobData, 'kind' | 'account'>): RedisSessionStorage {
    return sessionStorageOf(this.services, data)
  }

  async close(): Promise<void> {
    await this.clients.close()
  }

  /** Closes the job's connected client, if this thread holds one (its keys are in Redis). */
  releaseClient(jobId: string): Promise<void> {
    return this.clients.drop(jobId)
  }

  /** Runs the job's current step. Errors that are not a login outcome end as failed(<reason>). */
  async run(jobId: string, data: LoginJobData, startedAt: number): Promise<StepOutcome> {
    const ctx = new StepContext(this.services, jobId, data, startedAt)
    let outcome: StepOutcome
    try {
      outcome = await this.step(ctx)
    } catch (err) {
      if (isTransient(err)) {
        // Start the retry from a fresh connection; the login's state (key, hash, claim) stays in Redis.
        await this.clients.drop(jobId).catch(() => undefined)
        // Except a key the DC no longer knows (-404): the retry must make a new one, not load it again.
        if (causedBy(err, AuthKeyUnknownError)) await ctx.discardSession()
        throw err
      }
      if (err instanceof RpcError && err.isFloodWait) await this.recordFloodWait(ctx, err.seconds!)
      outcome = this.outcomeOf(err, ctx)
      if (outcome.kind === 'final') await ctx.finish()
    }
    if (outcome.kind === 'final' && outcome.result.state !== 'authorized' && outcome.result.state !== 'duplicate') {
      await ctx.discardSession()
    }
    // The login now waits until its deadline: its secrets live that long, not the vault's longer hold.
    const deadline = outcome.kind === 'wait' ? outcome.data.deadline : undefined
    if (deadline !== undefined && deadline > 0 && deadline !== data.deadline && deadline !== ctx.secretsExpireAt)
      await this.cfg.vault.expireWithDeadline(jobId, deadline)
    return outcome
  }

  /**
   * The bookkeeping of a job that ended outside the runner (its last attempt failed, or it stalled too often):
   * vault entry, login hash, QR key and claim go, and so does an auth key that logs nobody in.
   */
  async cleanup(jobId: string, data: LoginJobData): Promise<void> {
    const ctx = new StepContext(this.services, jobId, data, Date.now())
    await ctx.finish().catch(() => undefined)
    await ctx.discardSession()
  }

  private async step(ctx: StepContext): Promise<StepOutcome> {
    const { data } = ctx
    const flooded = (data.floodUntil ?? 0) - Date.now()
    if (flooded > 0) return { kind: 'wait', data: {}, delayMs: flooded }
    // A phone login's code steps read its login hash first thing after this check: the read goes out with it (one
    // round trip, one write on the thread's auto-pipelined connection). Its failure surfaces where it is awaited.
    if (data.kind === 'user' && (data.step === 'start' || data.step === 'wait_code' || data.step === 'resend_code'))
      ctx.loginFields().catch(() => undefined)
    const resumed = await resume(ctx)
    if (resumed) return resumed
    if (data.kind === 'bot') return botStep(ctx)
    if (data.kind === 'qr') return qrStep(ctx)
    switch (data.step) {
      case 'start':
        return sendCodeStep(ctx)
      case 'wait_code':
        return codeStep(ctx)
      case 'resend_code':
        return resendStep(ctx)
      case 'wait_password':
        return passwordStep(ctx, undefined)
      default:
        await ctx.finish()
        return ctx.final(`failed(bad step ${String(data.step)})`)
    }
  }

  /** Every FLOOD_WAIT a step met, sat out or final, for the DC it came from (the dashboard's and /metrics'). */
  private async recordFloodWait(ctx: StepContext, seconds: number): Promise<void> {
    const { keys } = this.services
    const dc =
      this.clients.dcOf(ctx.jobId) ??
      (Number(await this.cfg.redis.hget(keys.login(ctx.jobId), 'dcId').catch(() => null)) || undefined)
    // Best effort: a figure lost to a Redis hiccup is not worth failing the step over.
    if (dc !== undefined) await recordFloodWait(this.cfg.redis, keys.stats, dc, seconds).catch(() => undefined)
  }

  private outcomeOf(err: unknown, ctx: StepContext): StepOutcome {
    if (err instanceof LoginError) {
      switch (err.reason) {
        case 'phone_invalid':
          return ctx.final('phone_invalid')
        case 'phone_banned':
          return ctx.final('banned')
        case 'password_invalid':
          return ctx.final('password_invalid')
        case 'password_needed':
          return ctx.final('needs_password')
        case 'signup_needed':
          return ctx.final('unregistered')
        default:
          return ctx.final(`failed(${err.reason})`, { error: failureText(err) })
      }
    }
    if (err instanceof RpcError) {
      if (err.isFloodWait) {
        const s = err.seconds!
        if (!waitsOut(this.cfg, err)) return ctx.final(`flood_wait(${s})`)
        // The wait is Telegram's, not the provider's: the code (password) deadline moves by as much, and the job
        // is not woken before it is over (a waiting code would otherwise promote it at once).
        const floodUntil = Date.now() + s * 1000
        return {
          kind: 'wait',
          data: { floodUntil, ...(ctx.data.deadline > 0 ? { deadline: ctx.data.deadline + s * 1000 } : {}) },
          delayMs: s * 1000,
        }
      }
      if (err.is('USER_DEACTIVATED_BAN') || err.is('PHONE_NUMBER_BANNED')) return ctx.final('banned')
      if (err.is('PHONE_NUMBER_UNOCCUPIED')) return ctx.final('unregistered')
      return ctx.final(`failed(${err.errorMessage})`, { error: failureText(err) })
    }
    // Not a login outcome the runner knows: the report says what it was (the cause chain), not only its class.
    return ctx.final(`failed(${(err as Error).name ?? 'Error'})`, { error: failureText(err) })
  }
}
