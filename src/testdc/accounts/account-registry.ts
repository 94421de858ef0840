// The accounts of one test DC cluster, shared by all its DCs: users and bots, which auth key is logged in as whom
// (with the app that did it), pending login codes, QR tokens and exported authorizations, and the switches tests
// flip (ban, deactivate, revoke, duplicate). The auth.*, account.*, users.* and updates.* services act on it; the
// DCs consult it through `cluster` (login state per key, and keys to refuse before dispatching).
import { readFileSync } from 'node:fs'
import type { TlValue } from '../../mtproto/tl/index.ts'
import { randomBytes, type RandomSource } from '../../mtproto/crypto/random.ts'
import type { DcCluster } from '../dc-server.ts'
import type { RpcContext } from '../rpc-dispatcher.ts'
import { RpcFailure } from '../rpc-failure.ts'
import type { Account, Deactivation, FloodLimit, Freeze, KeyFate } from './account.ts'
import {
  FLOOD_WAIT_METHODS,
  parseAccountsFile,
  type BotSpec,
  type FloodWaitSpec,
  type FreezeSpec,
  type KeyFateSpec,
  type UserSpec,
} from './accounts-file.ts'
import { DEFAULT_CODE_KINDS, type CodeDelivery, type PendingCode } from './login-codes.ts'
import { LoginTokens, type LoginToken } from './login-tokens.ts'
import { normalizePhone, testNumberOf } from './phone-number.ts'
import { RateWindow, type RateLimit } from './rate-window.ts'
import { OFFICIAL_APPS, type KnownApp } from './tl-authorization.ts'
import { newSrpAlgo, StoredPassword, type PasswordSpec } from './stored-password.ts'
import type { SrpAlgo, SrpServerChallenge } from '../../mtproto/crypto/srp.ts'

/** Pushes an update to an auth key of any DC of the cluster (the lead wires it to DcServer keys). */
export interface UpdateRouter {
  pushToKey(dcId: number, authKeyId: bigint, update: TlValue): void
}

/** Reported when a QR token is accepted (tests observe the routing here). */
export interface LoginTokenAccepted {
  /** The exporting key. */
  dcId: number
  authKeyId: bigint
  /** The user who scanned. */
  userId: bigint
  update: TlValue
}

export interface AccountRegistryOptions {
  /** DC ids of the cluster (default 1–5). */
  dcIds?: readonly number[]
  /** Home DC of seeded accounts without one (default: the first of dcIds). */
  defaultDc?: number
  /** Home DC of phones with no account that sign up; default null = the DC their sendCode reached. */
  signUpDc?: number | null
  /** Every code the DC "sends". */
  onCode?: (delivery: CodeDelivery) => void
  /** Login code lifetime (default 180 s, then PHONE_CODE_EXPIRED). */
  codeTtlSeconds?: number
  /** Digits of random codes (default 5, as Telegram's SMS codes). */
  codeLength?: number
  /** sentCode.timeout before the next delivery type may be asked for (default 60 s). */
  resendTimeoutSeconds?: number
  /** sendCode calls per phone within a window before 420 FLOOD_WAIT_X (default: no limit). */
  sendCodeFlood?: RateLimit | null
  /** Wrong checkPassword answers per user within a window before 420 FLOOD_WAIT_X (default: no limit). */
  passwordFlood?: RateLimit | null
  /** QR token lifetime (default 30 s, as Telegram's). */
  loginTokenTtlSeconds?: number
  /** Terms of service sent with authorizationSignUpRequired. */
  termsOfService?: { id: string; text: string }
  updateRouter?: UpdateRouter
  onLoginTokenAccepted?: (event: LoginTokenAccepted) => void
  /** Milliseconds since the epoch (tests move time forward; advanceClock() adds to it). */
  now?: () => number
  /**
   * How old the current session must be before it may end others (account.resetAuthorization,
   * auth.resetAuthorizations, account.setAuthorizationTTL): Telegram's 24 hours by default.
   */
  freshSessionSeconds?: number
  /** App names (and the official flag) sessions lists show per api_id; default: Telegram's own apps. */
  apps?: Readonly<Record<number, KnownApp>>
  /** country/region shown for a session's IP (Telegram geolocates it; the test DC says '' unless told). */
  locateIp?: (ip: string) => { country: string; region: string }
  random?: RandomSource
}

