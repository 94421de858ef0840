// The delivering side of the code channel (operators' CLI, SMS bridges, external providers): codes and passwords
// are stored first (SET … NX) and then announced without the value; requests are read from the stream.
import { duplicateRedis, type RedisClient } from '../redis-connection.ts'
import type { Logger } from 'pino'
import { maskPhone } from '../../foundation/logger.ts'
import { Keyring, type Sealer } from '../../foundation/sealed-value.ts'
import { CodeChannelNames } from '../redis-keys.ts'
import { RedisScript } from '../redis-script.ts'
import { CodeChannelError, aborted } from './channel-errors.ts'
import { channelPhone, checkAttempt, checkSecret, codeShapeOf, positiveInt } from './channel-input.ts'
import {
  CODE_TYPES,
  CONTRACT_VERSION,
  type CodeDeliveredMessage,
  type CodeRequestMessage,
  type PasswordDeliveredMessage,
} from './contract.ts'

// Route a code to its attempt: the given one (refused as stale when another attempt is current), else the
// current one, else the pending key. Builds the attempt key from ARGV[1] because the current attempt is only
// known inside the script (fine on one Redis; a Cluster would need hash tags).
// A code that is not digits is taken only when the phone's current request is for a word or phrase code (so it
// is never parked: no request, no type to check it against).
// KEYS: request hash, pending key. ARGV: code key prefix, attempt or '', code, code ttl sec, pending ttl sec, shape.
const DELIVER_LUA = new RedisScript(`
if ARGV[6] == 'words' then
  local codeType = redis.call('HGET', KEYS[1], 'codeType')
  if codeType ~= 'smsWord' and codeType ~= 'smsPhrase' then return {'not-digits', ''} end
end
local current = redis.call('HGET', KEYS[1], 'attempt')
local attempt = ARGV[2]
local key = ARGV[1] .. attempt
local ttl = ARGV[4]
if attempt == '' then
  if current then attempt = current; key = ARGV[1] .. current else key = KEYS[2]; ttl = ARGV[5] end
elseif current and current ~= attempt then
  return {'stale', attempt}
end
if redis.call('SET', key, ARGV[3], 'EX', tonumber(ttl), 'NX') then
  if attempt == '' then return {'pending', ''} end
  return {'stored', attempt}
end
return {'duplicate', attempt}
`)

export type DeliverCodeStatus =
  /** Stored for the attempt and announced. */
  | 'stored'
  /** No request for this phone yet: parked until the next request adopts it. */
  | 'pending'
  /** The attempt already has an unconsumed code; the first one stays. */
  | 'duplicate'
  /** The given attempt is not the phone's current one: dropped. */
  | 'stale'

export interface DeliverCodeResult {
  readonly status: DeliverCodeStatus
  readonly attempt: string | null
}

export interface CodeChannelOptions {
  /** A command connection owned by the caller (never put in subscriber mode by us). */
  readonly redis: RedisClient
  /** Default `{gramfarm}:`. */
  readonly prefix?: string
  readonly logger?: Logger
  /**
   * Seals codes and passwords under the master key. Without one they are stored in clear, as the contract's
   * clear form (which a keyed farm still reads, unless it requires encryption).
   */
  readonly sealer?: Sealer
}

/**
 * What a code is bound to (associated data): its phone's channel, not one key — a code parked before any request
 * moves (inside Redis) from `code:pending:<phone>` to the attempt's key, and must still open there.
 */
export function codeBinding(names: CodeChannelNames, phone: string): string {
  return names.codePrefix(phone)
}

export interface CodeProviderClientOptions extends CodeChannelOptions {
  /** How long a delivered code waits to be consumed. Default 600 s. */
  readonly codeTtlSec?: number
  /** How long a code delivered before any request waits to be adopted. Default 300 s. */
  readonly pendingTtlSec?: number
  /** How long a delivered 2FA password waits to be consumed. Default 120 s. */
  readonly passwordTtlSec?: number
}

export interface ReadRequestsOptions {
  /** Stream id to read after: `$` (default) for new requests only, `0` for everything kept. */
  readonly since?: string
  readonly signal?: AbortSignal
  /** XREAD BLOCK time; also how quickly an abort is noticed if the connection cannot be closed. Default 5000. */
  readonly blockMs?: number
}

function parseRequest(json: string): CodeRequestMessage | null {
  try {
    const v = JSON.parse(json) as Partial<CodeRequestMessage>
    if (typeof v.phone !== 'string' || typeof v.attempt !== 'string' || typeof v.jobId !== 'string') return null
    if (typeof v.codeType !== 'string' || !CODE_TYPES.has(v.codeType)) return null
    if (typeof v.timeoutSec !== 'number' || typeof v.requestedAt !== 'number') return null
    if (v.resendAfterSec !== undefined && typeof v.resendAfterSec !== 'number') return null
    if (v.refusedAttempt !== undefined && typeof v.refusedAttempt !== 'string') return null
    if (v.reissued !== undefined && v.reissued !== true) return null
    return v as CodeRequestMessage
  } catch {
    return null
  }
}

/** The side that delivers codes and passwords (operators' CLI, SMS bridges, external providers). */
export class CodeProviderClient {
  readonly names: CodeChannelNames
  private readonly redis: RedisClient
  private readonly logger: Logger | undefined
  private readonly codeTtlSec: number
  private readonly pendingTtlSec: number
  private readonly passwordTtlSec: number
  private readonly sealer: Sealer

