// The 2FA step: the password from the vault, or asked of the code channel and waited for, then checkPassword.
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { Authorization } from '../../auth/flows/login-host.ts'
import { checkPassword } from '../../auth/flows/password-check.ts'
import { CodeTimeoutError } from '../../queue/code-channel.ts'
import type { LoginClient } from '../login-client-cache.ts'
import { alreadyLoggedIn, authorized } from './login-outcomes.ts'
import { reaskDue, type StepContext, type StepOutcome } from './step-context.ts'

/** The epoch of a request nobody heard: no Redis has it, so the request is due to be asked again. */
const UNHEARD_REQUEST = 'unheard'

/** The delivered password (consumed), or null: a short blocking wait right after a request, else one look. */
async function lookForPassword(ctx: StepContext): Promise<string | null> {
  const { data, cfg } = ctx
  if (!data.blockOnNextLook) return cfg.inbox.takePassword({ phone: data.account })
  return cfg.inbox
    .waitForPassword({ phone: data.account, timeoutMs: cfg.waitSliceMs ?? 2_000 })
    .catch((err: unknown) => {
      if (err instanceof CodeTimeoutError) return null
      throw err
    })
}

/** `cached`: the client of the step that found the password needed (its key is the one that signs in). */
export async function passwordStep(ctx: StepContext, cached: LoginClient | undefined): Promise<StepOutcome> {
  const { data, cfg } = ctx
  const from = data.options.passwordFrom ?? 'vault'
  let password: string | undefined
  let fromChannel = false
  if (from === 'vault') password = (await cfg.vault.get(ctx.jobId)).password
  // A QR login has no phone to ask the channel about: its password is in the vault or nowhere.
  if (password === undefined && from !== 'none' && data.kind !== 'qr') {
    // A failover of the farm's Redis since the password was asked for may have lost it: ask again.
    const reask = data.step === 'wait_password' && (await reaskDue(ctx))
    if (data.step !== 'wait_password' || reask) {
      // A re-ask keeps the request's epoch: until the password comes, it is asked for again every REASK_EVERY_MS.
      const current = reask ? data.requestEpoch : await cfg.epoch?.current()
      const heard = await cfg.inbox.requestPassword({
        phone: data.account,
        jobId: ctx.jobId,
        timeoutSec: Math.max(1, Math.ceil((reask ? data.deadline - Date.now() : ctx.codeTimeoutMs) / 1000)),
      })
      // A password request is only published: one that nobody heard (a provider still reconnecting, say to the
      // primary a failover just promoted) is asked again every REASK_EVERY_MS, as after a failover, until it comes.
      const requestEpoch = heard === 0 && cfg.epoch !== undefined ? UNHEARD_REQUEST : current
      // The key waiting for the password must be the one that signs in with it, on whichever worker.
      await (cached ?? (await ctx.client())).keys.flush()
      return {
        kind: 'wait',
        data: {
          step: 'wait_password',
          deadline: reask ? data.deadline : Date.now() + ctx.codeTimeoutMs,
          blockOnNextLook: true,
          requestEpoch,
          reaskedAt: reask || requestEpoch === UNHEARD_REQUEST ? Date.now() : undefined,
        },
        delayMs: ctx.recheckMs,
      }
    }
    const delivered = await lookForPassword(ctx)
    if (delivered === null) {
      if (Date.now() > data.deadline) {
        await ctx.finish()
        return ctx.final('needs_password')
      }
      await ctx.dropClient()
      return { kind: 'wait', data: { blockOnNextLook: false }, delayMs: ctx.recheckMs }
    }
    password = delivered
    fromChannel = true
  }
  if (password === undefined) {
    await ctx.finish()
    return ctx.final('needs_password')
  }
  const c = cached ?? (await ctx.client())
  let auth: Authorization
  try {
    auth = await checkPassword(c.host, { password, maxAttempts: 1, phoneNumber: data.account })
  } catch (err) {
    // A password taken from the channel goes back when Telegram did not judge it (the connection went, a 500,
    // a FLOOD_WAIT), for the step's next run.
    if (fromChannel && ctx.runsAgainAfter(err))
      await ctx.putBack(cfg.inbox.names.password(data.account), password, err, 120)
    if (err instanceof RpcError && err.is('SRP_ID_INVALID')) {
      const done = await alreadyLoggedIn(c)
      if (done) return authorized(ctx, done)
    }
    throw err
  }
  return authorized(ctx, auth)
}
