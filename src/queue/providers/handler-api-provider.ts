// An adapter for SMS-activation services speaking the common `handler_api` protocol (many vendors share it):
// rent a number, poll for the SMS code, set the activation's status. Plus a bridge that answers the farm's code
// requests for numbers rented here by polling the vendor and delivering into the code channel.
//
// Protocol: GET <base>/stubs/handler_api.php?api_key=…&action=…; plain-text answers.
//   getNumber&service=tg&country=N → ACCESS_NUMBER:<id>:<phone>      (or NO_NUMBERS, NO_BALANCE, BAD_KEY, …)
//   getStatus&id=                  → STATUS_OK:<code> | STATUS_WAIT_CODE | STATUS_WAIT_RETRY:<last> |
//                                    STATUS_WAIT_RESEND | STATUS_CANCEL
//   setStatus&id=&status=          → 1 ready (ACCESS_READY), 3 another SMS (ACCESS_RETRY_GET),
//                                    6 done (ACCESS_ACTIVATION), 8 cancel/refund (ACCESS_CANCEL)
// The api_key is in every URL, so no URL, and nothing derived from one, goes into an error or a log line.
import type { Logger } from 'pino'
import { maskPhone } from '../../foundation/logger.ts'
import { QueueError } from '../queue-error.ts'
import type { CodeProviderClient, CodeRequestMessage, KnownCodeType } from '../code-channel.ts'

export const HANDLER_API_PATH = '/stubs/handler_api.php'

/** Words the protocol answers with on failure, plus our own for transport failures. */
export type SmsProviderErrorWord =
  | 'NO_NUMBERS'
  | 'NO_BALANCE'
  | 'BAD_KEY'
  | 'BAD_ACTION'
  | 'BAD_SERVICE'
  | 'BAD_STATUS'
  | 'NO_ACTIVATION'
  | 'WRONG_ACTIVATION_ID'
  | 'EARLY_CANCEL_DENIED'
  | 'ERROR_SQL'
  | 'BANNED'
  | 'STATUS_CANCEL'
  /** Ours: the HTTP request timed out. */
  | 'REQUEST_TIMEOUT'
  /** Ours: connection refused, DNS, reset… */
  | 'NETWORK_ERROR'
  /** Ours: a non-2xx HTTP status. */
  | 'HTTP_ERROR'
  /** Ours: an answer we do not understand. */
  | 'UNEXPECTED_RESPONSE'
  /** Ours: pollCode gave up. */
  | 'CODE_TIMEOUT'
  | (string & {})

/** Worth trying again later (the same call may succeed); the rest need a person (key, balance, ban). */
const RETRYABLE_WORDS: ReadonlySet<string> = new Set([
  'NO_NUMBERS',
  'ERROR_SQL',
  'REQUEST_TIMEOUT',
  'NETWORK_ERROR',
  'HTTP_ERROR',
  'EARLY_CANCEL_DENIED',
])

export class SmsProviderError extends QueueError {
  override readonly name = 'SmsProviderError'
  readonly retryable: boolean
  constructor(
    readonly word: SmsProviderErrorWord,
    readonly action: string,
    detail?: string,
  ) {
    super(`handler_api ${action}: ${word}${detail !== undefined ? ` (${detail})` : ''}`)
    this.retryable = RETRYABLE_WORDS.has(word)
  }

  /** The vendor said "not now" (no numbers, a network or HTTP failure): asking again later may work. */
  override get transient(): boolean {
    return this.retryable
  }
}

export interface HandlerApiProviderOptions {
  /** The vendor's base URL, e.g. `https://vendor.example` (the handler_api path is appended). */
  readonly baseUrl: string
  readonly apiKey: string
  /** Service code of Telegram at the vendor. Default `tg`. */
  readonly service?: string
  /** Per HTTP request. Default 15000. */
  readonly requestTimeoutMs?: number
  /** Default `/stubs/handler_api.php`. */
  readonly path?: string
  readonly logger?: Logger
}

export interface RentedNumber {
  readonly activationId: string
  /** E.164 digits. */
  readonly phone: string
}

export type ActivationStatus =
  | { readonly status: 'ok'; readonly code: string }
  | { readonly status: 'waitCode' }
  /** Another SMS was asked for; `lastCode` is the previous one, not a new code. */
  | { readonly status: 'waitRetry'; readonly lastCode: string }
  | { readonly status: 'waitResend' }
  | { readonly status: 'cancel' }

