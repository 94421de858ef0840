// auth.sendCode pacing as rates: every slot the limiter grants (a code sent) or refuses (a send held back) is
// counted in a small per-10-second bucket, globally and per DC; a reader sums the buckets of the last minutes
// and says how many a minute. Each bucket is one hash that expires by itself, so nothing needs pruning.
import type { RedisClient } from './redis-connection.ts'
import type { FarmStatsKeys } from './redis-keys.ts'
import { RedisScript } from './redis-script.ts'

/** Width of a bucket. */
export const RATE_BUCKET_MS = 10_000
/** The window the rates are taken over. */
export const RATE_WINDOW_MS = 5 * 60_000
/** A bucket outlives the window by a margin (hosts' clocks may differ a little). */
const BUCKET_TTL_SECONDS = (2 * RATE_WINDOW_MS) / 1000

export type SendCodeOutcome = 'sent' | 'paced'

const bucketOf = (ms: number): number => ms - (ms % RATE_BUCKET_MS)

// KEYS[1] the bucket. ARGV: global field, DC field, TTL sec. Both counts and the TTL at once, as a MULTI would, but
// one command that an auto-pipelined connection sends with its neighbours (a MULTI is always a write of its own).
const COUNT_LUA = new RedisScript(`
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`)

/** Counts one slot of `dcId` (run it beside the limiter's decision; a lost count is not worth failing over). */
export async function countSendCode(
  redis: RedisClient,
  keys: FarmStatsKeys,
  dcId: number,
  outcome: SendCodeOutcome,
  now = Date.now(),
): Promise<void> {
  await COUNT_LUA.run(
    redis,
    [keys.sendCodeBucket(bucketOf(now))],
    [outcome, `${outcome}:dc:${dcId}`, BUCKET_TTL_SECONDS],
  )
}

export interface SendCodeRate {
  /** Codes sent a minute, over the window. */
  readonly sentPerMin: number
  /** Sends held back by the pacing a minute, over the window. */
  readonly pacedPerMin: number
}

export interface SendCodeRates {
  /** The window the rates are over, seconds. */
  readonly windowS: number
  readonly global: SendCodeRate
  /** DC id → its rates (DCs with no slot in the window are absent). */
  readonly byDc: Readonly<Record<string, SendCodeRate>>
}

const perMinute = (count: number, spanMs: number): number => Math.round((count * 60_000 * 10) / spanMs) / 10

/** The rates over the last `windowMs` (the current, partial bucket included). */
export async function readSendCodeRates(
  redis: RedisClient,
  keys: FarmStatsKeys,
  now = Date.now(),
  windowMs = RATE_WINDOW_MS,
): Promise<SendCodeRates> {
  const current = bucketOf(now)
  const buckets = Math.max(1, Math.round(windowMs / RATE_BUCKET_MS))
  const starts = Array.from({ length: buckets }, (_, i) => current - i * RATE_BUCKET_MS)
  // What the buckets cover: the full ones and the current one so far (never less than a second).
  const spanMs = Math.max(1_000, (buckets - 1) * RATE_BUCKET_MS + (now - current))
  const counts = new Map<string, number>()
  for (const hash of await Promise.all(starts.map((s) => redis.hgetall(keys.sendCodeBucket(s))))) {
    for (const [field, v] of Object.entries(hash)) counts.set(field, (counts.get(field) ?? 0) + Number(v))
  }
  const rate = (suffix: string): SendCodeRate => ({
    sentPerMin: perMinute(counts.get(`sent${suffix}`) ?? 0, spanMs),
    pacedPerMin: perMinute(counts.get(`paced${suffix}`) ?? 0, spanMs),
  })
  const dcs = new Set([...counts.keys()].flatMap((f) => /^(?:sent|paced):dc:(-?\d+)$/.exec(f)?.[1] ?? []))
  return {
    windowS: windowMs / 1000,
    global: rate(''),
    byDc: Object.fromEntries([...dcs].sort((a, b) => Number(a) - Number(b)).map((dc) => [dc, rate(`:dc:${dc}`)])),
  }
}
