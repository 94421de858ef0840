// Runs one session job (check or harden) and says how it ends, or that it must wait (Telegram's 24-hour rule, a
// FLOOD_WAIT it sits out). Passing trouble (a DC or proxy not answering, Redis away) is thrown: BullMQ retries it,
// and after the last attempt the worker ends the job as failed(<reason>).
import { randomBytes } from 'node:crypto'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { tl } from '../../mtproto/tl/index.ts'
import type { SecretVault } from '../../queue/secret-vault.ts'
import type {
  HardenRecord,
  HealthState,
  SessionHealth,
  SessionJobData,
  SessionJobResult,
} from '../../queue/session-job.ts'
import { QueueError } from '../../queue/queue-error.ts'
import { failureText } from '../failure-description.ts'
import { isTransient } from '../transient-failure.ts'
import { freezeOf, healthOfError, restrictionOf, type ErrorHealth } from './health-state.ts'
import { PasswordSettingsError, getPasswordState, setCloudPassword } from '../../auth/flows/password-settings.ts'
import { connectSession, type SessionConnection, type SessionJobEnv } from './session-client.ts'

export type SessionJobOutcome =
  { kind: 'final'; result: SessionJobResult } | { kind: 'wait'; data: Partial<SessionJobData>; delayMs: number }

export interface SessionJobRunnerEnv extends SessionJobEnv {
  /** Where a given new 2FA password waits for its job (the coordinator put it there). */
  readonly vault: SecretVault
}

/** Telegram's rule: a session cannot terminate others before it is this old (FRESH_RESET_AUTHORISATION_FORBIDDEN). */
const FRESH_SESSION_SECONDS = 24 * 3600
/** A generated 2FA password: 18 random bytes, 24 base64url characters. */
const GENERATED_PASSWORD_BYTES = 18

type Invoke = <R>(request: Parameters<SessionConnection['mtproto']['invoke']>[0]) => Promise<R>

/** The account's 2FA uses an algorithm we cannot compute (or its numbers fail the checks): failed(password_algo). */
class PasswordAlgoError extends QueueError {
  override readonly name = 'password_algo'
}

class Decided extends Error {
  constructor(readonly health: ErrorHealth) {
    super(health.error)
  }
}

/** Calls Telegram; an answer that tells a health state ends the job in it (Decided). */
function deciding(conn: SessionConnection): Invoke {
  return async <R>(request: Parameters<SessionConnection['mtproto']['invoke']>[0]): Promise<R> => {
    try {
      return await conn.mtproto.invoke<R>(request)
    } catch (err) {
      const health = healthOfError(err)
      if (health) throw new Decided(health)
      throw err
    }
  }
}

export class SessionJobRunner {
  constructor(private readonly env: SessionJobRunnerEnv) {}

  async run(jobId: string, data: SessionJobData, startedAt: number): Promise<SessionJobOutcome> {
    const waitLeft = (data.notBefore ?? 0) - Date.now()
    if (waitLeft > 0) return { kind: 'wait', data: {}, delayMs: waitLeft }
    let conn: SessionConnection
    try {
      conn = await connectSession(this.env, data.session)
    } catch (err) {
      if (isTransient(err)) throw err
      return this.failed(data, startedAt, err)
    }
    try {
      return data.op === 'check'
        ? await this.check(conn, data, startedAt)
        : await this.harden(jobId, conn, data, startedAt)
    } catch (err) {
      if (err instanceof Decided) return this.decided(data, startedAt, conn, err.health)
      if (isTransient(err)) throw err
      return this.failed(data, startedAt, err, conn)
    } finally {
      conn.close()
    }
  }

  private final(data: SessionJobData, startedAt: number, extra: Partial<SessionJobResult>): SessionJobOutcome {
    return {
      kind: 'final',
      result: {
        account: data.account,
        kind: data.kind,
        session: data.session,
        op: data.op,
        state: 'failed(unknown)',
        startedAt,
        finishedAt: Date.now(),
        ...extra,
      },
    }
  }

