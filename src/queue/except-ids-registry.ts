// Which Telegram users the farm has authorized, and which accounts have a login in flight — shared by every
// coordinator and worker process on one Redis, so that no account is ever authorized twice:
//   - a claim per account (SET NX PX with an owner token) while its login runs; only the owner renews or
//     releases it (compare-and-delete in Lua), so a slow worker cannot drop a claim someone else took over;
//   - the set of authorized user ids (QR logins pass it as `except_ids`), recorded atomically: the one who adds
//     an id first wins, anyone after gets `duplicate` and must log its new authorization out; the same account
//     recording the same id again (a retried step) gets `already`, never `duplicate`;
//   - who recorded each account (a job of a run), so that a retried step of that job finishes its login instead
//     of reporting its own authorization as someone else's;
//   - the accounts already authorized, so a later claim on them is refused.
// Account keys are phones (digits) or bot-token hashes: never a raw bot token (Redis keys show up in MONITOR,
// SCAN and slow logs).
import { createHash } from 'node:crypto'
import type { RedisClient } from './redis-connection.ts'
import { QueueError } from './queue-error.ts'
import { RedisScript } from './redis-script.ts'
import { DEFAULT_PREFIX, FarmRedisKeys, type ExceptIdsKeys } from './redis-keys.ts'

export { DEFAULT_PREFIX }

export class ExceptIdsRegistryError extends QueueError {
  override readonly name = 'ExceptIdsRegistryError'
}

const RAW_BOT_TOKEN = /^\d+:[\w-]{30,}$/
const ACCOUNT_KEY_SHAPE = /^[\w.:+-]{1,128}$/

/**
 * The account key of a bot: its id (the public part of `<id>:<secret>`), so two tokens of one bot (a revoked and
 * a new one) are one account — one job, one claim, one session. Never the secret; a token without an id is hashed.
 */
export function botAccountKey(token: string): string {
  const id = /^(\d{1,20}):/.exec(token)?.[1]
  return id !== undefined ? `bot:${id}` : `bot:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`
}

function checkAccountKey(accountKey: string): string {
  if (RAW_BOT_TOKEN.test(accountKey)) {
    throw new ExceptIdsRegistryError('accountKey looks like a raw bot token: pass botAccountKey(token)')
  }
  if (!ACCOUNT_KEY_SHAPE.test(accountKey))
    throw new ExceptIdsRegistryError('accountKey must be 1-128 chars of [\\w.:+-]')
  return accountKey
}

function checkUserId(userId: bigint | number | string): string {
  const s = String(userId)
  if (!/^[1-9]\d{0,19}$/.test(s)) throw new ExceptIdsRegistryError('userId must be a positive integer')
  return s
}

function checkTtl(ttlSec: number): number {
  if (!(ttlSec > 0) || !Number.isFinite(ttlSec)) throw new RangeError('ttlSec must be positive')
  return Math.ceil(ttlSec * 1000)
}

// KEYS: claim key, authorized-accounts hash. ARGV: account key, owner, ttl ms.
// 1 claimed (or re-claimed by its owner), 0 held by someone else, -1 already authorized.
const CLAIM_LUA = new RedisScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return -1 end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3]))
return 1
`)

// KEYS: claim key. ARGV: owner, ttl ms.
const RENEW_LUA = new RedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`)

// KEYS: claim key. ARGV: owner.
const RELEASE_LUA = new RedisScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// KEYS: ids set, id→account hash, account→id hash, account→recorder hash. ARGV: user id, account key, recorder
// or ''. Returns {1} when the id is new, {2} when this account already holds it (a repeat), else {0, account that
// holds it}. The account is marked resolved either way: an account that turned out to be a known user must not be
// claimed and signed in again.
const RECORD_LUA = new RedisScript(`
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[2], ARGV[3]) end
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return {1}
end
local holder = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if holder == ARGV[2] then return {2} end
return {0, holder}
`)

// KEYS: ids set, id→account hash, account→id hash, account→recorder hash. ARGV: user id.
const FORGET_LUA = new RedisScript(`
local account = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if account and redis.call('HGET', KEYS[3], account) == ARGV[1] then
  redis.call('HDEL', KEYS[3], account)
  redis.call('HDEL', KEYS[4], account)
end
return account and 1 or 0
`)

// KEYS: account→id hash, id→account hash, account→recorder hash. ARGV: account key.
// Returns {} when unresolved, else {user id, account holding it or '', recorder or ''}, read at one instant.
const RESOLUTION_LUA = new RedisScript(`
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return {} end
return {id, redis.call('HGET', KEYS[2], id) or '', redis.call('HGET', KEYS[3], ARGV[1]) or ''}
`)

export type ClaimStatus = 'claimed' | 'held' | 'authorized'

export type RecordAuthorizedResult =
  | { readonly status: 'new' }
  /** This account had already recorded this user (a repeat of the same login): nothing changed. */
  | { readonly status: 'already' }
  /** The user was already authorized (through `firstAccountKey`): log this new authorization out. */
  | { readonly status: 'duplicate'; readonly firstAccountKey: string | null }

/** What an account resolved to, and who recorded it. */
export interface AccountResolution {
  readonly userId: bigint
  /** The account that holds the user: this one, or the first one when this account is a duplicate of it. */
  readonly holderAccountKey: string | null
  /** The `recorder` given to recordAuthorized, or null. */
  readonly recordedBy: string | null
}

