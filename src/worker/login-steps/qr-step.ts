// QR: export (with the registry's ids as except_ids), publish the URL, poll until scanned or expired.
import type { tl } from '../../mtproto/tl/index.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { Authorization } from '../../auth/flows/login-host.ts'
import { loginUrl } from '../../auth/flows/qr-login.ts'
import { authorized, claim } from './login-outcomes.ts'
import { passwordStep } from './password-step.ts'
import type { StepContext, StepOutcome } from './step-context.ts'

/** A QR login's URL is republished only when the one on screen has less than this left (seconds). */
const QR_MIN_REMAINING_SECONDS = 5

export async function qrStep(ctx: StepContext): Promise<StepOutcome> {
  const { data, cfg } = ctx
  if (data.step === 'wait_password') return passwordStep(ctx, undefined)
  if (data.step === 'start') {
    const held = await claim(ctx)
    if (held) return held
  }
  const c = await ctx.client()
  const exceptIds = await cfg.registry.authorizedIds()
  let result: tl.auth.RawLoginToken | tl.auth.RawLoginTokenMigrateTo | tl.auth.RawLoginTokenSuccess
  try {
    result = await c.host.invoke({
      _: 'auth.exportLoginToken',
      apiId: c.host.apiId,
      apiHash: c.host.apiHash,
      exceptIds,
    })
    if (result._ === 'auth.loginTokenMigrateTo') {
      c.host.switchHomeDc(result.dcId)
      result = await c.host.invoke({ _: 'auth.importLoginToken', token: result.token })
    }
  } catch (err) {
    if (err instanceof RpcError && err.is('SESSION_PASSWORD_NEEDED'))
      return passwordStep(ctx.with({ ...data, step: 'start' }), c)
    throw err
  }
  if (result._ === 'auth.loginTokenSuccess') return authorized(ctx, result.authorization as Authorization)
  if (result._ !== 'auth.loginToken') return { kind: 'wait', data: {}, delayMs: 500 }
  const deadline = data.step === 'start' ? Date.now() + ctx.codeTimeoutMs : data.deadline
  if (Date.now() > deadline) {
    await ctx.finish()
    return ctx.final('code_timeout')
  }
  // Each export makes a new token, and the earlier ones stay valid until they expire: keep the QR on screen
  // (and the one a device may be scanning) until it is about to expire, rather than a new one every poll.
  const url = loginUrl(result.token)
  const qrKey = ctx.services.keys.qr(ctx.jobId)
  const shownExpires = Number(await cfg.redis.hget(qrKey, 'expires'))
  if (!(shownExpires - Date.now() / 1000 > QR_MIN_REMAINING_SECONDS)) {
    await c.keys.flush() // the exporting key is the one the scan logs in: whichever worker polls next needs it
    await cfg.redis
      .multi()
      .hset(qrKey, { url, expires: result.expires, account: data.account })
      .expire(qrKey, 600)
      .exec()
    await cfg.redis.publish(
      ctx.services.keys.qrChannel,
      JSON.stringify({ jobId: ctx.jobId, account: data.account, url, expires: result.expires }),
    )
  }
  return { kind: 'wait', data: { step: 'wait_qr', deadline }, delayMs: 1_000 }
}