  private health(
    data: SessionJobData,
    conn: SessionConnection | undefined,
    state: HealthState,
    extra: Partial<SessionHealth> = {},
  ): SessionHealth {
    return {
      state,
      checkedAt: Date.now(),
      runId: data.runId,
      ...(conn?.record.userId != null ? { userId: conn.record.userId.toString() } : {}),
      ...(conn ? { dcId: conn.record.dcId } : {}),
      ...(conn?.defaultIdentity ? { defaultIdentity: true } : {}),
      ...extra,
    }
  }

  /** The session is in a state that ends the job (dead key, ban, FLOOD_WAIT…): a check reports it, so does harden. */
  private decided(
    data: SessionJobData,
    startedAt: number,
    conn: SessionConnection,
    decided: ErrorHealth,
  ): SessionJobOutcome {
    const health = this.health(data, conn, decided.state, { error: decided.error })
    if (data.op === 'check') return this.final(data, startedAt, { state: decided.state, health })
    const state = decided.state === 'active' ? 'failed(unexpected)' : decided.state
    const hardening: HardenRecord = { state, at: Date.now(), runId: data.runId, error: decided.error }
    return this.final(data, startedAt, { state, health, hardening })
  }

  private failed(data: SessionJobData, startedAt: number, err: unknown, conn?: SessionConnection): SessionJobOutcome {
    const name = (err as Error)?.name ?? 'Error'
    const state =
      `failed(${/^[a-z_]+$/.test(name) ? name : err instanceof RpcError ? err.errorMessage : name})` as const
    const error = failureText(err)
    if (data.op === 'check')
      return this.final(data, startedAt, { state, health: this.health(data, conn, state, { error }) })
    return this.final(data, startedAt, { state, hardening: { state, at: Date.now(), runId: data.runId, error } })
  }

  private async check(conn: SessionConnection, data: SessionJobData, startedAt: number): Promise<SessionJobOutcome> {
    const invoke = deciding(conn)
    let user: tl.TypeUser | undefined
    let frozenByError: ErrorHealth | undefined
    try {
      user = (await invoke<tl.TypeUser[]>({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }))[0]
    } catch (err) {
      // A frozen account may not call every method: its freeze dates are in the app config, read next.
      if (!(err instanceof Decided) || err.health.state !== 'frozen') throw err
      frozenByError = err.health
    }
    const appConfig = await invoke<tl.help.TypeAppConfig>({ _: 'help.getAppConfig', hash: 0 })
    const frozen = freezeOf(appConfig)
    const userId = user?._ === 'user' ? { userId: user.id.toString() } : {}
    if (frozen || frozenByError) {
      const health = this.health(data, conn, 'frozen', {
        ...userId,
        ...(frozen ? { frozen } : {}),
        ...(frozenByError ? { error: frozenByError.error } : {}),
      })
      return this.final(data, startedAt, { state: 'frozen', health })
    }
    if (user?._ !== 'user') return this.failed(data, startedAt, new Error('users.getUsers returned no self'), conn)
    const reasons = restrictionOf(user)
    const state: HealthState = reasons ? 'restricted' : 'active'
    const health = this.health(data, conn, state, { ...userId, ...(reasons ? { restrictionReasons: reasons } : {}) })
    return this.final(data, startedAt, { state, health })
  }