export interface PollCodeOptions {
  readonly signal?: AbortSignal
  /** Default 5000 (vendors throttle faster polling). */
  readonly intervalMs?: number
  /** Default 600000. */
  readonly timeoutMs?: number
  /** A STATUS_OK with this code is the previous SMS, not the awaited one. */
  readonly ignoreCode?: string
}

const SET_STATUS = { ready: 1, anotherSms: 3, complete: 6, cancel: 8 } as const
const SET_STATUS_OK: Record<number, string> = {
  1: 'ACCESS_READY',
  3: 'ACCESS_RETRY_GET',
  6: 'ACCESS_ACTIVATION',
  8: 'ACCESS_CANCEL',
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(abortError(signal))
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortError(signal as AbortSignal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function abortError(signal: AbortSignal): DOMException {
  const err = new DOMException('the SMS provider call was aborted', 'AbortError')
  Object.defineProperty(err, 'cause', { value: signal.reason })
  return err
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError'
}

export class HandlerApiProvider {
  /** Numbers rented by this instance that are still open: phone → activation id. */
  readonly rentals = new Map<string, string>()
  private readonly url: URL
  private readonly apiKey: string
  private readonly service: string
  private readonly requestTimeoutMs: number
  private readonly logger: Logger | undefined

  constructor(options: HandlerApiProviderOptions) {
    this.url = new URL(options.path ?? HANDLER_API_PATH, options.baseUrl)
    if (options.apiKey.length === 0) throw new RangeError('apiKey is empty')
    this.apiKey = options.apiKey
    this.service = options.service ?? 'tg'
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000
    this.logger = options.logger
  }

  /** Rent a number for Telegram in `country` (the vendor's numeric country id), at most `maxPrice` if given. */
  async getNumber(country: number, signal?: AbortSignal, maxPrice?: number): Promise<RentedNumber> {
    const text = await this.call(
      'getNumber',
      {
        service: this.service,
        country: String(country),
        ...(maxPrice !== undefined ? { maxPrice: String(maxPrice) } : {}),
      },
      signal,
    )
    const m = /^ACCESS_NUMBER:([^:]+):\+?(\d{7,15})$/.exec(text)
    if (m === null) throw this.failure('getNumber', text)
    const rented: RentedNumber = { activationId: m[1] as string, phone: m[2] as string }
    this.rentals.set(rented.phone, rented.activationId)
    this.logger?.info({ activationId: rented.activationId, phone: maskPhone(rented.phone), country }, 'number rented')
    return rented
  }

  async getStatus(activationId: string, signal?: AbortSignal): Promise<ActivationStatus> {
    const text = await this.call('getStatus', { id: activationId }, signal)
    if (text.startsWith('STATUS_OK:')) {
      const code = text.slice('STATUS_OK:'.length).trim()
      if (code.length > 0) return { status: 'ok', code }
    }
    if (text === 'STATUS_WAIT_CODE') return { status: 'waitCode' }
    if (text.startsWith('STATUS_WAIT_RETRY:')) return { status: 'waitRetry', lastCode: text.slice(18).trim() }
    if (text === 'STATUS_WAIT_RESEND') return { status: 'waitResend' }
    if (text === 'STATUS_CANCEL') return { status: 'cancel' }
    throw this.failure('getStatus', text)
  }

  /**
   * Poll until the SMS code arrives. Transient failures (network, HTTP 5xx, ERROR_SQL) are retried until the
   * deadline; STATUS_CANCEL and non-retryable words end the poll.
   */
  async pollCode(activationId: string, options: PollCodeOptions = {}): Promise<string> {
    const intervalMs = options.intervalMs ?? 5000
    const timeoutMs = options.timeoutMs ?? 600_000
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        const st = await this.getStatus(activationId, options.signal)
        if (st.status === 'ok' && st.code !== options.ignoreCode) return st.code
        if (st.status === 'cancel') throw new SmsProviderError('STATUS_CANCEL', 'getStatus', 'activation cancelled')
      } catch (err) {
        if (isAbort(err) || !(err instanceof SmsProviderError) || !err.retryable) throw err
        this.logger?.warn({ activationId, word: err.word }, 'transient SMS provider failure while polling')
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new SmsProviderError('CODE_TIMEOUT', 'getStatus', `no code within ${timeoutMs} ms`)
      await sleep(Math.min(intervalMs, left), options.signal)
    }
  }

  /** Tell the vendor the SMS was sent (status 1). */
  markReady(activationId: string, signal?: AbortSignal): Promise<void> {
    return this.setStatus(activationId, SET_STATUS.ready, signal)
  }

  /** Ask for another SMS on the same number (status 3), e.g. after auth.resendCode. */
  requestAnotherSms(activationId: string, signal?: AbortSignal): Promise<void> {
    return this.setStatus(activationId, SET_STATUS.anotherSms, signal)
  }

  /** The login succeeded: close the activation (status 6). */
  async complete(activationId: string, signal?: AbortSignal): Promise<void> {
    await this.setStatus(activationId, SET_STATUS.complete, signal)
    this.forget(activationId)
  }

  /** Give the number back; refunded when no code was received (status 8). */
  async cancel(activationId: string, signal?: AbortSignal): Promise<void> {
    await this.setStatus(activationId, SET_STATUS.cancel, signal)
    this.forget(activationId)
  }

  private forget(activationId: string): void {
    for (const [phone, id] of this.rentals) if (id === activationId) this.rentals.delete(phone)
  }

  private async setStatus(activationId: string, status: number, signal?: AbortSignal): Promise<void> {
    const text = await this.call('setStatus', { id: activationId, status: String(status) }, signal)
    if (text !== SET_STATUS_OK[status]) throw this.failure('setStatus', text)
  }

  /** Error word of an answer that is not the expected one (`BANNED:'date'` → BANNED). */
  private failure(action: string, text: string): SmsProviderError {
    const word = /^[A-Z][A-Z_]*$/.exec(text.split(':')[0] ?? '')?.[0]
    if (word !== undefined && word !== 'ACCESS_NUMBER' && !word.startsWith('STATUS_')) {
      return new SmsProviderError(word, action)
    }
    return new SmsProviderError('UNEXPECTED_RESPONSE', action, `${text.length} chars`)
  }

  private async call(action: string, params: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const url = new URL(this.url)
    url.searchParams.set('api_key', this.apiKey)
    url.searchParams.set('action', action)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    const timeout = AbortSignal.timeout(this.requestTimeoutMs)
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    let res: Response
    try {
      res = await fetch(url, { signal: combined, headers: { accept: 'text/plain' } })
    } catch (err) {
      if (signal?.aborted === true) throw abortError(signal)
      if (timeout.aborted) throw new SmsProviderError('REQUEST_TIMEOUT', action, `${this.requestTimeoutMs} ms`)
      // undici's error (and its cause) may quote the URL, which holds the api_key: keep only its code.
      const code = (err as { cause?: { code?: unknown } }).cause?.code
      throw new SmsProviderError('NETWORK_ERROR', action, typeof code === 'string' ? code : undefined)
    }
    const text = (await res.text().catch(() => '')).trim()
    if (!res.ok) throw new SmsProviderError('HTTP_ERROR', action, `HTTP ${res.status}`)
    return text.replaceAll(this.apiKey, '***') // a vendor echoing the key must not leak it further
  }
}

// ---- bridge ------------------------------------------------------------------------------------------------------

/** The code types a handler_api vendor can receive (an SMS to the rented number). */
export const SMS_CODE_TYPES: readonly KnownCodeType[] = ['sms', 'smsWord', 'smsPhrase']

export interface HandlerApiBridgeOptions {
  readonly provider: HandlerApiProvider
  readonly channel: CodeProviderClient
  /** Activation id for a phone; default `provider.rentals`. Plug a shared store here for several processes. */
  readonly activationFor?: (phone: string) => string | undefined | Promise<string | undefined>
  /** Stream id to start from; default: requests of the last 15 minutes (the ones a restart may have missed). */
  readonly since?: string
  readonly pollIntervalMs?: number
  readonly codeTypes?: readonly KnownCodeType[]
  /** Cancel (refund) an activation whose first SMS never came. Default true. */
  readonly cancelOnTimeout?: boolean
  readonly signal?: AbortSignal
  readonly logger?: Logger
  /** XREAD BLOCK of the request reader. Default 5000. */
  readonly blockMs?: number
}

export interface HandlerApiBridge {
  /** Stop reading and polling; resolves when everything has wound down. */
  stop(): Promise<void>
  /** Settles when the bridge stops (rejects if the request reader failed). */
  readonly done: Promise<void>
}

interface Activation {
  readonly activationId: string
  /** Attempts already handled (a request can be seen twice: stream catch-up, duplicates). */
  readonly attempts: Set<string>
  /** The code delivered last: a later STATUS_OK with it is not the new SMS. */
  lastCode: string | undefined
  readySent: boolean
  poll: { controller: AbortController; done: Promise<void> } | null
}

/**
 * Answers code requests for numbers rented from a handler_api vendor: marks the activation ready (or asks for
 * another SMS on a new attempt), polls the code and delivers it for that attempt. Requests come from the
 * stream, so the ones made while the bridge was down are caught up.
 */
export function runHandlerApiBridge(options: HandlerApiBridgeOptions): HandlerApiBridge {
  const { provider, channel, logger } = options
  const activationFor = options.activationFor ?? ((phone: string) => provider.rentals.get(phone))
  const codeTypes = new Set(options.codeTypes ?? SMS_CODE_TYPES)
  const cancelOnTimeout = options.cancelOnTimeout ?? true
  const stopper = new AbortController()
  const signal = options.signal === undefined ? stopper.signal : AbortSignal.any([options.signal, stopper.signal])
  const activations = new Map<string, Activation>()
  const since = options.since ?? `${Date.now() - 15 * 60_000}-0`

  async function handle(req: CodeRequestMessage): Promise<void> {
    if (!codeTypes.has(req.codeType)) {
      logger?.info({ phone: maskPhone(req.phone), codeType: req.codeType }, 'code type not deliverable by SMS; skipped')
      return
    }
    const activationId = await activationFor(req.phone)
    if (activationId === undefined) return // not one of our numbers
    if ((await channel.currentAttempt(req.phone)) !== req.attempt) return // superseded or expired (catch-up)
    let act = activations.get(req.phone)
    if (act === undefined || act.activationId !== activationId) {
      act = { activationId, attempts: new Set(), lastCode: undefined, readySent: false, poll: null }
      activations.set(req.phone, act)
    }
    if (act.attempts.has(req.attempt)) {
      // Asked again after the farm's Redis failed over: the code delivered for this attempt may have been lost
      // with the old primary. Deliver it again (a poll still running for the attempt will deliver anyway).
      if (req.reissued === true && act.poll === null && act.lastCode !== undefined) {
        const { status } = await channel.deliverCode({ phone: req.phone, code: act.lastCode, attempt: req.attempt })
        logger?.info({ phone: maskPhone(req.phone), attempt: req.attempt, status }, 'SMS code delivered again')
      }
      return
    }
    act.attempts.add(req.attempt)
    if (act.poll !== null) {
      act.poll.controller.abort() // a new attempt supersedes the previous poll
      await act.poll.done
    }
    const controller = new AbortController()
    const pollSignal = AbortSignal.any([signal, controller.signal])
    const current = act
    const done = pollFor(req, current, pollSignal).finally(() => {
      if (current.poll?.controller === controller) current.poll = null
    })
    act.poll = { controller, done }
  }

  async function pollFor(req: CodeRequestMessage, act: Activation, pollSignal: AbortSignal): Promise<void> {
    const log = logger?.child({ phone: maskPhone(req.phone), attempt: req.attempt, activationId: act.activationId })
    try {
      if (!act.readySent) {
        await provider.markReady(act.activationId, pollSignal)
        act.readySent = true
      } else if (act.lastCode !== undefined) {
        await provider.requestAnotherSms(act.activationId, pollSignal)
      }
      const code = await provider.pollCode(act.activationId, {
        signal: pollSignal,
        timeoutMs: req.timeoutSec * 1000,
        ...(options.pollIntervalMs !== undefined ? { intervalMs: options.pollIntervalMs } : {}),
        ...(act.lastCode !== undefined ? { ignoreCode: act.lastCode } : {}),
      })
      act.lastCode = code
      const { status } = await channel.deliverCode({ phone: req.phone, code, attempt: req.attempt })
      log?.info({ status }, 'SMS code delivered to the code channel')
    } catch (err) {
      if (isAbort(err)) return
      if (
        err instanceof SmsProviderError &&
        err.word === 'CODE_TIMEOUT' &&
        cancelOnTimeout &&
        act.lastCode === undefined
      ) {
        log?.warn('no SMS arrived; cancelling the activation for a refund')
        await provider.cancel(act.activationId).catch((e: unknown) => log?.warn({ err: e }, 'cancel failed'))
        activations.delete(req.phone)
        return
      }
      log?.warn({ err }, 'SMS code poll failed')
    }
  }

  const done = (async () => {
    try {
      for await (const req of channel.readRequests({
        since,
        signal,
        ...(options.blockMs !== undefined ? { blockMs: options.blockMs } : {}),
      })) {
        await handle(req).catch((err: unknown) => logger?.warn({ err }, 'code request handling failed'))
      }
    } finally {
      await Promise.all([...activations.values()].map((a) => a.poll?.done))
    }
  })()
  done.catch(() => {}) // surfaced through `done` itself; never an unhandled rejection

  return {
    done,
    async stop() {
      stopper.abort()
      await done.catch(() => {})
    },
  }
}
