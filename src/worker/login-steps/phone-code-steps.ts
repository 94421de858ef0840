// The phone login's code steps: send the code (paced), ask the channel for it, sign in with it, ask again when
// Telegram refused it, resend when it expired.
import type { tl } from '../../mtproto/tl/index.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import { codeTypeName } from '../../auth/credential-provider.ts'
import type { Authorization } from '../../auth/flows/login-host.ts'
import { resendOrSendAgain, sendCode } from '../../auth/flows/phone-login.ts'
import { CodeTimeoutError, type KnownCodeType } from '../../queue/code-channel.ts'
import { codeAttemptId } from '../../queue/login-job.ts'
import { RedisScript } from '../../queue/redis-script.ts'
import type { LoginClient } from '../login-client-cache.ts'
import { CLAIM_TTL_SECONDS, alreadyLoggedIn, authorized, claim } from './login-outcomes.ts'
import { passwordStep } from './password-step.ts'
import { reaskDue, type StepContext, type StepOutcome } from './step-context.ts'

// KEYS[1] the login hash. ARGV: TTL sec, field/value pairs. The sent code's fields in, a passwordNeeded left by an
// earlier login of this job id out, the TTL: at once, as a MULTI would, but one command that the thread's
// auto-pipelined connection sends with its neighbours (a MULTI is always a socket write of its own).
const CODE_SENT_LUA = new RedisScript(`
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('HDEL', KEYS[1], 'passwordNeeded')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`)

/** FLOOD_WAITs on sendCode up to this long pace the whole DC; longer ones are one phone's own limit. */
const DC_PENALTY_MAX_SECONDS = 60

/** signIn's answers about the code itself: anything else leaves the code unjudged (and it is put back). */
const CODE_VERDICTS = [
  'PHONE_CODE_INVALID',
  'PHONE_CODE_EMPTY',
  'PHONE_CODE_EXPIRED',
  'SESSION_PASSWORD_NEEDED',
] as const

function isCodeVerdict(err: unknown): err is RpcError {
  return err instanceof RpcError && CODE_VERDICTS.some((v) => err.is(v))
}

export async function sendCodeStep(ctx: StepContext): Promise<StepOutcome> {
  const held = await claim(ctx)
  if (held) return held
  const resumed = await codeAlreadyAsked(ctx, 1)
  if (resumed) return resumed
  const c = await ctx.client()
  const pace = await ctx.cfg.limiter.acquire({ dcId: c.mtproto.homeDc })
  if (!pace.ok) return { kind: 'wait', data: {}, delayMs: pace.retryInMs }
  const sent = await sendingCode(ctx, c, () => sendCode(c.host, ctx.data.account))
  if (sent._ === 'auth.sentCodeSuccess') return authorized(ctx, sent.authorization as Authorization)
  return codeSent(ctx, sent, 1)
}

/**
 * auth.sendCode or auth.resendCode, after the limiter let it go. A short FLOOD_WAIT paces the DC for everyone
 * (the limit is on us); a longer one is this phone's own limit and must not stop every other login on the DC.
 */
async function sendingCode<T>(ctx: StepContext, c: LoginClient, send: () => Promise<T>): Promise<T> {
  try {
    return await send()
  } catch (err) {
    if (err instanceof RpcError && err.isFloodWait && err.seconds! <= DC_PENALTY_MAX_SECONDS)
      await ctx.cfg.limiter.penalize(c.mtproto.homeDc, err.seconds!)
    throw err
  }
}

/** The code expired before it was used: another one (resendCode, or sendCode when the hash expired too), paced. */
export async function resendStep(ctx: StepContext): Promise<StepOutcome> {
  const c = await ctx.client()
  const phoneCodeHash = await ctx.phoneCodeHash()
  if (!phoneCodeHash) return sendCodeStep(ctx.with({ ...ctx.data, step: 'start' }))
  const resumed = await codeAlreadyAsked(ctx, ctx.data.codeAttempt + 1)
  if (resumed) return resumed
  const pace = await ctx.cfg.limiter.acquire({ dcId: c.mtproto.homeDc })
  if (!pace.ok) return { kind: 'wait', data: { step: 'resend_code' }, delayMs: pace.retryInMs }
  const next = await sendingCode(ctx, c, () => resendOrSendAgain(c.host, ctx.data.account, phoneCodeHash))
  if (next._ === 'auth.sentCodeSuccess') return authorized(ctx, next.authorization as Authorization)
  return codeSent(ctx, next, ctx.data.codeAttempt + 1)
}

/** The login hash's codeAsked once code request `codeAttempt` of this login (run and nonce) went out. */
function codeAskedMark(ctx: StepContext, codeAttempt: number): string {
  return `${ctx.data.runId}/${codeAttemptId(ctx.data, codeAttempt)}`
}