  private async harden(
    jobId: string,
    conn: SessionConnection,
    data: SessionJobData,
    startedAt: number,
  ): Promise<SessionJobOutcome> {
    const opts = data.harden ?? { resetOthers: true, whenFresh: 'defer', password: 'missing' }
    const invoke = deciding(conn)
    // The password first: a job that then waits out the 24 hours must not change it again when it wakes.
    const password = data.passwordDone ?? (await this.hardenPassword(jobId, invoke, data))
    let othersFound = 0
    let othersTerminated = 0
    let resetNotBefore: number | undefined
    const others = async (): Promise<{ current?: tl.RawAuthorization; others: tl.RawAuthorization[] }> => {
      const list = await invoke<tl.account.RawAuthorizations>({ _: 'account.getAuthorizations' })
      const all = list.authorizations.filter((a): a is tl.RawAuthorization => a._ === 'authorization')
      const current = all.find((a) => a.current === true)
      return { ...(current ? { current } : {}), others: all.filter((a) => a.current !== true) }
    }
    const before = await others()
    othersFound = before.others.length
    if (opts.resetOthers && othersFound > 0) {
      try {
        await invoke<boolean>({ _: 'auth.resetAuthorizations' })
        othersTerminated = othersFound - (await others()).others.length
      } catch (err) {
        const fresh = err instanceof RpcError && err.is('FRESH_RESET_AUTHORISATION_FORBIDDEN')
        if (!fresh) throw err
        // How long until the session is 24 hours old, by the DC's clock (its date_active of us is its "now").
        const serverNow = before.current?.dateActive ?? Math.floor(Date.now() / 1000)
        const created = before.current?.dateCreated ?? serverNow
        const waitS = Math.max(60, created + FRESH_SESSION_SECONDS - serverNow)
        resetNotBefore = Date.now() + waitS * 1000
        if (opts.whenFresh === 'wait')
          return { kind: 'wait', data: { notBefore: resetNotBefore, passwordDone: password }, delayMs: waitS * 1000 }
      }
    }
    const state = resetNotBefore !== undefined ? 'deferred' : password === 'current_unknown' ? 'incomplete' : 'hardened'
    const hardening: HardenRecord = {
      state,
      at: Date.now(),
      runId: data.runId,
      othersFound,
      othersTerminated,
      ...(resetNotBefore !== undefined ? { resetNotBefore } : {}),
      password,
    }
    return this.final(data, startedAt, { state, hardening })
  }

  /** Sets or changes the 2FA password as asked; the new one is in the session's secrets before Telegram has it. */
  private async hardenPassword(
    jobId: string,
    invoke: Invoke,
    data: SessionJobData,
  ): Promise<NonNullable<HardenRecord['password']>> {
    const mode = data.harden?.password ?? 'missing'
    if (mode === 'keep') return 'kept'
    const secrets = this.env.secrets
    const known = await secrets.get(data.session)
    const api = { invoke }
    const state = await getPasswordState(api)
    if (state.hasPassword && mode === 'missing')
      return known.password !== undefined || known.pendingPassword !== undefined ? 'kept' : 'current_unknown'
    const candidates = state.hasPassword
      ? [known.password, known.pendingPassword].filter((p): p is string => p !== undefined)
      : [undefined]
    if (candidates.length === 0) return 'current_unknown'
    // A pending password from a job that stopped halfway may be the account's already: it is set again rather
    // than replaced by another, so the one the account may have is never overwritten in the store.
    const next =
      known.pendingPassword ??
      (await this.env.vault.get(jobId)).password ??
      randomBytes(GENERATED_PASSWORD_BYTES).toString('base64url')
    // Written before Telegram is told: a crash in between cannot lose the password the account then has.
    await secrets.put(data.session, { pendingPassword: next })
    for (let i = 0; i < candidates.length; i++) {
      try {
        // setCloudPassword reads a fresh account.getPassword each time: each srp_id answers once.
        await setCloudPassword(
          api,
          { password: next, ...(data.harden?.passwordHint ? { hint: data.harden.passwordHint } : {}) },
          candidates[i],
        )
        await secrets.put(data.session, { password: next, pendingPassword: null })
        return state.hasPassword ? 'changed' : 'set'
      } catch (err) {
        if (err instanceof PasswordSettingsError && err.reason === 'unsupported_algo')
          throw new PasswordAlgoError(err.message, { cause: err })
        const wrong = err instanceof PasswordSettingsError && err.reason === 'password_invalid'
        if (wrong && i < candidates.length - 1) continue
        // The new password did not take: the stored one (if any) stays the account's.
        if (wrong) {
          await secrets.put(data.session, { pendingPassword: null })
          return 'current_unknown'
        }
        throw err
      }
    }
    return 'current_unknown'
  }
}
