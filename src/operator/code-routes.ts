// The code callbacks over HTTP: POST /v1/codes, POST /v1/passwords and the webhook of handler_api-family SMS
// services. Same semantics as the Redis contract (docs/provider-contract.md) through the same functions: stored,
// then announced; used once. The answer says whether a login was waiting for it. Bad input is refused with a
// reason before anything reaches Redis.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Queue } from 'bullmq'
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import {
  CodeChannelError,
  channelPhone,
  publishCode,
  publishPassword,
  type DeliverCodeStatus,
} from '../queue/code-channel.ts'
import type { LoginJobData, LoginStep } from '../queue/login-job.ts'
import { loadJobIds, type JobIds } from '../queue/job-ids.ts'
import { Keyring, type Sealer } from '../foundation/sealed-value.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { maskPhone } from '../foundation/logger.ts'
import { bearerOf, type TokenChecker } from './bearer-tokens.ts'
import { OperatorHttpError } from './operator-http-error.ts'

export interface CodeRoutesOptions {
  readonly redis: RedisClient
  readonly prefix: string
  readonly queue: Queue<LoginJobData>
  readonly tokens: TokenChecker
  readonly logger?: Logger | undefined
  /** The farm's keyring: seals delivered codes and passwords, and names jobs as the farm does (keyed ids). */
  readonly sealer?: Sealer
  /** Called once per accepted delivery (metrics). */
  readonly onDelivery?: (kind: 'code' | 'password', status: string, via: 'api' | 'webhook') => void
}

/** How each delivery status is answered: a code a login was waiting for is 200, one kept for later 202, refused 409. */
const CODE_HTTP_STATUS: Record<DeliverCodeStatus, number> = { stored: 200, pending: 202, duplicate: 409, stale: 409 }

