// The waiting side of the code channel, one per process: a worker that needs a login code (or a 2FA password)
// asks for it here. Pub/sub alone loses a message published while nobody listens, so values live in keys and
// pub/sub only says "look again": the waiter is subscribed before it first looks (GETDEL, so a code is consumed
// exactly once), looks again on every notification, after every reconnect of the subscriber, and on a slow poll
// that covers a notification lost anyway.
import { duplicateRedis, type RedisClient } from '../redis-connection.ts'
import type { Logger } from 'pino'
import type { KnownCodeType } from '../../auth/credential-provider.ts'
import { maskPhone } from '../../foundation/logger.ts'
import { Keyring, type Sealer } from '../../foundation/sealed-value.ts'
import { CodeChannelNames } from '../redis-keys.ts'
import { RedisScript } from '../redis-script.ts'
import { CodeChannelError, CodeTimeoutError, abortError, aborted } from './channel-errors.ts'
import { channelPhone, checkAttempt, positiveInt } from './channel-input.ts'
import { codeBinding, type CodeChannelOptions } from './code-provider-client.ts'
import {
  CODE_TYPES,
  CONTRACT_VERSION,
  type CodeDeliveredMessage,
  type CodeRequestMessage,
  type NextCodeType,
  type PasswordRequestMessage,
} from './contract.ts'

// Store a request and adopt a code that was delivered before anyone asked, in one step so a code arriving in
// between can neither be lost nor parked as pending after the request exists. A code already under this attempt's
// key answered an earlier request with the same attempt id (an earlier login of the phone: ids restart at 1 each
// login, and a late code outlives the login that gave up on it): it is stale, and dropped — except when the same
// attempt is asked for again after a failover (ARGV[2] = '1'): a code found there is this attempt's own. Then the
// request goes to the stream and the channel, and an adopted code is announced: in the script too, so the request
// costs one command (and one socket write on an auto-pipelined connection), not a MULTI of its own after it.
// KEYS: request hash, pending code key, this attempt's code key, requests stream. ARGV: ttl sec, reissue flag,
// requests channel, request JSON, delivered channel, delivered note JSON, field/value pairs.
const REQUEST_LUA = new RedisScript(`
if ARGV[2] ~= '1' then redis.call('DEL', KEYS[3]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
local adopted = 0
local pending = redis.call('GET', KEYS[2])
if pending then
  local ttl = redis.call('PTTL', KEYS[2])
  redis.call('DEL', KEYS[2])
  if ttl > 0 then redis.call('SET', KEYS[3], pending, 'PX', ttl, 'NX') end
  adopted = 1
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 10000, '*', 'payload', ARGV[4])
redis.call('PUBLISH', ARGV[3], ARGV[4])
if adopted == 1 then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return adopted
`)

export interface CodeInboxOptions extends CodeChannelOptions {
  /** Safety-net re-check of every waiter, for a notification lost anyway. Default 2000 ms. */
  readonly pollIntervalMs?: number
  /** After the waiter gives up, a late code is still routed to its (then stale) attempt for this long. Default 300 s. */
  readonly lateCodeGraceSec?: number
  /** CLIENT SETNAME of the subscriber connection (handy in CLIENT LIST). */
  readonly subscriberName?: string
}

export interface RequestCodeInput {
  readonly phone: string
  /** One id per auth.sendCode / auth.resendCode: codes for an earlier attempt are not used for this one. */
  readonly attempt: string
  readonly codeType: KnownCodeType
  readonly codeLength?: number
  readonly jobId: string
  readonly nextType?: NextCodeType
  /** How long the worker will wait for this code. Default 600. */
  readonly timeoutSec?: number
  /** Telegram's `sentCode.timeout` (the resend delay), when it gave one. Not how long the worker waits. */
  readonly resendAfterSec?: number
  /** The earlier attempt whose code Telegram refused, when this request asks again for the same code. */
  readonly refusedAttempt?: string
  /** This attempt asked for again because the farm's Redis failed over since (its request or code may be lost). */
  readonly reissued?: boolean
}