/** A logged-in auth key. */
export interface Session {
  readonly dcId: number
  readonly authKeyId: bigint
  readonly userId: bigint
  /** account.getAuthorizations hash (resetAuthorization names a session by it). */
  readonly hash: bigint
  readonly client: RpcContext['client']
  /** Unix seconds. */
  readonly createdAt: number
}

/** A session as account.getAuthorizations shows it: the login plus what its key announced and did last. */
export interface SessionActivity extends Session {
  /** Unix seconds of the key's last request (createdAt before any). */
  readonly activeAt: number
  /** The address the key last connected from ('' when the DC was not told). */
  readonly ip: string
}

/** Login state of a key: 'unauthorized' keys may still call the auth methods; the last three are refused. */
export type KeyStatus = 'unauthorized' | 'authorized' | 'duplicated' | 'revoked' | 'deactivated'

export interface KeyState {
  status: KeyStatus
  userId: bigint | null
  /** What every call from the key gets, for the refused statuses. */
  rejection: { code: number; message: string } | null
}

/** A key's 2FA progress: whose password it must prove, and the srp_B it was last given. */
export interface PasswordLogin {
  userId: bigint
  challenge: { srpId: bigint; srp: SrpServerChallenge; password: StoredPassword } | null
}

/** auth.exportAuthorization's grant, redeemed once on `targetDc`. */
export interface ExportedAuthorization {
  readonly userId: bigint
  readonly targetDc: number
  readonly bytes: Uint8Array
  readonly expiresAt: number
}

interface KeyRecord {
  session: Session | null
  password: PasswordLogin | null
  duplicated: boolean
  revoked: boolean
  /** The latest initConnection the key sent (Telegram shows the newest app version in the session list). */
  client: RpcContext['client']
  activeAt: number
  ip: string
  /** The account's seeded KeyFate, due at this Unix second. */
  fate: (KeyFate & { dueAt: number }) | null
  /** A login stopped at SESSION_PASSWORD_NEEDED: listed as password_pending under this hash until it ends. */
  pending: { userId: bigint; hash: bigint; since: number } | null
}

const DEFAULT_DC_IDS = [1, 2, 3, 4, 5]
/** Telegram's rule: a session younger than 24 hours cannot end others (FRESH_RESET_AUTHORISATION_FORBIDDEN). */
const FRESH_SESSION_SECONDS = 24 * 60 * 60
/** account.authorizations.authorization_ttl_days: Telegram's default for inactive sessions. */
const DEFAULT_AUTHORIZATION_TTL_DAYS = 180
/** A seeded freeze without dates: deletion this long after it began (invented; Telegram sets it per case). */
const DEFAULT_FREEZE_DAYS = 30
/** Where Telegram sends frozen accounts to appeal (@SpamBot). */
const DEFAULT_FREEZE_APPEAL_URL = 'https://t.me/spambot'
/** First ids handed out (invented; real ids are opaque 64-bit numbers). */
const FIRST_USER_ID = 1_000_000n
const FIRST_BOT_ID = 7_000_000_000n
/** Bot token secret length: Telegram's are 35 characters after the colon. */
const BOT_SECRET_CHARS = 35
const BOT_TOKEN = /^(\d+):([A-Za-z0-9_-]+)$/

