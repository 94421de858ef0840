// How a login ends once Telegram authorized it (the registry's duplicate check, the session completed), how a
// retried step finds a login it already finished, and the claim that keeps two jobs off one account.
import type { tl } from '../../mtproto/tl/index.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { Authorization } from '../../auth/flows/login-host.ts'
import type { LoginClient } from '../login-client-cache.ts'
import { sessionNameOf, type StepContext, type StepOutcome } from './step-context.ts'

/** A claim on an account lasts this long between renewals (a crashed worker frees it by then). */
export const CLAIM_TTL_SECONDS = 15 * 60

/** After an authorization: duplicate check, session completed, claim released. */
export async function authorized(ctx: StepContext, auth: Authorization): Promise<StepOutcome> {
  const c = await ctx.client()
  const user = auth.user as tl.RawUser
  const recorded = await ctx.cfg.registry.recordAuthorized(user.id, ctx.data.accountKey, ctx.recorder)
  if (recorded.status === 'duplicate') return dropDuplicate(ctx, user.id)
  return complete(ctx, c, user)
}

/** Someone else already holds this account's user: drop the authorization this login made, keep theirs. */
async function dropDuplicate(ctx: StepContext, userId: bigint): Promise<StepOutcome> {
  const c = await ctx.client()
  await c.host.invoke({ _: 'auth.logOut' }).catch(() => undefined)
  await ctx.dropClient()
  await ctx
    .sessionStorage()
    .delete()
    .catch(() => undefined)
  await ctx.finish()
  return ctx.final('duplicate', { userId: userId.toString() })
}

/** The session gets its user (the key that logged in is in it), then the login's bookkeeping ends. */
async function complete(ctx: StepContext, c: LoginClient, user: tl.RawUser): Promise<StepOutcome> {
  const app = c.mtproto.opts.app
  c.keys.persist({
    userId: user.id,
    isBot: user.bot ?? false,
    apiId: app.apiId,
    testMode: ctx.cfg.network.testMode,
    device: {
      deviceModel: app.deviceModel,
      systemVersion: app.systemVersion,
      appVersion: app.appVersion,
      systemLangCode: app.systemLangCode,
      langCode: app.langCode,
      langPack: app.langPack,
    },
  })
  await c.keys.flush()
  const dcId = c.mtproto.homeDc
  await ctx.finish()
  return ctx.final('authorized', { userId: user.id.toString(), dcId, session: sessionNameOf(ctx.data) })
}

/**
 * A step retried after its own login was recorded (the worker died, or Redis failed, between recording and
 * the job's end) finishes that login: it must neither report its own authorization as a duplicate, nor wait
 * for a code it already used, nor authorize again. An account resolved by someone else (an earlier run) ends
 * as duplicate, as before. Null when the account is not resolved yet.
 */
export async function resume(ctx: StepContext): Promise<StepOutcome | null> {
  const resolved = await ctx.cfg.registry.resolution(ctx.data.accountKey)
  if (!resolved) return null
  if (resolved.recordedBy !== ctx.recorder) {
    await ctx.finish()
    return ctx.final('duplicate')
  }
  if (resolved.holderAccountKey !== ctx.data.accountKey) return dropDuplicate(ctx, resolved.userId)
  const record = await ctx.sessionRecord()
  if (record?.userId === resolved.userId) {
    await ctx.finish()
    return ctx.final('authorized', {
      userId: resolved.userId.toString(),
      dcId: record.dcId,
      session: sessionNameOf(ctx.data),
    })
  }
  if (record && record.userId === null) {
    // Recorded, but the session's user was never written: the key in it is the one that logged in, if the DC
    // says it is logged in as that user.
    const c = await ctx.client()
    const user = await loggedInUser(c)
    if (user?.id === resolved.userId) return complete(ctx, c, user)
  }
  // The authorization is lost with its key: forget it, so that a new run can log the account in again.
  await ctx.cfg.registry.forgetAuthorized(resolved.userId)
  await ctx.finish()
  return ctx.final('failed(session_lost)')
}

/** Whom the client's key is logged in as, asked of the DC; null when it logs nobody in (401). */
async function loggedInUser(c: LoginClient): Promise<tl.RawUser | null> {
  const me = await c.host
    .invoke<tl.TypeUser[]>({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })
    .catch((err: unknown) => {
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
export async function alreadyLoggedIn(c: LoginClient): Promise<Authorization | null> {
  const user = await loggedInUser(c).catch(() => null)
  return user ? { _: 'auth.authorization', user } : null
}

/** Claims the account for this job; null to go on, or the outcome when someone else has it. */
export async function claim(ctx: StepContext): Promise<StepOutcome | null> {
  const status = await ctx.cfg.registry.claimStatus(ctx.data.accountKey, ctx.jobId, CLAIM_TTL_SECONDS)
  if (status === 'authorized') {
    const resumed = await resume(ctx)
    if (resumed) return resumed
    await ctx.finish()
    return ctx.final('duplicate')
  }
  if (status === 'held') return { kind: 'wait', data: {}, delayMs: 5_000 }
  return null
}