export interface ExceptIdsRegistryOptions {
  readonly redis: RedisClient
  /** Default `{gramfarm}:`. */
  readonly prefix?: string
}

export class ExceptIdsRegistry {
  private readonly redis: RedisClient
  readonly keys: ExceptIdsKeys

  constructor(options: ExceptIdsRegistryOptions) {
    this.redis = options.redis
    this.keys = new FarmRedisKeys(options.prefix ?? DEFAULT_PREFIX).exceptIds
  }

  /** Every authorized user id: the `except_ids` of auth.exportLoginToken. */
  async authorizedIds(): Promise<bigint[]> {
    const ids = await this.redis.smembers(this.keys.authorizedIds)
    return ids.map((s) => BigInt(s))
  }

  async isAuthorizedId(userId: bigint | number | string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.authorizedIds, checkUserId(userId))) === 1
  }

  /** The user id an account resolved to (authorized, or found to be a duplicate of), or null. */
  async authorizedAs(accountKey: string): Promise<bigint | null> {
    const id = await this.redis.hget(this.keys.idOfAccount, checkAccountKey(accountKey))
    return id === null ? null : BigInt(id)
  }

  /** The user an account resolved to, which account holds that user, and who recorded it; null when unresolved. */
  async resolution(accountKey: string): Promise<AccountResolution | null> {
    const key = checkAccountKey(accountKey)
    const r = (await RESOLUTION_LUA.run(
      this.redis,
      [this.keys.idOfAccount, this.keys.accountOfId, this.keys.recorderOfAccount],
      [key],
    )) as string[]
    if (r.length === 0) return null
    return { userId: BigInt(r[0]!), holderAccountKey: r[1] || null, recordedBy: r[2] || null }
  }

  /**
   * Take the account for a login. False when another owner holds it or the account is already authorized
   * (`claimStatus` tells which). Claiming again as the same owner extends the claim.
   */
  async claim(accountKey: string, owner: string, ttlSec: number): Promise<boolean> {
    return (await this.claimStatus(accountKey, owner, ttlSec)) === 'claimed'
  }

  async claimStatus(accountKey: string, owner: string, ttlSec: number): Promise<ClaimStatus> {
    const key = checkAccountKey(accountKey)
    const r = (await CLAIM_LUA.run(
      this.redis,
      [this.keys.claim(key), this.keys.idOfAccount],
      [key, owner, checkTtl(ttlSec)],
    )) as number
    return r === 1 ? 'claimed' : r === 0 ? 'held' : 'authorized'
  }

  /** Extend a claim this owner still holds; false when it was lost (stop the login). */
  async renew(accountKey: string, owner: string, ttlSec: number): Promise<boolean> {
    const key = this.keys.claim(checkAccountKey(accountKey))
    return ((await RENEW_LUA.run(this.redis, [key], [owner, checkTtl(ttlSec)])) as number) === 1
  }

  /** Drop a claim, only if this owner holds it. */
  async release(accountKey: string, owner: string): Promise<boolean> {
    const key = this.keys.claim(checkAccountKey(accountKey))
    return ((await RELEASE_LUA.run(this.redis, [key], [owner])) as number) === 1
  }

  /** Current holder of a claim, or null. */
  async claimOwner(accountKey: string): Promise<string | null> {
    return this.redis.get(this.keys.claim(checkAccountKey(accountKey)))
  }

  /**
   * Record that `accountKey` logged in as `userId`, atomically. `duplicate` means another account authorized that
   * user before: the caller must log the new authorization out (auth.logOut) and report the duplicate. `already`
   * means this account recorded this user before (a retried step): the authorization is this account's own.
   * `recorder` (e.g. the job of a run) is kept with the account, for `resolution`.
   */
  async recordAuthorized(
    userId: bigint | number | string,
    accountKey: string,
    recorder = '',
  ): Promise<RecordAuthorizedResult> {
    const id = checkUserId(userId)
    const key = checkAccountKey(accountKey)
    const r = (await RECORD_LUA.run(
      this.redis,
      [this.keys.authorizedIds, this.keys.accountOfId, this.keys.idOfAccount, this.keys.recorderOfAccount],
      [id, key, recorder],
    )) as [number, string?]
    if (r[0] === 1) return { status: 'new' }
    if (r[0] === 2) return { status: 'already' }
    return { status: 'duplicate', firstAccountKey: r[1] === undefined || r[1] === '' ? null : r[1] }
  }

  /** Make one account claimable again (e.g. a duplicate that should be retried as another user). */
  async forgetAccount(accountKey: string): Promise<boolean> {
    const key = checkAccountKey(accountKey)
    const [[, removed]] = (await this.redis
      .multi()
      .hdel(this.keys.idOfAccount, key)
      .hdel(this.keys.recorderOfAccount, key)
      .exec()) as [[unknown, number]]
    return removed === 1
  }

  /**
   * Forget an authorization (the session was logged out or revoked): the id leaves `except_ids` and its first
   * account may log in again. Accounts that were duplicates of it stay resolved (forgetAccount).
   */
  async forgetAuthorized(userId: bigint | number | string): Promise<boolean> {
    const r = await FORGET_LUA.run(
      this.redis,
      [this.keys.authorizedIds, this.keys.accountOfId, this.keys.idOfAccount, this.keys.recorderOfAccount],
      [checkUserId(userId)],
    )
    return r === 1
  }
}
