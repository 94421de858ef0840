// FLOOD_WAITs per DC, every one that ends a login step (the short ones that pace a DC's sendCode and the long ones
// that are one phone's own limit alike): the seconds Telegram asked for, summed, and until when the longest
// current one lasts, on Redis' clock (the hosts' clocks may disagree).
import type { RedisClient } from './redis-connection.ts'
import type { FarmStatsKeys } from './redis-keys.ts'
import { RedisScript } from './redis-script.ts'

// KEYS[1] floodUntil hash. ARGV: DC id, wait in ms. Only ever moves a DC's end later. Returns that end (Unix ms).
const EXTEND_UNTIL_LUA = new RedisScript(`
local t = redis.call('TIME')
local ends = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if ends > cur then redis.call('HSET', KEYS[1], ARGV[1], ends) return ends end
return cur
`)

/** A FLOOD_WAIT_<seconds> on `dcId`. */
export async function recordFloodWait(
  redis: RedisClient,
  keys: FarmStatsKeys,
  dcId: number,
  seconds: number,
): Promise<void> {
  // Two commands, not one script: the hashes need not share a Cluster slot.
  await Promise.all([
    redis.hincrbyfloat(keys.floodWait, String(dcId), seconds),
    EXTEND_UNTIL_LUA.run(redis, [keys.floodUntil], [String(dcId), Math.ceil(seconds * 1000)]),
  ])
}

export interface DcFloodWait {
  /** FLOOD_WAIT seconds asked for on this DC, summed. */
  readonly totalS: number
  /** When the longest current wait ends (ISO), or null when none lasts now. */
  readonly until: string | null
  /** Seconds left of it (0: none now). */
  readonly leftS: number
}

/** Every DC that had a FLOOD_WAIT: its sum and its current wait (measured on Redis' clock). */
export async function readFloodWaits(redis: RedisClient, keys: FarmStatsKeys): Promise<Record<string, DcFloodWait>> {
  const [totals, ends, [sec, micro]] = await Promise.all([
    redis.hgetall(keys.floodWait),
    redis.hgetall(keys.floodUntil),
    redis.time(),
  ])
  const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000)
  const out: Record<string, DcFloodWait> = {}
  for (const dc of [...new Set([...Object.keys(totals), ...Object.keys(ends)])].sort((a, b) => Number(a) - Number(b))) {
    const end = Number(ends[dc] ?? 0)
    const left = Math.max(0, Math.ceil((end - now) / 1000))
    out[dc] = {
      totalS: Number(totals[dc] ?? 0),
      until: left > 0 ? new Date(end).toISOString() : null,
      leftS: left,
    }
  }
  return out
}
