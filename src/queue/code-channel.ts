// The code-provider channel: a worker that needs a login code (or a 2FA password) asks for it here, and anyone —
// an operator's `gramfarm code`, an SMS-service bridge, an external provider — delivers it through Redis.
//
// Pub/sub alone loses a message published while nobody listens, so values live in keys and pub/sub only says
// "look again": the deliverer stores first (SET … NX) then notifies; the waiter is subscribed before it first
// looks (GETDEL, so a code is consumed exactly once), looks again on every notification, after every reconnect
// of the subscriber, and on a slow poll that covers a notification lost anyway. The wire contract (names, JSON,
// TTLs) is written down in docs/provider-contract.md; keep the two in step.
//
// Keys are per phone and not hash-tagged: this targets one Redis (or a primary with replicas), not a Cluster.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { maskPhone } from '../foundation/logger.ts';

export const DEFAULT_PREFIX = 'gramfarm:';
/** Bumped on an incompatible change of a payload. */
export const CONTRACT_VERSION = 1;

/** auth.SentCodeType, by its TL name without the `auth.sentCodeType` prefix, first letter lowered. */
export type CodeType =
  | 'app'
  | 'sms'
  | 'smsWord'
  | 'smsPhrase'
  | 'call'
  | 'flashCall'
  | 'missedCall'
  | 'fragmentSms'
  | 'firebaseSms'
  | 'emailCode'
  | 'setUpEmailRequired';

const CODE_TYPES: ReadonlySet<string> = new Set<CodeType>([
  'app', 'sms', 'smsWord', 'smsPhrase', 'call', 'flashCall', 'missedCall', 'fragmentSms', 'firebaseSms', 'emailCode',
  'setUpEmailRequired',
]);

/** auth.CodeType (what auth.resendCode would send next). */
export type NextCodeType = 'sms' | 'call' | 'flashCall' | 'missedCall' | 'fragmentSms';

/** Published on `code:requests` and appended to `code:requests:stream` (field `payload`). */
export interface CodeRequestMessage {
  readonly v: number;
  readonly phone: string;
  readonly attempt: string;
  readonly codeType: CodeType;
  readonly codeLength?: number;
  readonly nextType?: NextCodeType;
  readonly jobId: string;
  /** How long the worker waits for this code (what is left of the login's code timeout). */
  readonly timeoutSec: number;
  /** Telegram's `sentCode.timeout`: seconds before auth.resendCode may be asked for (another SMS, a call). */
  readonly resendAfterSec?: number;
  /**
   * Telegram refused the code delivered for this earlier attempt (PHONE_CODE_INVALID). No new code was sent: the
   * SMS (or call) of that attempt stands; deliver the right code, read again, for this attempt.
   */
  readonly refusedAttempt?: string;
  /** Unix milliseconds. */
  readonly requestedAt: number;
}

/** Published on `code:delivered`. Never carries the code. `attempt` is null for a code parked as pending. */
export interface CodeDeliveredMessage {
  readonly v: number;
  readonly phone: string;
  readonly attempt: string | null;
}

/** Published on `password:requests`. */
export interface PasswordRequestMessage {
  readonly v: number;
  readonly phone: string;
  readonly jobId: string;
  readonly timeoutSec: number;
  readonly requestedAt: number;
}

/** Published on `password:delivered`. Only the phone: the password travels in a key, never over pub/sub. */
export interface PasswordDeliveredMessage {
  readonly v: number;
  readonly phone: string;
}

export type CodeChannelErrorReason = 'invalid-phone' | 'invalid-attempt' | 'invalid-code' | 'invalid-password' | 'closed';

