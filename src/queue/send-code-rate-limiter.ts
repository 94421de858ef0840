// Pacing of auth.sendCode across the whole farm: a global token bucket and one per DC, in Redis so every worker
// process shares them. BullMQ's `limiter` is per queue and per-group limits are a Pro feature, hence our own.
// One Lua script checks both buckets and takes a token from each only when both have one, on Redis' clock (the
// hosts' clocks may disagree). A FLOOD_WAIT blocks a DC's bucket for its duration (`penalize`).
import type { RedisClient } from './redis-connection.ts'
import { DEFAULT_PREFIX, FarmRedisKeys, type FarmStatsKeys, type SendCodeRateKeys } from './redis-keys.ts'
import { countSendCode } from './send-code-rates.ts'
import { RedisScript } from './redis-script.ts'

export { DEFAULT_PREFIX }

export interface TokenBucketConfig {
  /** Tokens added per second (may be fractional: 0.2 = one every 5 s). */
  readonly ratePerSec: number
  /** Bucket size: how many calls may go at once after a quiet period. */
  readonly burst: number
}

export interface SendCodeRateLimiterOptions {
  readonly redis: RedisClient
  /** Default `{gramfarm}:`. */
  readonly prefix?: string
  /** Default 1/s, burst 10. */
  readonly global?: TokenBucketConfig
  /** Default 0.5/s, burst 5, for each DC. */
  readonly perDc?: TokenBucketConfig
}

export type AcquireResult =
  | { readonly ok: true }
  /** `blockedBy`: which bucket said no ('penalty' = a FLOOD_WAIT on that DC). */
  | { readonly ok: false; readonly retryInMs: number; readonly blockedBy: 'global' | 'dc' | 'penalty' }

// KEYS: global bucket, DC bucket, DC penalty. ARGV: global rate/s, global burst, DC rate/s, DC burst.
// Bucket hash: t = tokens (float), ts = ms of that reading. Returns {1} or {0, retry ms, reason}.
const ACQUIRE_LUA = new RedisScript(`
local blocked = redis.call('PTTL', KEYS[3])
if blocked > 0 then return {0, blocked, 'penalty'} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function level(key, rate, burst)
  local v = redis.call('HMGET', key, 't', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if not tokens or not ts then return burst end
  return math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
end
local function save(key, tokens, rate, burst)
  redis.call('HSET', key, 't', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) * 1000 / rate) + 1000)
end
local gRate, gBurst = tonumber(ARGV[1]), tonumber(ARGV[2])
local dRate, dBurst = tonumber(ARGV[3]), tonumber(ARGV[4])
local g = level(KEYS[1], gRate, gBurst)
local d = level(KEYS[2], dRate, dBurst)
if g >= 1 and d >= 1 then
  save(KEYS[1], g - 1, gRate, gBurst)
  save(KEYS[2], d - 1, dRate, dBurst)
  return {1}
end
local gWait = g >= 1 and 0 or math.ceil((1 - g) * 1000 / gRate)
local dWait = d >= 1 and 0 or math.ceil((1 - d) * 1000 / dRate)
if dWait >= gWait then return {0, dWait, 'dc'} end
return {0, gWait, 'global'}
`)

// KEYS: DC penalty. ARGV: ms. Only ever lengthens a block.
const PENALIZE_LUA = new RedisScript(`
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]))
end
return redis.call('PTTL', KEYS[1])
`)

function checkBucket(cfg: TokenBucketConfig, name: string): TokenBucketConfig {
  if (!(cfg.ratePerSec > 0) || !Number.isFinite(cfg.ratePerSec)) throw new RangeError(`${name}.ratePerSec must be > 0`)
  if (!(cfg.burst >= 1) || !Number.isFinite(cfg.burst)) throw new RangeError(`${name}.burst must be >= 1`)
  return cfg
}

function checkDc(dcId: number): number {
  if (!Number.isInteger(dcId) || dcId === 0) throw new RangeError('dcId must be a non-zero integer')
  return dcId
}

export class SendCodeRateLimiter {
  readonly global: TokenBucketConfig
  readonly perDc: TokenBucketConfig
  private readonly redis: RedisClient
  private readonly names: SendCodeRateKeys
  private readonly stats: FarmStatsKeys

  constructor(options: SendCodeRateLimiterOptions) {
    this.redis = options.redis
    const keys = new FarmRedisKeys(options.prefix ?? DEFAULT_PREFIX)
    this.names = keys.sendCodeRate
    this.stats = keys.stats
    this.global = checkBucket(options.global ?? { ratePerSec: 1, burst: 10 }, 'global')
    this.perDc = checkBucket(options.perDc ?? { ratePerSec: 0.5, burst: 5 }, 'perDc')
  }

  /** Redis keys used for a DC (and the global bucket). */
  keys(dcId: number): { global: string; dc: string; penalty: string } {
    return {
      global: this.names.global,
      dc: this.names.dc(dcId),
      penalty: this.names.dcBlocked(dcId),
    }
  }

  /** Take one auth.sendCode slot for the DC, or learn how long to wait (e.g. delay the job by `retryInMs`). */
  async acquire(input: { dcId: number }): Promise<AcquireResult> {
    const k = this.keys(checkDc(input.dcId))
    const r = (await ACQUIRE_LUA.run(
      this.redis,
      [k.global, k.dc, k.penalty],
      [this.global.ratePerSec, this.global.burst, this.perDc.ratePerSec, this.perDc.burst],
    )) as [number, number?, string?]
    // Counted for /metrics (gramfarm_send_code_total) and the rates (the dashboard's pacing); a count lost to a
    // Redis hiccup is not worth failing over.
    if (r[0] === 1) {
      await Promise.all([
        this.redis.hincrby(this.stats.sendCode, 'granted', 1),
        countSendCode(this.redis, this.stats, input.dcId, 'sent'),
      ]).catch(() => 0)
      return { ok: true }
    }
    const blockedBy = r[2] === 'penalty' ? 'penalty' : r[2] === 'global' ? 'global' : 'dc'
    await Promise.all([
      this.redis.hincrby(this.stats.sendCode, `paced:${blockedBy}`, 1),
      countSendCode(this.redis, this.stats, input.dcId, 'paced'),
    ]).catch(() => 0)
    return { ok: false, retryInMs: Math.max(1, r[1] ?? 1000), blockedBy }
  }

  /**
   * A FLOOD_WAIT_<seconds> from this DC: no sendCode there until it has passed. Returns the block left in ms.
   * (The wait's seconds are counted by whoever met it: recordFloodWait, for every FLOOD_WAIT, paced or not.)
   */
  async penalize(dcId: number, seconds: number): Promise<number> {
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new RangeError('seconds must be > 0')
    const key = this.keys(checkDc(dcId)).penalty
    return (await PENALIZE_LUA.run(this.redis, [key], [Math.ceil(seconds * 1000)])) as number
  }
}