export class AccountRegistry {
  readonly dcIds: readonly number[]
  readonly defaultDc: number
  readonly signUpDc: number | null
  readonly codeTtlSeconds: number
  readonly codeLength: number
  readonly resendTimeoutSeconds: number
  readonly loginTokenTtlSeconds: number
  readonly termsOfService: { id: string; text: string }
  readonly random: RandomSource
  readonly freshSessionSeconds: number
  readonly apps: Readonly<Record<number, KnownApp>>
  onCode: ((delivery: CodeDelivery) => void) | null
  updateRouter: UpdateRouter | null
  onLoginTokenAccepted: ((event: LoginTokenAccepted) => void) | null

  /** Pending login code per phone (a new sendCode replaces it, so the old hash stops working). */
  readonly codes = new Map<string, PendingCode>()
  readonly loginTokens = new LoginTokens()
  readonly exportedAuthorizations = new Map<bigint, ExportedAuthorization>()
  readonly sendCodeWindow: RateWindow | null
  readonly passwordWindow: RateWindow | null

  private readonly accounts = new Map<bigint, Account>()
  private readonly byPhone = new Map<string, Account>()
  private readonly bannedPhones = new Set<string>()
  private readonly keys = new Map<string, KeyRecord>()
  private readonly clock: () => number
  private clockOffsetMs = 0
  private readonly locateIp: (ip: string) => { country: string; region: string }
  /** new_algo of account.getPassword per user: the server salts stay the same until a password is set. */
  private readonly serverAlgos = new Map<bigint, SrpAlgo>()
  private nextUserId = FIRST_USER_ID
  private nextBotId = FIRST_BOT_ID

  constructor(opts: AccountRegistryOptions = {}) {
    this.dcIds = opts.dcIds ?? DEFAULT_DC_IDS
    this.defaultDc = opts.defaultDc ?? this.dcIds[0]
    this.signUpDc = opts.signUpDc ?? null
    this.codeTtlSeconds = opts.codeTtlSeconds ?? 180
    this.codeLength = opts.codeLength ?? 5
    this.resendTimeoutSeconds = opts.resendTimeoutSeconds ?? 60
    this.loginTokenTtlSeconds = opts.loginTokenTtlSeconds ?? 30
    this.termsOfService = opts.termsOfService ?? {
      id: 'testdc-tos-1',
      text: 'Terms of service of the gramfarm test DC.',
    }
    this.random = opts.random ?? randomBytes
    this.onCode = opts.onCode ?? null
    this.updateRouter = opts.updateRouter ?? null
    this.onLoginTokenAccepted = opts.onLoginTokenAccepted ?? null
    this.sendCodeWindow = opts.sendCodeFlood ? new RateWindow(opts.sendCodeFlood) : null
    this.passwordWindow = opts.passwordFlood ? new RateWindow(opts.passwordFlood) : null
    this.clock = opts.now ?? Date.now
    this.freshSessionSeconds = opts.freshSessionSeconds ?? FRESH_SESSION_SECONDS
    this.apps = opts.apps ?? OFFICIAL_APPS
    this.locateIp = opts.locateIp ?? (() => ({ country: '', region: '' }))
  }

  now(): number {
    return this.clock() + this.clockOffsetMs
  }

  /** Moves the accounts' clock forward (sessions age, codes and freezes expire) without waiting. */
  advanceClock(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('advanceClock: seconds must be >= 0')
    this.clockOffsetMs += seconds * 1000
  }

