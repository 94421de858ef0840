// The farm's own counters, kept in Redis so that every worker adds to the same ones and `gramfarm serve` shows
// farm-wide figures on /metrics: logins by kind and state (the report's state names, so /metrics and a report
// count alike), histograms of login duration and code wait, auth.sendCode pacing, FLOOD_WAIT seconds per DC.
import type { ChainableCommander } from 'ioredis'
import type { RedisClient } from './redis-connection.ts'
import type { FarmStatsKeys } from './redis-keys.ts'

/** Login duration buckets, seconds (a bot logs in under a second; a user waits for an SMS for minutes). */
export const LOGIN_DURATION_BUCKETS: readonly number[] = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]
/** Code wait buckets, seconds. */
export const CODE_WAIT_BUCKETS: readonly number[] = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600]

/** `failed(token_invalid)` → `failed`, `flood_wait(120)` → `flood_wait`: the label values stay few. */
export function stateName(state: string): string {
  const paren = state.indexOf('(')
  return paren < 0 ? state : state.slice(0, paren)
}

function observe(multi: ChainableCommander, key: string, buckets: readonly number[], seconds: number): void {
  const v = Math.max(0, seconds)
  const le = buckets.find((b) => v <= b)
  multi
    .hincrby(key, `le:${le === undefined ? '+Inf' : le}`, 1)
    .hincrbyfloat(key, 'sum', v)
    .hincrby(key, 'count', 1)
}

/** Adds one finished login to `multi` (run it with the result's write, so both or neither land). */
export function recordLogin(
  multi: ChainableCommander,
  keys: FarmStatsKeys,
  kind: string,
  state: string,
  seconds: number,
): void {
  multi.hincrby(keys.logins, `${kind}|${stateName(state)}`, 1)
  observe(multi, keys.loginDuration, LOGIN_DURATION_BUCKETS, seconds)
}

export function recordCodeWait(multi: ChainableCommander, keys: FarmStatsKeys, seconds: number): void {
  observe(multi, keys.codeWait, CODE_WAIT_BUCKETS, seconds)
}

export interface StoredHistogram {
  /** Cumulative counts by upper bound (`+Inf` last), as Prometheus wants them. */
  readonly buckets: readonly { le: string; count: number }[]
  readonly sum: number
  readonly count: number
}

export interface FarmStats {
  readonly logins: readonly { kind: string; state: string; count: number }[]
  readonly loginDuration: StoredHistogram
  readonly codeWait: StoredHistogram
  readonly sendCode: Readonly<Record<string, number>>
  /** DC id → seconds. */
  readonly floodWait: Readonly<Record<string, number>>
}

function histogram(raw: Record<string, string>, buckets: readonly number[]): StoredHistogram {
  let acc = 0
  const out: { le: string; count: number }[] = []
  for (const le of [...buckets.map(String), '+Inf']) {
    acc += Number(raw[`le:${le}`] ?? 0)
    out.push({ le, count: acc })
  }
  return { buckets: out, sum: Number(raw.sum ?? 0), count: Number(raw.count ?? 0) }
}

const numbers = (raw: Record<string, string>): Record<string, number> =>
  Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]))

export async function readFarmStats(redis: RedisClient, keys: FarmStatsKeys): Promise<FarmStats> {
  const replies =
    (await redis
      .multi()
      .hgetall(keys.logins)
      .hgetall(keys.loginDuration)
      .hgetall(keys.codeWait)
      .hgetall(keys.sendCode)
      .hgetall(keys.floodWait)
      .exec()) ?? []
  const [logins, duration, wait, sendCode, flood] = replies.map(([err, v]) =>
    err ? {} : (v as Record<string, string>),
  )
  return {
    logins: Object.entries(logins ?? {}).map(([k, v]) => {
      const [kind = '', state = ''] = k.split('|')
      return { kind, state, count: Number(v) }
    }),
    loginDuration: histogram(duration ?? {}, LOGIN_DURATION_BUCKETS),
    codeWait: histogram(wait ?? {}, CODE_WAIT_BUCKETS),
    sendCode: numbers(sendCode ?? {}),
    floodWait: numbers(flood ?? {}),
  }
}
