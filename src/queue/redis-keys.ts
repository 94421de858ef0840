// Every Redis key and pub/sub channel of a farm, named in one place under the farm's prefix (BullMQ's queue-keys
// is the model): what lives in a farm's Redis can be read here, and no module spells a key of another.
// Every key and channel of a farm starts with its prefix, and the prefix carries a hash tag (`{gramfarm}:`): on a
// Redis Cluster the farm's keys, BullMQ's (its prefix is `<prefix>bull`) and every Lua script's then live in one
// slot, so MULTI, pipelines and scripts that touch several of them (and keys a script derives, like a code's
// attempt key) work there as on one Redis.

/**
 * The farm's prefix with a hash tag: kept as given when it already holds one (`{…}` with something inside), else
 * wrapped — `gramfarm:` → `{gramfarm}:`. Idempotent, so a prefix may pass through here more than once.
 */
export function hashTaggedPrefix(prefix: string): string {
  const open = prefix.indexOf('{')
  if (open >= 0) {
    const close = prefix.indexOf('}', open + 1)
    if (close > open + 1) return prefix
  }
  const name = prefix.endsWith(':') ? prefix.slice(0, -1) : prefix
  if (name === '') throw new RangeError('a farm prefix must not be empty')
  return `{${name}}:`
}

/** The prefix of a farm that was given none. */
export const DEFAULT_PREFIX = '{gramfarm}:'

/** The code-provider channel's names (their contract: docs/provider-contract.md). */
export class CodeChannelNames {
  readonly prefix: string
  constructor(prefix: string = DEFAULT_PREFIX) {
    this.prefix = hashTaggedPrefix(prefix)
  }
  get requestsChannel(): string {
    return `${this.prefix}code:requests`
  }
  get requestsStream(): string {
    return `${this.prefix}code:requests:stream`
  }
  get deliveredChannel(): string {
    return `${this.prefix}code:delivered`
  }
  get passwordRequestsChannel(): string {
    return `${this.prefix}password:requests`
  }
  get passwordDeliveredChannel(): string {
    return `${this.prefix}password:delivered`
  }
  /** Hash of a phone's current code request (its attempt id). */
  request(phone: string): string {
    return `${this.prefix}code:req:${phone}`
  }
  /** Pattern matching every phone's request hash (SCAN). */
  get requestPattern(): string {
    return `${this.prefix}code:req:*`
  }
  /** Prefix of the per-attempt code keys; the attempt id follows. */
  codePrefix(phone: string): string {
    return `${this.prefix}code:${phone}:`
  }
  code(phone: string, attempt: string): string {
    return `${this.codePrefix(phone)}${attempt}`
  }
  /** A code delivered before any request, parked until a request adopts it. */
  pendingCode(phone: string): string {
    return `${this.prefix}code:pending:${phone}`
  }
  password(phone: string): string {
    return `${this.prefix}password:${phone}`
  }
}

/** The except_ids registry's keys: who is authorized, and which login claims an account. */
export interface ExceptIdsKeys {
  readonly authorizedIds: string
  readonly accountOfId: string
  readonly idOfAccount: string
  readonly recorderOfAccount: string
  claim(accountKey: string): string
}

/** The auth.sendCode token buckets. */
export interface SendCodeRateKeys {
  readonly global: string
  dc(dcId: number): string
  /** A DC paused after a FLOOD_WAIT. */
  dcBlocked(dcId: number): string
}

/** Farm-wide counters behind /metrics (hashes the workers and the send-code limiter increment). */
export interface FarmStatsKeys {
  /** `<kind>|<state>` → logins that ended so. */
  readonly logins: string
  /** Histogram of login durations: `le:<bucket>` counts (not cumulative), `sum`, `count`. */
  readonly loginDuration: string
  /** Histogram of how long logins waited for their code, in the same shape. */
  readonly codeWait: string
  /** auth.sendCode slots: `granted`, `paced:<global|dc|penalty>`. */
  readonly sendCode: string
  /** DC id → FLOOD_WAIT seconds Telegram asked for there, summed. */
  readonly floodWait: string
  /** DC id → Unix ms (Redis' clock) until which the longest FLOOD_WAIT seen there lasts. */
  readonly floodUntil: string
  /** auth.sendCode slots granted and paced, counted per time bucket (its start in Unix ms follows): the rates. */
  sendCodeBucket(startMs: number): string
}

/** Every name of one farm. */
export class FarmRedisKeys {
  readonly codeChannel: CodeChannelNames
  readonly exceptIds: ExceptIdsKeys
  readonly sendCodeRate: SendCodeRateKeys
  readonly stats: FarmStatsKeys
  /** The hash-tagged prefix every name below starts with. */
  readonly prefix: string