/** Bad input to the channel. The message names the field, never its value when that value is a secret. */
export class CodeChannelError extends Error {
  override readonly name = 'CodeChannelError';
  constructor(
    readonly reason: CodeChannelErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** No code (or password) arrived in time. */
export class CodeTimeoutError extends Error {
  override readonly name = 'CodeTimeoutError';
  constructor(
    readonly what: 'code' | 'password',
    readonly phone: string,
    readonly attempt: string | null,
    readonly timeoutMs: number,
  ) {
    super(`no login ${what} for ${maskPhone(phone)} within ${timeoutMs} ms`);
  }
}

/** A function, not an inline check, so TypeScript does not narrow `aborted` across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function abortError(signal: AbortSignal): DOMException {
  const err = new DOMException('waiting for a login code was aborted', 'AbortError');
  Object.defineProperty(err, 'cause', { value: signal.reason });
  return err;
}

// ---- names ----------------------------------------------------------------------------------------------------

/** Every Redis name the channel uses, under one prefix. */
export class CodeChannelNames {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {}
  get requestsChannel(): string {
    return `${this.prefix}code:requests`;
  }
  get requestsStream(): string {
    return `${this.prefix}code:requests:stream`;
  }
  get deliveredChannel(): string {
    return `${this.prefix}code:delivered`;
  }
  get passwordRequestsChannel(): string {
    return `${this.prefix}password:requests`;
  }
  get passwordDeliveredChannel(): string {
    return `${this.prefix}password:delivered`;
  }
  request(phone: string): string {
    return `${this.prefix}code:req:${phone}`;
  }
  /** Prefix of the per-attempt code keys; the attempt id follows. */
  codePrefix(phone: string): string {
    return `${this.prefix}code:${phone}:`;
  }
  code(phone: string, attempt: string): string {
    return `${this.codePrefix(phone)}${attempt}`;
  }
  pendingCode(phone: string): string {
    return `${this.prefix}code:pending:${phone}`;
  }
  password(phone: string): string {
    return `${this.prefix}password:${phone}`;
  }
}

// ---- validation -------------------------------------------------------------------------------------------------

/** Channel phones are E.164 digits; a leading `+`, spaces, dashes and parentheses are tolerated and dropped. */
export function channelPhone(phone: string): string {
  const digits = phone.trim().replace(/^\+/, '').replace(/[\s().-]/g, '');
  if (!/^\d{7,15}$/.test(digits)) throw new CodeChannelError('invalid-phone', 'phone must be 7-15 digits (E.164)');
  return digits;
}

const ATTEMPT_SHAPE = /^[A-Za-z0-9_.-]{1,64}$/;

function checkAttempt(attempt: string): string {
  if (!ATTEMPT_SHAPE.test(attempt)) {
    throw new CodeChannelError('invalid-attempt', 'attempt must be 1-64 chars of [A-Za-z0-9_.-]');
  }
  return attempt;
}

const MAX_SECRET_LENGTH = 256;

function checkSecret(value: string, what: 'code' | 'password'): string {
  const v = what === 'code' ? value.trim() : value;
  if (v.length === 0 || v.length > MAX_SECRET_LENGTH) {
    throw new CodeChannelError(`invalid-${what}`, `${what} must be 1-${MAX_SECRET_LENGTH} characters`);
  }
  return v;
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

// ---- Lua --------------------------------------------------------------------------------------------------------

// Store a request and adopt a code that was delivered before anyone asked, in one step so a code arriving in
// between can neither be lost nor parked as pending after the request exists. A code already under this attempt's
// key answered an earlier request with the same attempt id (an earlier login of the phone: ids restart at 1 each
// login, and a late code outlives the login that gave up on it): it is stale, and dropped.
// KEYS: request hash, pending code key, this attempt's code key. ARGV: ttl sec, then field/value pairs.
const REQUEST_LUA = `
redis.call('DEL', KEYS[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
local pending = redis.call('GET', KEYS[2])
if not pending then return 0 end
local ttl = redis.call('PTTL', KEYS[2])
redis.call('DEL', KEYS[2])
if ttl > 0 then redis.call('SET', KEYS[3], pending, 'PX', ttl, 'NX') end
return 1
`;

// Route a code to its attempt: the given one (refused as stale when another attempt is current), else the
// current one, else the pending key. Builds the attempt key from ARGV[1] because the current attempt is only
// known inside the script (fine on one Redis; a Cluster would need hash tags).
// KEYS: request hash, pending key. ARGV: code key prefix, attempt or '', code, code ttl sec, pending ttl sec.
const DELIVER_LUA = `
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
`;

// ---- delivering side -------------------------------------------------------------------------------------------

export type DeliverCodeStatus =
  /** Stored for the attempt and announced. */
  | 'stored'
  /** No request for this phone yet: parked until the next request adopts it. */
  | 'pending'
  /** The attempt already has an unconsumed code; the first one stays. */
  | 'duplicate'
  /** The given attempt is not the phone's current one: dropped. */
  | 'stale';

export interface DeliverCodeResult {
  readonly status: DeliverCodeStatus;
  readonly attempt: string | null;
}

export interface CodeChannelOptions {
  /** A command connection owned by the caller (never put in subscriber mode by us). */
  readonly redis: Redis;
  /** Default `gramfarm:`. */
  readonly prefix?: string;
  readonly logger?: Logger;
}

export interface CodeProviderClientOptions extends CodeChannelOptions {
  /** How long a delivered code waits to be consumed. Default 600 s. */
  readonly codeTtlSec?: number;
  /** How long a code delivered before any request waits to be adopted. Default 300 s. */
  readonly pendingTtlSec?: number;
  /** How long a delivered 2FA password waits to be consumed. Default 120 s. */
  readonly passwordTtlSec?: number;
}

export interface ReadRequestsOptions {
  /** Stream id to read after: `$` (default) for new requests only, `0` for everything kept. */
  readonly since?: string;
  readonly signal?: AbortSignal;
  /** XREAD BLOCK time; also how quickly an abort is noticed if the connection cannot be closed. Default 5000. */
  readonly blockMs?: number;
}

function parseRequest(json: string): CodeRequestMessage | null {
  try {
    const v = JSON.parse(json) as Partial<CodeRequestMessage>;
    if (typeof v.phone !== 'string' || typeof v.attempt !== 'string' || typeof v.jobId !== 'string') return null;
    if (typeof v.codeType !== 'string' || !CODE_TYPES.has(v.codeType)) return null;
    if (typeof v.timeoutSec !== 'number' || typeof v.requestedAt !== 'number') return null;
    if (v.resendAfterSec !== undefined && typeof v.resendAfterSec !== 'number') return null;
    if (v.refusedAttempt !== undefined && typeof v.refusedAttempt !== 'string') return null;
    return v as CodeRequestMessage;
  } catch {
    return null;
  }
}

/** The side that delivers codes and passwords (operators' CLI, SMS bridges, external providers). */
export class CodeProviderClient {
  readonly names: CodeChannelNames;
  private readonly redis: Redis;
  private readonly logger: Logger | undefined;
  private readonly codeTtlSec: number;
  private readonly pendingTtlSec: number;
  private readonly passwordTtlSec: number;

  constructor(options: CodeProviderClientOptions) {
    this.redis = options.redis;
    this.names = new CodeChannelNames(options.prefix);
    this.logger = options.logger;
    this.codeTtlSec = positiveInt(options.codeTtlSec ?? 600, 'codeTtlSec');
    this.pendingTtlSec = positiveInt(options.pendingTtlSec ?? 300, 'pendingTtlSec');
    this.passwordTtlSec = positiveInt(options.passwordTtlSec ?? 120, 'passwordTtlSec');
  }

  /** Store a code for the phone's attempt (default: its current one), then announce it (without the code). */
  async deliverCode(input: { phone: string; code: string; attempt?: string }): Promise<DeliverCodeResult> {
    const phone = channelPhone(input.phone);
    const code = checkSecret(input.code, 'code');
    const attempt = input.attempt === undefined ? '' : checkAttempt(input.attempt);
    const reply = (await this.redis.eval(
      DELIVER_LUA,
      2,
      this.names.request(phone),
      this.names.pendingCode(phone),
      this.names.codePrefix(phone),
      attempt,
      code,
      this.codeTtlSec,
      this.pendingTtlSec,
    )) as [DeliverCodeStatus, string];
    const [status] = reply;
    const routed = reply[1] === '' ? null : reply[1];
    if (status === 'stored' || status === 'pending') {
      const note: CodeDeliveredMessage = { v: CONTRACT_VERSION, phone, attempt: routed };
      await this.redis.publish(this.names.deliveredChannel, JSON.stringify(note));
    }
    this.logger?.debug({ phone: maskPhone(phone), attempt: routed, status }, 'login code delivered to the channel');
    return { status, attempt: routed };
  }

  /** Store a 2FA password (a later delivery replaces an unconsumed one), then announce just the phone. */
  async deliverPassword(input: { phone: string; password: string }): Promise<void> {
    const phone = channelPhone(input.phone);
    const password = checkSecret(input.password, 'password');
    await this.redis.set(this.names.password(phone), password, 'EX', this.passwordTtlSec);
    const note: PasswordDeliveredMessage = { v: CONTRACT_VERSION, phone };
    await this.redis.publish(this.names.passwordDeliveredChannel, JSON.stringify(note));
    this.logger?.debug({ phone: maskPhone(phone) }, '2FA password delivered to the channel');
  }

  /** The phone's current attempt id, or null when no request is alive. */
  async currentAttempt(phone: string): Promise<string | null> {
    return this.redis.hget(this.names.request(channelPhone(phone)), 'attempt');
  }

  /**
   * Code requests from the stream, oldest first, surviving reconnects (unlike pub/sub). Runs on its own
   * connection (XREAD BLOCK would stall every other command); ends when the signal aborts.
   */
  async *readRequests(options: ReadRequestsOptions = {}): AsyncGenerator<CodeRequestMessage & { readonly id: string }> {
    const { signal } = options;
    const blockMs = options.blockMs ?? 5000;
    const key = this.names.requestsStream;
    const conn = this.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    const onAbort = (): void => conn.disconnect();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let last = options.since ?? '$';
      if (last === '$') {
        // Pin '$' to a concrete id: re-reading with '$' would skip entries added between two XREADs.
        const newest = await conn.xrevrange(key, '+', '-', 'COUNT', 1);
        last = newest[0]?.[0] ?? '0-0';
      }
      while (!aborted(signal)) {
        let batch: [string, [string, string[]][]][] | null;
        try {
          batch = (await conn.xread('COUNT', 100, 'BLOCK', blockMs, 'STREAMS', key, last)) as
            | [string, [string, string[]][]][]
            | null;
        } catch (err) {
          if (aborted(signal)) return;
          throw err;
        }
        for (const [, entries] of batch ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            const at = fields.indexOf('payload');
            const request = at >= 0 ? parseRequest(fields[at + 1] ?? '') : null;
            if (request === null) {
              this.logger?.warn({ streamId: id }, 'ignoring a malformed code request in the stream');
              continue;
            }
            yield { ...request, id };
          }
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      conn.disconnect();
    }
  }
}

/** One-shot delivery for CLIs: `gramfarm code <phone> <code>`. */
export async function publishCode(
  redis: Redis,
  input: { phone: string; code: string; attempt?: string },
  options: Omit<CodeProviderClientOptions, 'redis'> = {},
): Promise<DeliverCodeResult> {
  return new CodeProviderClient({ ...options, redis }).deliverCode(input);
}

/** One-shot delivery for CLIs: `gramfarm password <phone>`. */
export async function publishPassword(
  redis: Redis,
  input: { phone: string; password: string },
  options: Omit<CodeProviderClientOptions, 'redis'> = {},
): Promise<void> {
  return new CodeProviderClient({ ...options, redis }).deliverPassword(input);
}

// ---- waiting side -----------------------------------------------------------------------------------------------

export interface CodeInboxOptions extends CodeChannelOptions {
  /** Safety-net re-check of every waiter, for a notification lost anyway. Default 2000 ms. */
  readonly pollIntervalMs?: number;
  /** After the waiter gives up, a late code is still routed to its (then stale) attempt for this long. Default 300 s. */
  readonly lateCodeGraceSec?: number;
  /** CLIENT SETNAME of the subscriber connection (handy in CLIENT LIST). */
  readonly subscriberName?: string;
}

export interface RequestCodeInput {
  readonly phone: string;
  /** One id per auth.sendCode / auth.resendCode: codes for an earlier attempt are not used for this one. */
  readonly attempt: string;
  readonly codeType: CodeType;
  readonly codeLength?: number;
  readonly jobId: string;
  readonly nextType?: NextCodeType;
  /** How long the worker will wait for this code. Default 600. */
  readonly timeoutSec?: number;
  /** Telegram's `sentCode.timeout` (the resend delay), when it gave one. Not how long the worker waits. */
  readonly resendAfterSec?: number;
  /** The earlier attempt whose code Telegram refused, when this request asks again for the same code. */
  readonly refusedAttempt?: string;
}

export interface WaitForCodeInput {
  readonly phone: string;
  readonly attempt: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface WaitForPasswordInput {
  readonly phone: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

interface Waiter {
  readonly what: 'code' | 'password';
  readonly phone: string;
  readonly attempt: string | null;
  readonly key: string;
  /** Where a value read after the waiter settled is put back, and for how long. */
  readonly restoreTtlSec: number;
  checking: boolean;
  recheck: boolean;
  settled: boolean;
  resolve(value: string): void;
  reject(err: Error): void;
}

/**
 * The waiting side, one per process: a single subscriber connection serves every waiter (thousands of waits
 * must not open thousands of connections); waiters are found by phone in a Map.
 */
export class CodeInbox {
  readonly names: CodeChannelNames;
  private readonly redis: Redis;
  private readonly logger: Logger | undefined;
  private readonly pollIntervalMs: number;
  private readonly lateCodeGraceSec: number;
  private readonly subscriberName: string | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private subscriber: Redis | null = null;
  private subscribed: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: CodeInboxOptions) {
    this.redis = options.redis;
    this.names = new CodeChannelNames(options.prefix);
    this.logger = options.logger;
    this.pollIntervalMs = positiveInt(options.pollIntervalMs ?? 2000, 'pollIntervalMs');
    this.lateCodeGraceSec = positiveInt(options.lateCodeGraceSec ?? 300, 'lateCodeGraceSec');
    this.subscriberName = options.subscriberName;
  }

  /** Number of waits in progress. */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Announce that a code is needed: the request hash (current attempt) is stored, a code delivered earlier
   * without a request is adopted by this attempt, then the request is appended to the stream and published.
   */
  async requestCode(input: RequestCodeInput): Promise<CodeRequestMessage> {
    this.assertOpen();
    const phone = channelPhone(input.phone);
    const attempt = checkAttempt(input.attempt);
    if (!CODE_TYPES.has(input.codeType)) throw new RangeError('codeType is not a known auth.SentCodeType');
    const timeoutSec = positiveInt(input.timeoutSec ?? 600, 'timeoutSec');
    const message: CodeRequestMessage = {
      v: CONTRACT_VERSION,
      phone,
      attempt,
      codeType: input.codeType,
      ...(input.codeLength !== undefined ? { codeLength: positiveInt(input.codeLength, 'codeLength') } : {}),
      ...(input.nextType !== undefined ? { nextType: input.nextType } : {}),
      jobId: input.jobId,
      timeoutSec,
      ...(input.resendAfterSec !== undefined ? { resendAfterSec: positiveInt(input.resendAfterSec, 'resendAfterSec') } : {}),
      ...(input.refusedAttempt !== undefined ? { refusedAttempt: checkAttempt(input.refusedAttempt) } : {}),
      requestedAt: Date.now(),
    };
    const fields = Object.entries(message).flatMap(([k, v]) => [k, String(v)]);
    const adopted = await this.redis.eval(
      REQUEST_LUA,
      3,
      this.names.request(phone),
      this.names.pendingCode(phone),
      this.names.code(phone, attempt),
      timeoutSec + this.lateCodeGraceSec,
      ...fields,
    );
    const json = JSON.stringify(message);
    await this.redis
      .multi()
      .xadd(this.names.requestsStream, 'MAXLEN', '~', 10_000, '*', 'payload', json)
      .publish(this.names.requestsChannel, json)
      .exec();
    if (adopted === 1) {
      // a waiter already parked on this attempt (another process) learns of the adopted code now, not at its poll
      const note: CodeDeliveredMessage = { v: CONTRACT_VERSION, phone, attempt };
      await this.redis.publish(this.names.deliveredChannel, JSON.stringify(note));
    }
    this.logger?.debug({ phone: maskPhone(phone), attempt, codeType: input.codeType, jobId: input.jobId }, 'login code requested');
    return message;
  }

  /** Announce that a 2FA password is needed (just the phone and job, no hint). */
  async requestPassword(input: { phone: string; jobId: string; timeoutSec?: number }): Promise<void> {
    this.assertOpen();
    const phone = channelPhone(input.phone);
    const message: PasswordRequestMessage = {
      v: CONTRACT_VERSION,
      phone,
      jobId: input.jobId,
      timeoutSec: positiveInt(input.timeoutSec ?? 600, 'timeoutSec'),
      requestedAt: Date.now(),
    };
    await this.redis.publish(this.names.passwordRequestsChannel, JSON.stringify(message));
  }

  /** The code for this attempt, consumed (no one else gets it). CodeTimeoutError / AbortError otherwise. */
  async waitForCode(input: WaitForCodeInput): Promise<string> {
    const phone = channelPhone(input.phone);
    const attempt = checkAttempt(input.attempt);
    return this.wait('code', phone, attempt, this.names.code(phone, attempt), input.timeoutMs, input.signal);
  }

  /** The code for this attempt if it is there now, consumed; null otherwise (one look, no wait). */
  async takeCode(input: { phone: string; attempt: string }): Promise<string | null> {
    this.assertOpen();
    return this.redis.getdel(this.names.code(channelPhone(input.phone), checkAttempt(input.attempt)));
  }

  /** The 2FA password for this phone if it is there now, consumed; null otherwise (one look, no wait). */
  async takePassword(input: { phone: string }): Promise<string | null> {
    this.assertOpen();
    return this.redis.getdel(this.names.password(channelPhone(input.phone)));
  }

  /** The 2FA password for this phone, consumed. CodeTimeoutError / AbortError otherwise. */
  async waitForPassword(input: WaitForPasswordInput): Promise<string> {
    const phone = channelPhone(input.phone);
    return this.wait('password', phone, null, this.names.password(phone), input.timeoutMs, input.signal);
  }

  /** Rejects pending waits, closes the subscriber. The command connection stays the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) {
      for (const w of set) this.settle(w, new CodeChannelError('closed', 'the code inbox was closed'));
    }
    this.waiters.clear();
    this.stopPolling();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub !== null) {
      sub.removeAllListeners();
      sub.on('error', () => {}); // a late socket error must not become an unhandled 'error' event
      await sub.quit().catch(() => sub.disconnect());
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CodeChannelError('closed', 'the code inbox was closed');
  }

  private async wait(
    what: 'code' | 'password',
    phone: string,
    attempt: string | null,
    key: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    this.assertOpen();
    if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    if (signal !== undefined && aborted(signal)) throw abortError(signal);
    await this.ensureSubscribed(); // subscribed before the first look: nothing can slip between the two
    this.assertOpen();
    if (signal !== undefined && aborted(signal)) throw abortError(signal);

    return new Promise<string>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.settle(waiter, abortError(signal as AbortSignal));
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(phone);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(phone);
        if (this.waiters.size === 0) this.stopPolling();
      };
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
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      timer = setTimeout(() => this.settle(waiter, new CodeTimeoutError(what, phone, attempt, timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(phone);
      if (set === undefined) this.waiters.set(phone, (set = new Set()));
      set.add(waiter);
      this.startPolling();
      this.check(waiter);
    });
  }

  private settle(waiter: Waiter, outcome: Error | { value: string }): void {
    if (waiter.settled) return;
    waiter.settled = true;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome.value);
  }

  /** GETDEL the waiter's key; a trigger arriving while a look is in flight queues exactly one more look. */
  private check(waiter: Waiter): void {
    if (waiter.settled) return;
    if (waiter.checking) {
      waiter.recheck = true;
      return;
    }
    waiter.checking = true;
    waiter.recheck = false;
    this.redis.getdel(waiter.key).then(
      (value) => {
        waiter.checking = false;
        if (value !== null) {
          if (waiter.settled) {
            // Timed out or aborted while the GETDEL was in flight: put the value back so it is not lost.
            this.redis.set(waiter.key, value, 'EX', waiter.restoreTtlSec, 'NX').catch(() => {});
            return;
          }
          this.settle(waiter, { value });
          return;
        }
        if (waiter.recheck) this.check(waiter);
      },
      (err: unknown) => {
        // A failed look (Redis down) is retried by the next notification, reconnect or poll.
        waiter.checking = false;
        this.logger?.debug({ err, what: waiter.what }, 'code store look failed; will retry');
        if (waiter.recheck) this.check(waiter);
      },
    );
  }

  private checkPhone(phone: string, what: 'code' | 'password'): void {
    const set = this.waiters.get(phone);
    if (set === undefined) return;
    for (const w of set) if (w.what === what) this.check(w);
  }

  private checkAll(): void {
    for (const set of this.waiters.values()) for (const w of set) this.check(w);
  }

  private startPolling(): void {
    if (this.pollTimer !== null) return;
    this.pollTimer = setInterval(() => this.checkAll(), this.pollIntervalMs);
    this.pollTimer.unref(); // each waiter's own timeout keeps the process alive, not the poll
  }

  private stopPolling(): void {
    if (this.pollTimer === null) return;
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private ensureSubscribed(): Promise<void> {
    if (this.subscribed !== null) return this.subscribed;
    const channels = [this.names.deliveredChannel, this.names.passwordDeliveredChannel];
    const sub = this.redis.duplicate({
      // We resubscribe ourselves on 'ready' so that the re-check runs only once the subscription is confirmed
      // (ioredis emits 'ready' before its own resubscription is acknowledged).
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      ...(this.subscriberName !== undefined ? { connectionName: this.subscriberName } : {}),
    });
    this.subscriber = sub;
    sub.on('error', (err: Error) => this.logger?.warn({ err }, 'code inbox subscriber error'));
    sub.on('message', (channel: string, json: string) => this.onMessage(channel, json));
    const first = sub.subscribe(...channels).then(() => {
      sub.on('ready', () => {
        sub.subscribe(...channels).then(
          () => {
            this.logger?.info({ waiting: this.waiting }, 'code inbox subscriber reconnected; re-checking every waiter');
            this.checkAll();
          },
          (err: unknown) => this.logger?.warn({ err }, 'code inbox resubscribe failed; polling covers it'),
        );
      });
    });
    this.subscribed = first.catch((err: unknown) => {
      this.subscribed = null; // let the next wait try again
      throw err;
    });
    return this.subscribed;
  }

  private onMessage(channel: string, json: string): void {
    let phone: unknown;
    try {
      phone = (JSON.parse(json) as { phone?: unknown }).phone;
    } catch {
      return;
    }
    if (typeof phone !== 'string') return;
    if (channel === this.names.deliveredChannel) this.checkPhone(phone, 'code');
    else if (channel === this.names.passwordDeliveredChannel) this.checkPhone(phone, 'password');
  }
}
