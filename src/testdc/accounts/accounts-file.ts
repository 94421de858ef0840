// The JSON file a test DC can be seeded from. Shape (every field but `phone` optional; ids as strings or numbers,
// since JSON numbers lose precision past 2^53):
//   {
//     "users": [{ "phone": "15550001111", "dcId": 2, "id": "1000001", "accessHash": "-42", "firstName": "Ann",
//                 "lastName": "Lee", "username": "ann", "registered": true, "code": "12345",
//                 "codeTypes": ["app", "sms", "call"], "password": "hunter2" | { "password": "…", "hint": "…",
//                 "recoveryEmail": "ann@example.com" }, "banned": false, "deactivated": "ban" | "deleted",
//                 "frozen": true | { "sinceDate": 1735689600, "untilDate": 1738281600, "appealUrl": "https://t.me/spambot" },
//                 "restricted": [{ "platform": "all", "reason": "spam", "text": "…" }],
//                 "keyFate": "duplicated" | "revoked" | "unregistered" | { "state": "…", "afterSeconds": 60 },
//                 "floodWait": 300 | { "seconds": 300, "methods": ["users.getUsers", "updates.getState"] } }],
//     "bots":  [{ "id": "7000001", "token": "7000001:AAE…", "dcId": 2, "firstName": "Farm bot", "username": "farm_bot" }]
//   }
import { CODE_KINDS, type CodeKind } from './login-codes.ts'
import type { Deactivation, KeyFate, RestrictionReason } from './account.ts'
import type { PasswordSpec } from './stored-password.ts'

export interface UserSpec {
  phone: string
  /** Home DC; default: X of a test number, else the registry's default. */
  dcId?: number
  id?: bigint
  accessHash?: bigint
  firstName?: string
  lastName?: string
  username?: string
  /** Default true; false makes signIn answer authorizationSignUpRequired. */
  registered?: boolean
  /** A fixed login code instead of a random one. */
  code?: string
  /** Delivery chain (default ['sms', 'call']); start with 'app' for an account that "has another session". */
  codeTypes?: CodeKind[]
  /** 2FA. */
  password?: string | PasswordSpec
  /** sendCode answers PHONE_NUMBER_BANNED. */
  banned?: boolean
  deactivated?: Deactivation
  /** Telegram's freeze: read-only account, dates in help.getAppConfig. */
  frozen?: FreezeSpec
  /** user.restricted with these reasons. */
  restricted?: RestrictionReason[]
  /** What becomes of the account's next login key. */
  keyFate?: KeyFateSpec
  /** Some methods answer 420 FLOOD_WAIT_X for this many seconds from their first call (flood-wait-rule.ts). */
  floodWait?: FloodWaitSpec
}

/** A method limit as seeded: seconds alone limit FLOOD_WAIT_METHODS (what `sessions check` calls). */
export type FloodWaitSpec = number | { seconds: number; methods?: string[] }

/** The methods a bare `floodWait: <seconds>` limits: the self lookup and update state a session check makes. */
export const FLOOD_WAIT_METHODS: readonly string[] = ['users.getUsers', 'updates.getState']

/** A freeze as seeded: dates default to "since the DC loaded the seed" and 30 days later. */
export interface FreezeSpec {
  sinceDate?: number
  untilDate?: number
  appealUrl?: string
}

/** A KeyFate as seeded: the state alone means "from the first request after the login". */
export type KeyFateSpec = KeyFate['state'] | { state: KeyFate['state']; afterSeconds?: number }

const KEY_FATES: readonly KeyFate['state'][] = ['duplicated', 'revoked', 'unregistered']

export interface BotSpec {
  id?: bigint
  /** `<id>:<secret>` or just the secret; generated when absent. */
  token?: string
  dcId?: number
  firstName?: string
  username?: string
}

export interface AccountsFile {
  users: UserSpec[]
  bots: BotSpec[]
}

export class TestDcAccountsError extends Error {
  override readonly name = 'TestDcAccountsError'
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function optString(o: Json, key: string, where: string): string | undefined {
  const v = o[key]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new TestDcAccountsError(`${where}.${key}: expected a string`)
  return v
}

function optInt(o: Json, key: string, where: string): number | undefined {
  const v = o[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TestDcAccountsError(`${where}.${key}: expected an integer`)
  return v
}

function optBool(o: Json, key: string, where: string): boolean | undefined {
  const v = o[key]
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') throw new TestDcAccountsError(`${where}.${key}: expected true or false`)
  return v
}

function optBigInt(o: Json, key: string, where: string): bigint | undefined {
  const v = o[key]
  if (v === undefined) return undefined
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)))
    return BigInt(v)
  throw new TestDcAccountsError(`${where}.${key}: expected an integer id (a string for large values)`)
}

function parsePassword(v: unknown, where: string): string | PasswordSpec | undefined {
  if (v === undefined || typeof v === 'string') return v
  if (!isObject(v)) throw new TestDcAccountsError(`${where}.password: expected a string or an object`)
  const password = optString(v, 'password', `${where}.password`)
  if (password === undefined) throw new TestDcAccountsError(`${where}.password.password is required`)
  return {
    password,
    hint: optString(v, 'hint', `${where}.password`),
    recoveryEmail: optString(v, 'recoveryEmail', `${where}.password`),
  }
}