async function codeSent(ctx: StepContext, sent: tl.auth.RawSentCode, codeAttempt: number): Promise<StepOutcome> {
  const { cfg } = ctx
  const c = await ctx.client()
  // The auth key that asked for the code is in Redis before anyone can deliver it: whichever worker resumes
  // the job signs in with that key.
  await c.keys.flush()
  // A passwordNeeded left by an earlier login of this job id (one that ended outside the runner) would make
  // the code step skip signIn.
  const codeType = (codeTypeName(sent.type._) ?? 'unknown') as KnownCodeType
  const codeLength = (sent.type as { length?: number }).length ?? 0
  const deadline = Date.now() + ctx.codeTimeoutMs
  await CODE_SENT_LUA.run(
    cfg.redis,
    [ctx.loginKey],
    [
      ctx.loginTtlSec,
      'phoneCodeHash',
      ctx.sealedPhoneCodeHash(sent.phoneCodeHash),
      'dcId',
      c.mtproto.homeDc,
      'codeType',
      codeType,
      'codeLength',
      codeLength,
      'codeAsked',
      codeAskedMark(ctx, codeAttempt),
      'codeDeadline',
      deadline,
    ],
  )
  ctx.loginChanged()
  // sentCode.timeout is only when a resend may be asked for.
  return waitForCode(ctx, { codeAttempt, deadline, codeType, codeLength, resendAfterSec: sent.timeout })
}

/**
 * This step asked Telegram for this code already, and its worker died before the job's next step was saved
 * (BullMQ runs the step again with the data it had): wait for that code rather than ask Telegram for another.
 * Another would be a second SMS, and its fresh request would drop a code the provider delivered for the first.
 * The request goes out again as a reissue, which keeps a delivered code.
 */
async function codeAlreadyAsked(ctx: StepContext, codeAttempt: number): Promise<StepOutcome | null> {
  const { codeAsked, codeDeadline } = await ctx.loginFields()
  if (codeAsked !== codeAskedMark(ctx, codeAttempt) || codeDeadline === null) return null
  return waitForCode(ctx, {
    codeAttempt,
    deadline: Number(codeDeadline),
    ...(await sentCodeShape(ctx)),
    reissued: true,
  })
}

/** The type and length of the code Telegram last sent this login, as the login hash keeps them. */
async function sentCodeShape(ctx: StepContext): Promise<{ codeType: KnownCodeType; codeLength: number }> {
  const { codeType, codeLength } = await ctx.loginFields()
  return { codeType: (codeType ?? 'sms') as KnownCodeType, codeLength: Number(codeLength) || 0 }
}

/** One code request of this login: which attempt, the code's shape, until when the login waits, and the extras. */
interface CodeAttemptRequest {
  codeAttempt: number
  deadline: number
  codeType: KnownCodeType
  codeLength: number
  resendAfterSec?: number | undefined
  refusedAttempt?: string
  reissued?: boolean
}

/** Asks the code channel for code request `codeAttempt` of this login, which waits for it until `deadline`. */
async function requestCodeAttempt(ctx: StepContext, req: CodeAttemptRequest): Promise<void> {
  await ctx.cfg.inbox.requestCode({
    phone: ctx.data.account,
    attempt: codeAttemptId(ctx.data, req.codeAttempt),
    codeType: req.codeType,
    jobId: ctx.jobId,
    // How long the request lives (a provider polls, then cancels for a refund, by it): the login's wait.
    timeoutSec: Math.max(1, Math.ceil((req.deadline - Date.now()) / 1000)),
    ...(req.codeLength > 0 ? { codeLength: req.codeLength } : {}),
    ...(req.resendAfterSec ? { resendAfterSec: req.resendAfterSec } : {}),
    ...(req.refusedAttempt !== undefined ? { refusedAttempt: req.refusedAttempt } : {}),
    ...(req.reissued ? { reissued: true } : {}),
  })
}

/** The code request (the login's secrets expiring with its deadline), and the wait for the code. */
async function waitForCode(ctx: StepContext, req: CodeAttemptRequest): Promise<StepOutcome> {
  const { codeAttempt, deadline } = req
  const requestEpoch = await ctx.cfg.epoch?.current()
  // The secrets now live until the deadline; set here, so that nothing is left to do once the code is asked for
  // (it may come at once), and sent in the same write as the request.
  const expiring = ctx.expireSecretsWithDeadline(deadline)
  await requestCodeAttempt(ctx, req)
  await expiring
  return {
    kind: 'wait',
    data: { step: 'wait_code', codeAttempt, deadline, blockOnNextLook: true, requestEpoch, reaskedAt: undefined },
    delayMs: ctx.recheckMs,
  }
}

/**
 * Telegram refused the code (PHONE_CODE_INVALID): ask for it again as a new attempt that names the refused one,
 * so that a provider can act (read it again, ask its vendor for another SMS). The login's deadline stands.
 */