  /** Where a session's IP is said to be. */
  locate(ip: string): { country: string; region: string } {
    return this.locateIp(ip)
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000)
  }

  // ---- accounts ----

  addUser(spec: UserSpec): Account {
    const phone = normalizePhone(spec.phone)
    if (!phone) throw new RangeError('addUser: not a phone number')
    if (this.byPhone.has(phone)) throw new RangeError('addUser: phone already registered')
    const test = testNumberOf(phone, this.dcIds)
    const account = this.insert({
      id: spec.id ?? this.freshId('user'),
      accessHash: spec.accessHash ?? this.randomLong(),
      bot: false,
      phone,
      homeDc: this.checkDc(spec.dcId ?? test?.dcId ?? this.defaultDc),
      firstName: spec.firstName ?? `User ${phone.slice(-4)}`,
      lastName: spec.lastName ?? '',
      username: spec.username ?? null,
      registered: spec.registered ?? true,
      deactivated: null,
      frozen: spec.frozen ? this.freezeOf(spec.frozen) : null,
      restrictionReasons: spec.restricted ? spec.restricted.map((r) => ({ ...r })) : [],
      keyFate: spec.keyFate ? keyFateOf(spec.keyFate) : null,
      floodWait: spec.floodWait !== undefined ? floodLimitOf(spec.floodWait) : null,
      authorizationTtlDays: DEFAULT_AUTHORIZATION_TTL_DAYS,
      pendingEmail: null,
      password: spec.password === undefined ? null : this.makePassword(spec.password),
      codeKinds: spec.codeTypes?.length ? [...spec.codeTypes] : [...DEFAULT_CODE_KINDS],
      fixedCode: spec.code ?? test?.code ?? null,
      botToken: null,
      recovery: null,
      updateState: initialUpdateState(),
    })
    if (spec.banned) this.bannedPhones.add(phone)
    if (spec.deactivated) this.deactivate(account.id, spec.deactivated)
    return account
  }

  addBot(spec: BotSpec = {}): Account {
    let id = spec.id ?? this.freshId('bot')
    let secret = spec.token ?? this.randomSecret()
    const full = BOT_TOKEN.exec(secret)
    if (full) {
      if (spec.id !== undefined && BigInt(full[1]) !== spec.id) throw new RangeError('addBot: token and id disagree')
      id = BigInt(full[1])
      secret = full[2]
    } else if (!/^[A-Za-z0-9_-]+$/.test(secret)) throw new RangeError('addBot: malformed token')
    return this.insert({
      id,
      accessHash: this.randomLong(),
      bot: true,
      phone: null,
      homeDc: this.checkDc(spec.dcId ?? this.defaultDc),
      firstName: spec.firstName ?? `Bot ${id}`,
      lastName: '',
      username: spec.username ?? null,
      registered: true,
      deactivated: null,
      frozen: null,
      restrictionReasons: [],
      keyFate: null,
      floodWait: null,
      authorizationTtlDays: DEFAULT_AUTHORIZATION_TTL_DAYS,
      pendingEmail: null,
      password: null,
      codeKinds: [],
      fixedCode: null,
      botToken: `${id}:${secret}`,
      recovery: null,
      updateState: initialUpdateState(),
    })
  }

  /** Seeds accounts from a JSON file (shape in accounts-file.ts); TestDcAccountsError on a bad file. */
  loadAccountsFile(path: string): { users: Account[]; bots: Account[] } {
    const file = parseAccountsFile(JSON.parse(readFileSync(path, 'utf8')) as unknown)
    return { users: file.users.map((u) => this.addUser(u)), bots: file.bots.map((b) => this.addBot(b)) }
  }

  user(id: bigint): Account | undefined {
    return this.accounts.get(id)
  }

  /** The account registered (or known) under `phone` (any formatting). */
  userByPhone(phone: string): Account | undefined {
    const digits = normalizePhone(phone)
    return digits ? this.byPhone.get(digits) : undefined
  }

  /** The account under `phone` (digits); a test number's is made on first use (Telegram's rule: home DC X, code XXXXX). */
  accountOfPhone(phone: string): Account | undefined {
    const existing = this.byPhone.get(phone)
    if (existing || !testNumberOf(phone, this.dcIds)) return existing
    return this.addUser({ phone, firstName: 'Test', lastName: phone.slice(-4) })
  }

  /** auth.signUp: a registered account for `phone` (known-but-unregistered entries keep their id and settings). */
  register(phone: string, homeDc: number, firstName: string, lastName: string): Account {
    const known = this.byPhone.get(phone)
    if (known) {
      Object.assign(known, { registered: true, firstName, lastName })
      return known
    }
    return this.addUser({ phone, dcId: homeDc, firstName, lastName })
  }

  isPhoneBanned(phone: string): boolean {
    return this.bannedPhones.has(phone)
  }

  /** sendCode for `phone` answers PHONE_NUMBER_BANNED from now on. */
  banPhone(phone: string): void {
    const digits = normalizePhone(phone)
    if (digits) this.bannedPhones.add(digits)
  }

  /**
   * Takes an account down: every key logged in as it gets 401 USER_DEACTIVATED_BAN (`ban`, which also bans the
   * phone) or USER_DEACTIVATED (`deleted`, which frees the phone for a new sign-up, as Telegram does).
   */
  deactivate(userId: bigint, how: Deactivation): void {
    const account = this.requireAccount(userId)
    account.deactivated = how
    if (account.phone && how === 'ban') this.bannedPhones.add(account.phone)
    if (account.phone && how === 'deleted' && this.byPhone.get(account.phone) === account)
      this.byPhone.delete(account.phone)
  }

  /** Turns 2FA on (or changes it), or off with null. Pending srp_ids then answer SRP_PASSWORD_CHANGED. */
  setPassword(userId: bigint, spec: string | PasswordSpec | null): void {
    this.requireAccount(userId).password = spec === null ? null : this.makePassword(spec)
  }

  /** Freezes the account (help.getAppConfig shows it; most methods answer 420 FROZEN_METHOD_INVALID); null thaws. */
  freeze(userId: bigint, spec: FreezeSpec | null): void {
    this.requireAccount(userId).frozen = spec === null ? null : this.freezeOf(spec)
  }

  /** Rate-limits some of the account's methods (420 FLOOD_WAIT_X from their next call, for `seconds`); null lifts it. */
  floodWait(userId: bigint, spec: FloodWaitSpec | null): void {
    this.requireAccount(userId).floodWait = spec === null ? null : floodLimitOf(spec)
  }

  /** Marks the user restricted with these reasons (an empty list lifts it). */
  restrict(userId: bigint, reasons: Account['restrictionReasons']): void {
    this.requireAccount(userId).restrictionReasons = reasons.map((r) => ({ ...r }))
  }

  /** The server salts a new password of `userId` must extend (account.password.new_algo). */
  serverAlgo(userId: bigint): SrpAlgo {
    let algo = this.serverAlgos.get(userId)
    if (!algo) {
      algo = newSrpAlgo(this.random)
      this.serverAlgos.set(userId, algo)
    }
    return algo
  }

  /** After a password change Telegram hands out new salts for the next one. */
  renewServerAlgo(userId: bigint): void {
    this.serverAlgos.delete(userId)
  }

  // ---- keys and sessions ----

  /** Records a login of the key and tells its DC (ctx.authorize). */
  logIn(ctx: RpcContext, userId: bigint, hash: bigint = this.randomLong()): Session {
    const record = this.key(ctx.dcId, ctx.authKeyId)
    const session: Session = {
      dcId: ctx.dcId,
      authKeyId: ctx.authKeyId,
      userId,
      hash,
      client: ctx.client,
      createdAt: this.nowSeconds(),
    }
    record.session = session
    record.password = null
    record.pending = null
    record.client = ctx.client ?? record.client
    record.activeAt = session.createdAt
    const account = this.accounts.get(userId)
    // A seeded fate strikes the account's next login once; a later re-login is left alone.
    if (account?.keyFate) {
      record.fate = { ...account.keyFate, dueAt: session.createdAt + account.keyFate.afterSeconds }
      account.keyFate = null
    }
    ctx.authorize(userId)
    return session
  }

  /** Logs the key out (auth.logOut, account.resetAuthorization). */
  logOut(dcId: number, authKeyId: bigint): void {
    const record = this.keys.get(keyName(dcId, authKeyId))
    if (record) {
      record.session = null
      record.password = null
      record.pending = null
    }
  }

  sessionOf(dcId: number, authKeyId: bigint): Session | null {
    const record = this.keys.get(keyName(dcId, authKeyId))
    if (record) this.settleFate(record)
    return record?.session ?? null
  }

  /** Every logged-in key of `userId`, oldest first, with what each announced and when it was last active. */
  sessionsOf(userId: bigint): SessionActivity[] {
    const out: SessionActivity[] = []
    for (const r of this.keys.values()) {
      this.settleFate(r)
      if (r.session?.userId === userId && !r.duplicated && !r.revoked)
        out.push({ ...r.session, client: r.client ?? r.session.client, activeAt: r.activeAt, ip: r.ip })
    }
    return out.sort((a, b) => a.createdAt - b.createdAt)
  }

  /**
   * Ends every session of `userId` but the caller's (auth.resetAuthorizations) or one (account.resetAuthorization):
   * those keys stay known but logged out, so their next call gets 401 AUTH_KEY_UNREGISTERED.
   */
  endSessions(userId: bigint, keep: { dcId: number; authKeyId: bigint } | null): number {
    let ended = 0
    for (const s of [...this.sessionsOf(userId), ...this.pendingLoginsOf(userId)]) {
      if (keep && s.dcId === keep.dcId && s.authKeyId === keep.authKeyId) continue
      this.logOut(s.dcId, s.authKeyId)
      ended++
    }
    return ended
  }

  /** The key's request was let through: remember when, from where, and the app it announced. */
  noteActivity(dcId: number, authKeyId: bigint, info: { ip?: string; client?: RpcContext['client'] }): void {
    const record = this.keys.get(keyName(dcId, authKeyId))
    if (!record) return
    record.activeAt = this.nowSeconds()
    if (info.ip) record.ip = info.ip
    if (info.client) record.client = info.client
  }

  /** The key's 2FA login in progress (set by SESSION_PASSWORD_NEEDED). */
  passwordLogin(dcId: number, authKeyId: bigint): PasswordLogin | null {
    return this.keys.get(keyName(dcId, authKeyId))?.password ?? null
  }

  /** Whose 2FA password the key deals with: the login that hit SESSION_PASSWORD_NEEDED, else its own user. */
  passwordUserOf(ctx: RpcContext): bigint | null {
    return this.passwordLogin(ctx.dcId, ctx.authKeyId)?.userId ?? ctx.userId
  }

  setPasswordLogin(dcId: number, authKeyId: bigint, login: PasswordLogin | null): void {
    const record = this.key(dcId, authKeyId)
    record.password = login
    // A key that is not logged in waits for the password: Telegram lists it as a password_pending session.
    if (login && !record.session && record.pending?.userId !== login.userId)
      record.pending = { userId: login.userId, hash: this.randomLong(), since: this.nowSeconds() }
    if (!login) record.pending = null
  }

  /** Keys of `userId` stopped at the 2FA step (account.authorizations' password_pending entries), oldest first. */
  pendingLoginsOf(
    userId: bigint,
  ): { dcId: number; authKeyId: bigint; hash: bigint; since: number; client: RpcContext['client']; ip: string }[] {
    const out = []
    for (const [name, r] of this.keys) {
      if (r.session || r.duplicated || r.revoked || r.pending?.userId !== userId || r.password?.userId !== userId)
        continue
      const [dc, key] = name.split(':')
      out.push({
        dcId: Number(dc),
        authKeyId: BigInt(key!),
        hash: r.pending.hash,
        since: r.pending.since,
        client: r.client,
        ip: r.ip,
      })
    }
    return out.sort((a, b) => a.since - b.since)
  }

  /** Every call from the key answers 401 SESSION_REVOKED (the client must make a new key and log in again). */
  revokeSession(dcId: number, authKeyId: bigint): void {
    const record = this.key(dcId, authKeyId)
    record.revoked = true
    record.session = null
  }

  /** Every call from the key answers 406 AUTH_KEY_DUPLICATED (docs/protocol.md#login-errors-and-flows: the client must make a new key). */
  markDuplicated(dcId: number, authKeyId: bigint): void {
    this.key(dcId, authKeyId).duplicated = true
  }

  keyState(dcId: number, authKeyId: bigint): KeyState {
    const record = this.keys.get(keyName(dcId, authKeyId))
    if (record) this.settleFate(record)
    const userId = record?.session?.userId ?? null
    if (record?.duplicated)
      return { status: 'duplicated', userId, rejection: { code: 406, message: 'AUTH_KEY_DUPLICATED' } }
    if (record?.revoked) return { status: 'revoked', userId, rejection: { code: 401, message: 'SESSION_REVOKED' } }
    const deactivated = userId === null ? null : this.accounts.get(userId)?.deactivated
    if (deactivated) {
      return {
        status: 'deactivated',
        userId,
        rejection: { code: 401, message: deactivated === 'ban' ? 'USER_DEACTIVATED_BAN' : 'USER_DEACTIVATED' },
      }
    }
    return { status: userId === null ? 'unauthorized' : 'authorized', userId, rejection: null }
  }

  /** What a DC needs: login state per key and the keys to refuse. Pass it as startTestDc's `cluster`. */
  readonly cluster: Required<DcCluster> = {
    userOfKey: (dcId, authKeyId) => this.sessionOf(dcId, authKeyId)?.userId ?? null,
    keyActive: (dcId, authKeyId, info) => this.noteActivity(dcId, authKeyId, info),
    // ctx.authorize lands here; logIn has already recorded the session, so only foreign callers create one.
    bindKey: (dcId, authKeyId, userId) => {
      const record = this.key(dcId, authKeyId)
      if (record.session?.userId !== userId) {
        record.session = {
          dcId,
          authKeyId,
          userId,
          hash: this.randomLong(),
          client: record.client,
          createdAt: this.nowSeconds(),
        }
        record.activeAt = record.session.createdAt
      }
    },
    unbindKey: (dcId, authKeyId) => this.logOut(dcId, authKeyId),
    // The DC forgot the key (its key LRU was full): the authorization on it is gone, as on Telegram.
    forgetKey: (dcId, authKeyId) => {
      this.keys.delete(keyName(dcId, authKeyId))
    },
    keyRejection: (dcId, authKeyId) => this.keyState(dcId, authKeyId).rejection,
  }

  // ---- codes and tokens ----

  /** Hands a code to the onCode hook (the only place a code leaves the DC). */
  deliver(delivery: CodeDelivery): void {
    this.onCode?.(delivery)
  }

  /** Tells the exporting key that its QR token was accepted: updateShort{updateLoginToken}. */
  routeLoginTokenAccepted(token: LoginToken, userId: bigint): void {
    const update: TlValue = { _: 'updateShort', update: { _: 'updateLoginToken' }, date: this.nowSeconds() }
    if (this.updateRouter) this.updateRouter.pushToKey(token.dcId, token.authKeyId, update)
    else token.notify(update)
    this.onLoginTokenAccepted?.({ dcId: token.dcId, authKeyId: token.authKeyId, userId, update })
  }

  // ---- helpers ----

  randomLong(): bigint {
    for (;;) {
      const b = this.random(8)
      const v = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true)
      if (v !== 0n) return v // 0 means "the current session" in account.authorizations
    }
  }

  requireAccount(userId: bigint): Account {
    const account = this.accounts.get(userId)
    if (!account) throw new RangeError(`no account ${userId}`)
    return account
  }

  /** Digits of a request's phone_number, or 400 PHONE_NUMBER_INVALID. */
  requirePhone(raw: string): string {
    const phone = normalizePhone(raw)
    if (!phone) throw new RpcFailure(400, 'PHONE_NUMBER_INVALID')
    return phone
  }

  /** Parses `<botId>:<secret>` and finds the bot; null for a malformed or unknown token. */
  botByToken(token: string): Account | null {
    const m = BOT_TOKEN.exec(token)
    if (!m) return null
    const bot = this.accounts.get(BigInt(m[1]))
    return bot?.bot && bot.botToken === token ? bot : null
  }

  /** The next unused id of the kind's range (seeded accounts may have taken some). */
  private freshId(kind: 'user' | 'bot'): bigint {
    for (;;) {
      const id = kind === 'user' ? this.nextUserId++ : this.nextBotId++
      if (!this.accounts.has(id)) return id
    }
  }

  private key(dcId: number, authKeyId: bigint): KeyRecord {
    const name = keyName(dcId, authKeyId)
    let record = this.keys.get(name)
    if (!record) {
      record = {
        session: null,
        password: null,
        duplicated: false,
        revoked: false,
        client: null,
        activeAt: this.nowSeconds(),
        ip: '',
        fate: null,
        pending: null,
      }
      this.keys.set(name, record)
    }
    return record
  }

  private insert(account: Account): Account {
    if (this.accounts.has(account.id)) throw new RangeError(`account id ${account.id} already used`)
    this.accounts.set(account.id, account)
    if (account.phone) this.byPhone.set(account.phone, account)
    return account
  }

  /** Applies a due KeyFate to its key (once). */
  private settleFate(record: KeyRecord): void {
    const fate = record.fate
    if (!fate || this.nowSeconds() < fate.dueAt) return
    record.fate = null
    if (fate.state === 'duplicated') record.duplicated = true
    else if (fate.state === 'revoked') {
      record.revoked = true
      record.session = null
    } else record.session = null
  }

  private freezeOf(spec: FreezeSpec): Freeze {
    const sinceDate = spec.sinceDate ?? this.nowSeconds()
    return {
      sinceDate,
      untilDate: spec.untilDate ?? sinceDate + DEFAULT_FREEZE_DAYS * 86400,
      appealUrl: spec.appealUrl ?? DEFAULT_FREEZE_APPEAL_URL,
    }
  }

  private makePassword(spec: string | PasswordSpec): StoredPassword {
    return StoredPassword.fromPassword(typeof spec === 'string' ? { password: spec } : spec, this.random)
  }

  private checkDc(dcId: number): number {
    if (!this.dcIds.includes(dcId)) throw new RangeError(`DC ${dcId} is not in this cluster`)
    return dcId
  }

  private randomSecret(): string {
    return Buffer.from(this.random(BOT_SECRET_CHARS)).toString('base64url').slice(0, BOT_SECRET_CHARS)
  }
}

function floodLimitOf(spec: FloodWaitSpec): FloodLimit {
  const { seconds, methods } = typeof spec === 'number' ? { seconds: spec, methods: undefined } : spec
  if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('floodWait: seconds must be a whole number >= 1')
  return { seconds, methods: [...(methods ?? FLOOD_WAIT_METHODS)], untilMs: null }
}

function keyFateOf(spec: KeyFateSpec): KeyFate {
  return typeof spec === 'string'
    ? { state: spec, afterSeconds: 0 }
    : { state: spec.state, afterSeconds: spec.afterSeconds ?? 0 }
}

/** pts starts at 1 for a new account (what Telegram's getState gives one); nothing moves it on the test DC. */
function initialUpdateState(): Account['updateState'] {
  return { pts: 1, qts: 0, seq: 0 }
}

/** Keys are named per DC: auth keys live on one DC, and the DC layer identifies them the same way. */
function keyName(dcId: number, authKeyId: bigint): string {
  return `${dcId}:${authKeyId}`
}