export interface WaitForCodeInput {
  readonly phone: string
  readonly attempt: string
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

export interface WaitForPasswordInput {
  readonly phone: string
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

interface Waiter {
  readonly what: 'code' | 'password'
  readonly phone: string
  readonly attempt: string | null
  readonly key: string
  /** Where a value read after the waiter settled is put back, and for how long. */
  readonly restoreTtlSec: number
  checking: boolean
  recheck: boolean
  settled: boolean
  resolve(value: string): void
  reject(err: Error): void
}

/**
 * The waiting side, one per process: a single subscriber connection serves every waiter (thousands of waits
 * must not open thousands of connections); waiters are found by phone in a Map.
 */
export class CodeInbox {
  readonly names: CodeChannelNames
  private readonly redis: RedisClient
  private readonly logger: Logger | undefined
  private readonly pollIntervalMs: number
  private readonly lateCodeGraceSec: number
  private readonly subscriberName: string | undefined
  private readonly sealer: Sealer
  private readonly waiters = new Map<string, Set<Waiter>>()
  private subscriber: RedisClient | null = null
  private subscribed: Promise<void> | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private closed = false

  constructor(options: CodeInboxOptions) {
    this.redis = options.redis
    this.names = new CodeChannelNames(options.prefix)
    this.logger = options.logger
    this.pollIntervalMs = positiveInt(options.pollIntervalMs ?? 2000, 'pollIntervalMs')
    this.lateCodeGraceSec = positiveInt(options.lateCodeGraceSec ?? 300, 'lateCodeGraceSec')
    this.subscriberName = options.subscriberName
    this.sealer = options.sealer ?? Keyring.clear()
  }

  /** A code or password as delivered (opened when sealed); SealedValueError when it does not open here. */
  private opened(what: 'code' | 'password', phone: string, stored: string | null): string | null {
    if (stored === null) return null
    return this.sealer.openText(stored, what === 'code' ? codeBinding(this.names, phone) : this.names.password(phone))
  }

  /** Number of waits in progress. */
  get waiting(): number {
    let n = 0
    for (const set of this.waiters.values()) n += set.size
    return n
  }

  /**
   * Announce that a code is needed: the request hash (current attempt) is stored, a code delivered earlier
   * without a request is adopted by this attempt, then the request is appended to the stream and published.
   */
  async requestCode(input: RequestCodeInput): Promise<CodeRequestMessage> {
    this.assertOpen()
    const phone = channelPhone(input.phone)
    const attempt = checkAttempt(input.attempt)
    if (!CODE_TYPES.has(input.codeType)) throw new RangeError('codeType is not a known auth.SentCodeType')
    const timeoutSec = positiveInt(input.timeoutSec ?? 600, 'timeoutSec')
    const message: CodeRequestMessage = {
      v: CONTRACT_VERSION,
      phone,
      attempt,
      codeType: input.codeType,
      ...(input.codeLength !== undefined ? { codeLength: positiveInt(input.codeLength, 'codeLength') } : {}),
      ...(input.nextType !== undefined ? { nextType: input.nextType } : {}),
      jobId: input.jobId,
      timeoutSec,
      ...(input.resendAfterSec !== undefined
        ? { resendAfterSec: positiveInt(input.resendAfterSec, 'resendAfterSec') }
        : {}),
      ...(input.refusedAttempt !== undefined ? { refusedAttempt: checkAttempt(input.refusedAttempt) } : {}),
      ...(input.reissued === true ? { reissued: true as const } : {}),
      requestedAt: Date.now(),
    }
    const fields = Object.entries(message).flatMap(([k, v]) => [k, String(v)])
    // A waiter already parked on this attempt (another process) learns of an adopted code at once, not at its poll.
    const note: CodeDeliveredMessage = { v: CONTRACT_VERSION, phone, attempt }
    await REQUEST_LUA.run(
      this.redis,
      [
        this.names.request(phone),
        this.names.pendingCode(phone),
        this.names.code(phone, attempt),
        this.names.requestsStream,
      ],
      [
        timeoutSec + this.lateCodeGraceSec,
        input.reissued === true ? '1' : '0',
        this.names.requestsChannel,
        JSON.stringify(message),
        this.names.deliveredChannel,
        JSON.stringify(note),
        ...fields,
      ],
    )
    this.logger?.debug(
      { phone: maskPhone(phone), attempt, codeType: input.codeType, jobId: input.jobId },
      'login code requested',
    )
    return message
  }