async function askCodeAgain(ctx: StepContext, codeFailures: number): Promise<StepOutcome> {
  const { cfg, data } = ctx
  const codeAttempt = data.codeAttempt + 1
  const requestEpoch = await cfg.epoch?.current()
  await requestCodeAttempt(ctx, {
    codeAttempt,
    deadline: data.deadline,
    ...(await sentCodeShape(ctx)),
    refusedAttempt: codeAttemptId(data),
  })
  return {
    kind: 'wait',
    data: { codeFailures, codeAttempt, blockOnNextLook: true, requestEpoch, reaskedAt: undefined },
    delayMs: ctx.recheckMs,
  }
}

/**
 * No code yet, and the farm's Redis failed over (or restarted empty) since it was asked for: the request, or the
 * code delivered for it, may be gone with the old primary. Ask for the same attempt again (a provider delivers it
 * again; one that already did is ignored, codes are stored NX) rather than wait out the deadline for nothing.
 */
async function reaskAfterFailover(ctx: StepContext): Promise<StepOutcome | null> {
  const { data } = ctx
  if (!(await reaskDue(ctx))) return null
  await requestCodeAttempt(ctx, {
    codeAttempt: data.codeAttempt,
    deadline: data.deadline,
    ...(await sentCodeShape(ctx)),
    reissued: true,
  })
  // The epoch of the request stays: until the code comes, it is asked for again every REASK_EVERY_MS.
  return { kind: 'wait', data: { blockOnNextLook: true, reaskedAt: Date.now() }, delayMs: ctx.recheckMs }
}

/** The delivered code (consumed), or null: a short blocking wait right after a request, else one look. */
async function lookForCode(ctx: StepContext): Promise<string | null> {
  const { cfg, data } = ctx
  const at = { phone: data.account, attempt: codeAttemptId(data) }
  if (!data.blockOnNextLook) return cfg.inbox.takeCode(at)
  return cfg.inbox.waitForCode({ ...at, timeoutMs: cfg.waitSliceMs ?? 2_000 }).catch((err: unknown) => {
    if (err instanceof CodeTimeoutError) return null
    throw err
  })
}

export async function codeStep(ctx: StepContext): Promise<StepOutcome> {
  const { cfg, data } = ctx
  // The code was already accepted and the account wants its 2FA password (a retried step): go on from there.
  if ((await ctx.loginField('passwordNeeded')) === '1') return passwordStep(ctx, undefined)
  const code = await lookForCode(ctx)
  if (code === null) {
    if (Date.now() > data.deadline) {
      await ctx.finish()
      return ctx.final('code_timeout')
    }
    const reasked = await reaskAfterFailover(ctx)
    if (reasked !== null) return reasked
    await cfg.registry.renew(data.accountKey, ctx.jobId, CLAIM_TTL_SECONDS)
    await ctx.dropClient() // nothing to do until the code comes: hold no socket while waiting
    return { kind: 'wait', data: { blockOnNextLook: false }, delayMs: ctx.recheckMs }
  }
  let c: LoginClient | undefined
  let phoneCodeHash: string | null = null
  let auth: Authorization | tl.auth.RawAuthorizationSignUpRequired | undefined
  try {
    c = await ctx.client()
    phoneCodeHash = await ctx.phoneCodeHash()
    if (phoneCodeHash)
      auth = await c.host.invoke({ _: 'auth.signIn', phoneNumber: data.account, phoneCodeHash, phoneCode: code })
  } catch (err) {
    if (!isCodeVerdict(err)) {
      // Not Telegram's verdict on the code (the connection or Redis went, a 500, a FLOOD_WAIT): the code goes
      // back for the step's next run. A login that ends here leaves no code behind for a later login to trip on.
      if (ctx.runsAgainAfter(err))
        await ctx.putBack(cfg.inbox.names.code(data.account, codeAttemptId(data)), code, err, 600)
      throw err
    }
    if (err.is('PHONE_CODE_INVALID') || err.is('PHONE_CODE_EMPTY')) {
      const failures = data.codeFailures + 1
      if (failures >= (cfg.maxCodeFailures ?? 3)) {
        await ctx.finish()
        return ctx.final('failed(code_invalid)')
      }
      return askCodeAgain(ctx, failures)
    }
    if (err.is('PHONE_CODE_EXPIRED')) {
      const done = await alreadyLoggedIn(c!)
      if (done) return authorized(ctx, done)
      return resendStep(ctx)
    }
    // SESSION_PASSWORD_NEEDED
    await cfg.redis.hset(ctx.loginKey, 'passwordNeeded', '1')
    ctx.loginChanged()
    return passwordStep(ctx, c)
  }
  if (!auth) return sendCodeStep(ctx.with({ ...data, step: 'start' })) // the hash is gone: a new code
  if (auth._ === 'auth.authorizationSignUpRequired') {
    await ctx.finish()
    return ctx.final('unregistered')
  }
  return authorized(ctx, auth)
}