  constructor(prefix: string = DEFAULT_PREFIX) {
    const p = hashTaggedPrefix(prefix)
    this.prefix = p
    this.codeChannel = new CodeChannelNames(p)
    this.exceptIds = {
      authorizedIds: `${p}auth:authorized-ids`,
      accountOfId: `${p}auth:account-of-id`,
      idOfAccount: `${p}auth:id-of-account`,
      recorderOfAccount: `${p}auth:recorder-of-account`,
      claim: (accountKey) => `${p}auth:claim:${accountKey}`,
    }
    const rate = `${p}ratelimit:send-code:`
    this.sendCodeRate = {
      global: `${rate}global`,
      dc: (dcId) => `${rate}dc:${dcId}`,
      dcBlocked: (dcId) => `${rate}dc:${dcId}:blocked`,
    }
    this.stats = {
      logins: `${p}stats:logins`,
      loginDuration: `${p}stats:login-duration`,
      codeWait: `${p}stats:code-wait`,
      sendCode: `${p}stats:send-code`,
      floodWait: `${p}stats:flood-wait`,
      floodUntil: `${p}stats:flood-until`,
      sendCodeBucket: (startMs) => `${p}stats:send-code:at:${startMs}`,
    }
  }

  /** BullMQ's own prefix for the login queue's keys (`<prefix>bull:<queue>:…`). */
  get bullPrefix(): string {
    return `${this.prefix}bull`
  }
  /** Sorted set of the runs the coordinator enqueued. */
  get runs(): string {
    return `${this.prefix}runs`
  }
  /** Hash describing one run. */
  run(runId: string): string {
    return `${this.prefix}run:${runId}`
  }
  /** Hash of the accounts a run attached to another run's job. */
  runAttached(runId: string): string {
    return `${this.prefix}run:${runId}:attached`
  }
  /** Hash of a run's login results, by account. */
  results(runId: string): string {
    return `${this.prefix}results:${runId}`
  }
  /** A login job's step state. */
  login(jobId: string): string {
    return `${this.prefix}login:${jobId}`
  }
  /** A QR login's current token URL. */
  qr(jobId: string): string {
    return `${this.prefix}qr:${jobId}`
  }
  /** Channel on which a QR login announces its URL (to whoever scans). */
  get qrChannel(): string {
    return `${this.prefix}qr`
  }
  /** Prefix of the QR keys (`qr(jobId)`). */
  get qrPrefix(): string {
    return `${this.prefix}qr:`
  }
  /** Channel on which a thread says "the QR of this job was scanned": the worker promotes the job at once. */
  get qrScannedChannel(): string {
    return `${this.prefix}qr:scanned`
  }
  /** Prefix of the accounts' sessions (RedisSessionStorage's keyPrefix). */
  get sessionPrefix(): string {
    return `${this.prefix}session:`
  }
  /** Hash of every session's last health check: session name → JSON (state, time of the check; session-job.ts). */
  get sessionHealth(): string {
    return `${this.prefix}sessions:health`
  }
  /** Hash of what `sessions harden` last did per session: session name → JSON (session-job.ts). */
  get sessionHardening(): string {
    return `${this.prefix}sessions:hardening`
  }
  /** A session's own secrets that outlive any job (proxy URL, api_hash, 2FA password), sealed; session-secrets.ts. */
  sessionSecrets(name: string): string {
    return `${this.prefix}session-secret:${name}`
  }
  /** Sorted set of the session-job runs (`sessions check|harden`). */
  get sessionRuns(): string {
    return `${this.prefix}session-runs`
  }
  /** Hash of a session-job run's results, by account. */
  sessionResults(runId: string): string {
    return `${this.prefix}session-results:${runId}`
  }
  /** The per-farm secret of the keyed job ids (sealed under the master key; src/queue/job-ids.ts). */
  get jobIdSecret(): string {
    return `${this.prefix}job-id-secret`
  }
  /** The per-farm key of masked phones' tags (sealed under the master key; src/queue/phone-mask-key.ts). */
  get phoneMaskSecret(): string {
    return `${this.prefix}phone-mask-secret`
  }
  /** Set of the worker ids that sent a heartbeat (pruned by readers once a worker's heartbeat key is gone). */
  get workers(): string {
    return `${this.prefix}workers`
  }
  /** One worker process's heartbeat (JSON, short TTL refreshed every few seconds; src/queue/worker-heartbeats.ts). */
  worker(workerId: string): string {
    return `${this.prefix}worker:${workerId}`
  }
  /** A job's secrets (password, bot token), encrypted. */
  secret(jobId: string): string {
    return `${this.prefix}secret:${jobId}`
  }
  /** Hash of the SMS-service activations this farm rented: activation id → phone (the webhook's lookup). */
  get smsActivations(): string {
    return `${this.prefix}sms:activations`
  }
  /** Hash of the same activations by phone: phone → activation id (the bridge's lookup). */
  get smsPhones(): string {
    return `${this.prefix}sms:phones`
  }
}

// Shorthands for the names most modules need alone.

/** Hash of a run's login results, by account. */
export function resultsKey(prefix: string, runId: string): string {
  return new FarmRedisKeys(prefix).results(runId)
}
/** Prefix of the accounts' sessions (RedisSessionStorage's keyPrefix): under the farm's prefix, so farms never share one. */
export function sessionKeyPrefix(prefix: string): string {
  return new FarmRedisKeys(prefix).sessionPrefix
}
export function qrScannedChannel(prefix: string): string {
  return new FarmRedisKeys(prefix).qrScannedChannel
}
export function runsKey(prefix: string): string {
  return new FarmRedisKeys(prefix).runs
}
export function runKey(prefix: string, runId: string): string {
  return new FarmRedisKeys(prefix).run(runId)
}
export function attachedKey(prefix: string, runId: string): string {
  return new FarmRedisKeys(prefix).runAttached(runId)
}