  /**
   * Announce that a 2FA password is needed (just the phone and job, no hint). Resolves to how many subscribers
   * received it (PUBLISH's count; on a Redis Cluster, those of the node it went through): 0 means nobody heard it.
   */
  async requestPassword(input: { phone: string; jobId: string; timeoutSec?: number }): Promise<number> {
    this.assertOpen()
    const phone = channelPhone(input.phone)
    const message: PasswordRequestMessage = {
      v: CONTRACT_VERSION,
      phone,
      jobId: input.jobId,
      timeoutSec: positiveInt(input.timeoutSec ?? 600, 'timeoutSec'),
      requestedAt: Date.now(),
    }
    return this.redis.publish(this.names.passwordRequestsChannel, JSON.stringify(message))
  }

  /** The code for this attempt, consumed (no one else gets it). CodeTimeoutError / AbortError otherwise. */
  async waitForCode(input: WaitForCodeInput): Promise<string> {
    const phone = channelPhone(input.phone)
    const attempt = checkAttempt(input.attempt)
    return this.wait('code', phone, attempt, this.names.code(phone, attempt), input.timeoutMs, input.signal)
  }

  /** The code for this attempt if it is there now, consumed; null otherwise (one look, no wait). */
  async takeCode(input: { phone: string; attempt: string }): Promise<string | null> {
    this.assertOpen()
    const phone = channelPhone(input.phone)
    return this.opened('code', phone, await this.redis.getdel(this.names.code(phone, checkAttempt(input.attempt))))
  }

  /** The 2FA password for this phone if it is there now, consumed; null otherwise (one look, no wait). */
  async takePassword(input: { phone: string }): Promise<string | null> {
    this.assertOpen()
    const phone = channelPhone(input.phone)
    return this.opened('password', phone, await this.redis.getdel(this.names.password(phone)))
  }

  /** The 2FA password for this phone, consumed. CodeTimeoutError / AbortError otherwise. */
  async waitForPassword(input: WaitForPasswordInput): Promise<string> {
    const phone = channelPhone(input.phone)
    return this.wait('password', phone, null, this.names.password(phone), input.timeoutMs, input.signal)
  }

  /** Rejects pending waits, closes the subscriber. The command connection stays the caller's. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const set of this.waiters.values()) {
      for (const w of set) this.settle(w, new CodeChannelError('closed', 'the code inbox was closed'))
    }
    this.waiters.clear()
    this.stopPolling()
    const sub = this.subscriber
    this.subscriber = null
    if (sub !== null) {
      sub.removeAllListeners()
      sub.on('error', () => {}) // a late socket error must not become an unhandled 'error' event
      await sub.quit().catch(() => sub.disconnect())
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CodeChannelError('closed', 'the code inbox was closed')
  }

  private async wait(
    what: 'code' | 'password',
    phone: string,
    attempt: string | null,
    key: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    this.assertOpen()
    if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be positive')
    if (signal !== undefined && aborted(signal)) throw abortError(signal)
    await this.ensureSubscribed() // subscribed before the first look: nothing can slip between the two
    this.assertOpen()
    if (signal !== undefined && aborted(signal)) throw abortError(signal)

    return new Promise<string>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const onAbort = (): void => this.settle(waiter, abortError(signal as AbortSignal))
      const cleanup = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const set = this.waiters.get(phone)
        set?.delete(waiter)
        if (set?.size === 0) this.waiters.delete(phone)
        if (this.waiters.size === 0) this.stopPolling()
      }
      const waiter: Waiter = {
        what,
        phone,
        attempt,
        key,
        restoreTtlSec: what === 'code' ? 600 : 120,
        checking: false,
        recheck: false,
        settled: false,
        resolve: (v) => {
          cleanup()
          resolve(v)
        },
        reject: (e) => {
          cleanup()
          reject(e)
        },
      }
      timer = setTimeout(() => this.settle(waiter, new CodeTimeoutError(what, phone, attempt, timeoutMs)), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      let set = this.waiters.get(phone)
      if (set === undefined) this.waiters.set(phone, (set = new Set()))
      set.add(waiter)
      this.startPolling()
      this.check(waiter)
    })
  }

  private settle(waiter: Waiter, outcome: Error | { value: string }): void {
    if (waiter.settled) return
    waiter.settled = true
    if (outcome instanceof Error) waiter.reject(outcome)
    else waiter.resolve(outcome.value)
  }

  /** GETDEL the waiter's key; a trigger arriving while a look is in flight queues exactly one more look. */
  private check(waiter: Waiter): void {
    if (waiter.settled) return
    if (waiter.checking) {
      waiter.recheck = true
      return
    }
    waiter.checking = true
    waiter.recheck = false
    this.redis.getdel(waiter.key).then(
      (value) => {
        waiter.checking = false
        if (value !== null) {
          if (waiter.settled) {
            // Timed out or aborted while the GETDEL was in flight: put the value back so it is not lost.
            this.redis.set(waiter.key, value, 'EX', waiter.restoreTtlSec, 'NX').catch(() => {})
            return
          }
          try {
            this.settle(waiter, { value: this.opened(waiter.what, waiter.phone, value)! })
          } catch (err) {
            this.settle(waiter, err as Error)
          }
          return
        }
        if (waiter.recheck) this.check(waiter)
      },
      (err: unknown) => {
        // A failed look (Redis down) is retried by the next notification, reconnect or poll.
        waiter.checking = false
        this.logger?.debug({ err, what: waiter.what }, 'code store look failed; will retry')
        if (waiter.recheck) this.check(waiter)
      },
    )
  }