  constructor(options: CodeProviderClientOptions) {
    this.redis = options.redis
    this.sealer = options.sealer ?? Keyring.clear()
    this.names = new CodeChannelNames(options.prefix)
    this.logger = options.logger
    this.codeTtlSec = positiveInt(options.codeTtlSec ?? 600, 'codeTtlSec')
    this.pendingTtlSec = positiveInt(options.pendingTtlSec ?? 300, 'pendingTtlSec')
    this.passwordTtlSec = positiveInt(options.passwordTtlSec ?? 120, 'passwordTtlSec')
  }

  /** Store a code for the phone's attempt (default: its current one), then announce it (without the code). */
  async deliverCode(input: { phone: string; code: string; attempt?: string }): Promise<DeliverCodeResult> {
    const phone = channelPhone(input.phone)
    const code = checkSecret(input.code, 'code')
    const shape = codeShapeOf(code)
    const attempt = input.attempt === undefined ? '' : checkAttempt(input.attempt)
    const reply = (await DELIVER_LUA.run(
      this.redis,
      [this.names.request(phone), this.names.pendingCode(phone)],
      [
        this.names.codePrefix(phone),
        attempt,
        this.sealer.seal(code, codeBinding(this.names, phone)),
        this.codeTtlSec,
        this.pendingTtlSec,
        shape,
      ],
    )) as [DeliverCodeStatus | 'not-digits', string]
    const [status] = reply
    if (status === 'not-digits') {
      throw new CodeChannelError(
        'invalid-code',
        `code must be ASCII digits 0-9: ${maskPhone(phone)} has no request for an smsWord/smsPhrase code`,
      )
    }
    const routed = reply[1] === '' ? null : reply[1]
    if (status === 'stored' || status === 'pending') {
      const note: CodeDeliveredMessage = { v: CONTRACT_VERSION, phone, attempt: routed }
      await this.redis.publish(this.names.deliveredChannel, JSON.stringify(note))
    }
    this.logger?.debug({ phone: maskPhone(phone), attempt: routed, status }, 'login code delivered to the channel')
    return { status, attempt: routed }
  }

  /** Store a 2FA password (a later delivery replaces an unconsumed one), then announce just the phone. */
  async deliverPassword(input: { phone: string; password: string }): Promise<void> {
    const phone = channelPhone(input.phone)
    const password = checkSecret(input.password, 'password')
    await this.redis.set(
      this.names.password(phone),
      this.sealer.seal(password, this.names.password(phone)),
      'EX',
      this.passwordTtlSec,
    )
    const note: PasswordDeliveredMessage = { v: CONTRACT_VERSION, phone }
    await this.redis.publish(this.names.passwordDeliveredChannel, JSON.stringify(note))
    this.logger?.debug({ phone: maskPhone(phone) }, '2FA password delivered to the channel')
  }

  /** The phone's current attempt id, or null when no request is alive. */
  async currentAttempt(phone: string): Promise<string | null> {
    return this.redis.hget(this.names.request(channelPhone(phone)), 'attempt')
  }

  /**
   * Code requests from the stream, oldest first, surviving reconnects (unlike pub/sub). Runs on its own
   * connection (XREAD BLOCK would stall every other command); ends when the signal aborts.
   */
  async *readRequests(options: ReadRequestsOptions = {}): AsyncGenerator<CodeRequestMessage & { readonly id: string }> {
    const { signal } = options
    const blockMs = options.blockMs ?? 5000
    const key = this.names.requestsStream
    const conn = duplicateRedis(this.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true })
    const onAbort = (): void => conn.disconnect()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      let last = options.since ?? '$'
      if (last === '$') {
        // Pin '$' to a concrete id: re-reading with '$' would skip entries added between two XREADs.
        const newest = await conn.xrevrange(key, '+', '-', 'COUNT', 1)
        last = newest[0]?.[0] ?? '0-0'
      }
      while (!aborted(signal)) {
        let batch: [string, [string, string[]][]][] | null
        try {
          batch = (await conn.xread('COUNT', 100, 'BLOCK', blockMs, 'STREAMS', key, last)) as
            [string, [string, string[]][]][] | null
        } catch (err) {
          if (aborted(signal)) return
          throw err
        }
        for (const [, entries] of batch ?? []) {
          for (const [id, fields] of entries) {
            last = id
            const at = fields.indexOf('payload')
            const request = at >= 0 ? parseRequest(fields[at + 1] ?? '') : null
            if (request === null) {
              this.logger?.warn({ streamId: id }, 'ignoring a malformed code request in the stream')
              continue
            }
            yield { ...request, id }
          }
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      conn.disconnect()
    }
  }
}

/** One-shot delivery for CLIs: `gramfarm code <phone> <code>`. */
export async function publishCode(
  redis: RedisClient,
  input: { phone: string; code: string; attempt?: string },
  options: Omit<CodeProviderClientOptions, 'redis'> = {},
): Promise<DeliverCodeResult> {
  return new CodeProviderClient({ ...options, redis }).deliverCode(input)
}

/** One-shot delivery for CLIs: `gramfarm password <phone>`. */
export async function publishPassword(
  redis: RedisClient,
  input: { phone: string; password: string },
  options: Omit<CodeProviderClientOptions, 'redis'> = {},
): Promise<void> {
  return new CodeProviderClient({ ...options, redis }).deliverPassword(input)
}