function field(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = body[name]
  if (v === undefined || v === null) {
    if (required) throw new OperatorHttpError(400, `missing-${name}`, `"${name}" is required`)
    return undefined
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  if (typeof v !== 'string') throw new OperatorHttpError(400, `invalid-${name}`, `"${name}" must be a string`)
  return v
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    throw new OperatorHttpError(400, 'invalid-body', 'the body must be a JSON object')
  return b as Record<string, unknown>
}

/** The channel's phone, or 400 with the channel's reason. */
function phoneOf(raw: string): string {
  try {
    return channelPhone(raw)
  } catch (err) {
    if (err instanceof CodeChannelError) throw new OperatorHttpError(400, err.reason, err.message)
    throw err
  }
}

export function requireRole(tokens: TokenChecker, role: 'codes' | 'webhook', req: FastifyRequest): void {
  const query = req.query as Record<string, unknown> | undefined
  const token =
    bearerOf(req.headers.authorization) ??
    (role === 'webhook' && typeof query?.token === 'string' ? query.token : undefined)
  if (!tokens.allows(role, token)) throw new OperatorHttpError(401, 'unauthorized', 'a valid bearer token is required')
}

interface WaitingLogin {
  /** Whether a login of this phone is waiting for this kind of secret now. */
  readonly waiting: boolean
  readonly jobId: string
  readonly step: LoginStep | null
}

/** The login job of `phone` and whether it waits for `step`; 409 when a given job id is another account's. */
async function loginOf(
  queue: Queue<LoginJobData>,
  jobIds: JobIds,
  phone: string,
  step: LoginStep,
  givenJobId: string | undefined,
): Promise<WaitingLogin> {
  const jobId = jobIds.of('user', phone)
  if (givenJobId !== undefined && givenJobId !== jobId) {
    throw new OperatorHttpError(409, 'job-mismatch', 'that job id is not the login of this phone')
  }
  const job = await queue.getJob(jobId)
  const current = job?.data?.step ?? null
  const state = job ? await job.getState() : 'unknown'
  // A login job carries a priority: queued, it waits as 'prioritized' rather than 'waiting'.
  const waiting =
    current === step && (state === 'delayed' || state === 'active' || state === 'waiting' || state === 'prioritized')
  return { waiting, jobId, step: current }
}

export function registerCodeRoutes(app: FastifyInstance, opts: CodeRoutesOptions): void {
  const { redis, prefix, queue, tokens } = opts
  const keys = new FarmRedisKeys(prefix)
  let jobIdsLoaded: Promise<JobIds> | undefined
  const jobIdsOf = (): Promise<JobIds> => (jobIdsLoaded ??= loadJobIds(redis, prefix, opts.sealer ?? Keyring.clear()))

  const deliverCode = async (
    phone: string,
    code: string,
    attempt: string | undefined,
    jobId: string | undefined,
    via: 'api' | 'webhook',
    reply: FastifyReply,
  ) => {
    const login = await loginOf(queue, await jobIdsOf(), phone, 'wait_code', jobId)
    let result
    try {
      result = await publishCode(
        redis,
        { phone, code, ...(attempt !== undefined ? { attempt } : {}) },
        { prefix, ...(opts.sealer ? { sealer: opts.sealer } : {}) },
      )
    } catch (err) {
      if (err instanceof CodeChannelError) throw new OperatorHttpError(400, err.reason, err.message)
      throw err
    }
    opts.onDelivery?.('code', result.status, via)
    opts.logger?.info(
      { phone: maskPhone(phone), status: result.status, attempt: result.attempt, waiting: login.waiting, via },
      'code delivered over HTTP',
    )
    // Whether a login was waiting is the job's to say: a request hash outlives the login that made it.
    const status = CODE_HTTP_STATUS[result.status] === 200 && !login.waiting ? 202 : CODE_HTTP_STATUS[result.status]
    return reply.code(status).send({
      status: result.status,
      attempt: result.attempt,
      waiting: login.waiting,
      jobId: login.jobId,
      step: login.step,
    })
  }

  app.post('/v1/codes', async (req, reply) => {
    requireRole(tokens, 'codes', req)
    const body = objectBody(req)
    const phone = phoneOf(field(body, 'phone', true)!)
    const code = field(body, 'code', true)!
    return deliverCode(
      phone,
      code,
      field(body, 'attempt', false),
      field(body, 'jobId', false) ?? field(body, 'job_id', false),
      'api',
      reply,
    )
  })

  app.post('/v1/passwords', async (req, reply) => {
    requireRole(tokens, 'codes', req)
    const body = objectBody(req)
    const phone = phoneOf(field(body, 'phone', true)!)
    const password = field(body, 'password', true)!
    if (password.length === 0 || password.length > 256)
      throw new OperatorHttpError(400, 'invalid-password', 'password must be 1-256 characters')
    const login = await loginOf(
      queue,
      await jobIdsOf(),
      phone,
      'wait_password',
      field(body, 'jobId', false) ?? field(body, 'job_id', false),
    )
    await publishPassword(redis, { phone, password }, { prefix, ...(opts.sealer ? { sealer: opts.sealer } : {}) })
    opts.onDelivery?.('password', 'stored', 'api')
    opts.logger?.info({ phone: maskPhone(phone), waiting: login.waiting }, '2FA password delivered over HTTP')
    // Stored either way (a login asks later within the password's TTL); 202 when none was waiting yet.
    return reply
      .code(login.waiting ? 200 : 202)
      .send({ status: 'stored', waiting: login.waiting, jobId: login.jobId, step: login.step })
  })

  // handler_api-family webhooks: {"activationId": 123, "service": "tg", "text": "Telegram code: 12345", "code": "12345", …}
  app.post('/v1/webhooks/handler-api', async (req, reply) => {
    requireRole(tokens, 'webhook', req)
    const body = objectBody(req)
    const activationId = field(body, 'activationId', false) ?? field(body, 'id', false)
    if (activationId === undefined || !/^[\w-]{1,64}$/.test(activationId))
      throw new OperatorHttpError(
        400,
        'invalid-activation',
        '"activationId" is required (1-64 letters, digits, _ or -)',
      )
    const phoneRaw = await redis.hget(keys.smsActivations, activationId)
    if (phoneRaw === null)
      throw new OperatorHttpError(
        404,
        'unknown-activation',
        'no number of this farm was rented under that activation id',
      )
    const given = field(body, 'code', false)
    const text = field(body, 'text', false)
    const code = given !== undefined && given.trim() !== '' ? given.trim() : codeInText(text)
    if (code === undefined) throw new OperatorHttpError(400, 'no-code', 'neither "code" nor a code in "text"')
    return deliverCode(phoneOf(phoneRaw), code, undefined, undefined, 'webhook', reply)
  })
}

/** Telegram's SMS: "Telegram code: 12345" / "Your login code: 12345" (5-6 digits; a dash in some formats). */
export function codeInText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const m = /(?:^|\D)(\d{3}-\d{2,3}|\d{5,6})(?!\d)/.exec(text)
  return m?.[1]?.replace('-', '')
}