function parseFreeze(v: unknown, where: string): FreezeSpec | undefined {
  if (v === undefined || v === false) return undefined
  if (v === true) return {}
  if (!isObject(v)) throw new TestDcAccountsError(`${where}.frozen: expected true or an object`)
  const w = `${where}.frozen`
  return {
    sinceDate: optInt(v, 'sinceDate', w),
    untilDate: optInt(v, 'untilDate', w),
    appealUrl: optString(v, 'appealUrl', w),
  }
}

function parseRestricted(v: unknown, where: string): RestrictionReason[] | undefined {
  if (v === undefined) return undefined
  if (!Array.isArray(v))
    throw new TestDcAccountsError(`${where}.restricted: expected a list of { platform, reason, text }`)
  return v.map((r: unknown, i) => {
    const w = `${where}.restricted[${i}]`
    if (!isObject(r)) throw new TestDcAccountsError(`${w}: expected an object`)
    return {
      platform: optString(r, 'platform', w) ?? 'all',
      reason: optString(r, 'reason', w) ?? 'spam',
      text: optString(r, 'text', w) ?? '',
    }
  })
}

function parseKeyFate(v: unknown, where: string): KeyFateSpec | undefined {
  if (v === undefined) return undefined
  const state = isObject(v) ? v['state'] : v
  if (!(KEY_FATES as readonly unknown[]).includes(state))
    throw new TestDcAccountsError(`${where}.keyFate: expected ${KEY_FATES.join(', ')} (or { state, afterSeconds })`)
  if (!isObject(v)) return state as KeyFate['state']
  const afterSeconds = optInt(v, 'afterSeconds', `${where}.keyFate`)
  if (afterSeconds !== undefined && afterSeconds < 0)
    throw new TestDcAccountsError(`${where}.keyFate.afterSeconds: expected a number of seconds >= 0`)
  return { state: state as KeyFate['state'], afterSeconds }
}

function parseFloodWait(v: unknown, where: string): FloodWaitSpec | undefined {
  if (v === undefined) return undefined
  const w = `${where}.floodWait`
  const seconds = isObject(v) ? v['seconds'] : v
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1)
    throw new TestDcAccountsError(`${w}: expected a whole number of seconds >= 1 (or { seconds, methods })`)
  if (!isObject(v)) return seconds
  const methods = v['methods']
  if (methods === undefined) return { seconds }
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string' && m !== ''))
    throw new TestDcAccountsError(`${w}.methods: expected a non-empty list of method names`)
  return { seconds, methods: methods as string[] }
}

function parseUser(v: unknown, i: number): UserSpec {
  const where = `users[${i}]`
  if (!isObject(v)) throw new TestDcAccountsError(`${where}: expected an object`)
  const phone = optString(v, 'phone', where)
  if (!phone) throw new TestDcAccountsError(`${where}.phone is required`)
  const codeTypes = v['codeTypes']
  if (
    codeTypes !== undefined &&
    (!Array.isArray(codeTypes) ||
      codeTypes.length === 0 ||
      !codeTypes.every((k) => (CODE_KINDS as readonly unknown[]).includes(k)))
  ) {
    throw new TestDcAccountsError(`${where}.codeTypes: expected a non-empty list of ${CODE_KINDS.join(', ')}`)
  }
  const deactivated = v['deactivated']
  if (deactivated !== undefined && deactivated !== 'ban' && deactivated !== 'deleted')
    throw new TestDcAccountsError(`${where}.deactivated: expected "ban" or "deleted"`)
  return {
    phone,
    dcId: optInt(v, 'dcId', where),
    id: optBigInt(v, 'id', where),
    accessHash: optBigInt(v, 'accessHash', where),
    firstName: optString(v, 'firstName', where),
    lastName: optString(v, 'lastName', where),
    username: optString(v, 'username', where),
    registered: optBool(v, 'registered', where),
    code: optString(v, 'code', where),
    codeTypes: codeTypes as CodeKind[] | undefined,
    password: parsePassword(v['password'], where),
    banned: optBool(v, 'banned', where),
    deactivated,
    frozen: parseFreeze(v['frozen'], where),
    restricted: parseRestricted(v['restricted'], where),
    keyFate: parseKeyFate(v['keyFate'], where),
    floodWait: parseFloodWait(v['floodWait'], where),
  }
}

function parseBot(v: unknown, i: number): BotSpec {
  const where = `bots[${i}]`
  if (!isObject(v)) throw new TestDcAccountsError(`${where}: expected an object`)
  return {
    id: optBigInt(v, 'id', where),
    token: optString(v, 'token', where),
    dcId: optInt(v, 'dcId', where),
    firstName: optString(v, 'firstName', where),
    username: optString(v, 'username', where),
  }
}

/** Validates parsed JSON against the shape above (TestDcAccountsError names the bad field, never a value). */
export function parseAccountsFile(json: unknown): AccountsFile {
  if (!isObject(json)) throw new TestDcAccountsError('accounts file: expected an object with "users" and/or "bots"')
  const users = json['users'] ?? []
  const bots = json['bots'] ?? []
  if (!Array.isArray(users)) throw new TestDcAccountsError('users: expected a list')
  if (!Array.isArray(bots)) throw new TestDcAccountsError('bots: expected a list')
  return { users: users.map(parseUser), bots: bots.map(parseBot) }
}