  private checkPhone(phone: string, what: 'code' | 'password'): void {
    const set = this.waiters.get(phone)
    if (set === undefined) return
    for (const w of set) if (w.what === what) this.check(w)
  }

  private checkAll(): void {
    for (const set of this.waiters.values()) for (const w of set) this.check(w)
  }

  private startPolling(): void {
    if (this.pollTimer !== null) return
    this.pollTimer = setInterval(() => this.checkAll(), this.pollIntervalMs)
    this.pollTimer.unref() // each waiter's own timeout keeps the process alive, not the poll
  }

  private stopPolling(): void {
    if (this.pollTimer === null) return
    clearInterval(this.pollTimer)
    this.pollTimer = null
  }

  private ensureSubscribed(): Promise<void> {
    if (this.subscribed !== null) return this.subscribed
    const channels = [this.names.deliveredChannel, this.names.passwordDeliveredChannel]
    const sub = duplicateRedis(this.redis, {
      // We resubscribe ourselves on 'ready' so that the re-check runs only once the subscription is confirmed
      // (ioredis emits 'ready' before its own resubscription is acknowledged).
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      ...(this.subscriberName !== undefined ? { connectionName: this.subscriberName } : {}),
    })
    this.subscriber = sub
    sub.on('error', (err: Error) => this.logger?.warn({ err }, 'code inbox subscriber error'))
    sub.on('message', (channel: string, json: string) => this.onMessage(channel, json))
    const first = sub.subscribe(...channels).then(() => {
      sub.on('ready', () => {
        sub.subscribe(...channels).then(
          () => {
            this.logger?.info({ waiting: this.waiting }, 'code inbox subscriber reconnected; re-checking every waiter')
            this.checkAll()
          },
          (err: unknown) => this.logger?.warn({ err }, 'code inbox resubscribe failed; polling covers it'),
        )
      })
    })
    this.subscribed = first.catch((err: unknown) => {
      this.subscribed = null // let the next wait try again
      throw err
    })
    return this.subscribed
  }

  private onMessage(channel: string, json: string): void {
    let phone: unknown
    try {
      phone = (JSON.parse(json) as { phone?: unknown }).phone
    } catch {
      return
    }
    if (typeof phone !== 'string') return
    if (channel === this.names.deliveredChannel) this.checkPhone(phone, 'code')
    else if (channel === this.names.passwordDeliveredChannel) this.checkPhone(phone, 'password')
  }
}
