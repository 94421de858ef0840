// auth.* of the test DC: phone login (sendCode → signIn/signUp), 2FA (checkPassword, recovery), bots, cross-DC
// authorization transfer and QR login, with the errors Telegram gives (docs/protocol.md#login-errors-and-flows). State lives in the
// AccountRegistry shared by every DC of the cluster; where Telegram's behaviour is unknown, comments say what
// was chosen.
import type { tl } from '../../mtproto/tl/index.ts'
import { bytesEqual } from '../../mtproto/crypto/bytes.ts'
import type { SrpAlgo } from '../../mtproto/crypto/srp.ts'
import type { RpcContext, RpcHandler } from '../rpc-dispatcher.ts'
import { RpcFailure, unauthorized } from '../rpc-failure.ts'
import type { Account } from '../accounts/account.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import { DEFAULT_CODE_KINDS, randomCode, toSentCode, type PendingCode } from '../accounts/login-codes.ts'
import type { LoginToken } from '../accounts/login-tokens.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'
import { emailPattern, StoredPassword } from '../accounts/stored-password.ts'
import { verifyPasswordProof } from '../accounts/password-proof.ts'
import { authorizationResult, toTlAuthorization } from '../accounts/tl-authorization.ts'

/** Layer that introduced auth.authorizationSignUpRequired; older clients get PHONE_NUMBER_UNOCCUPIED from signIn. */
const SIGN_UP_REQUIRED_LAYER = 104
/** Telegram's limit on first and last names. */
const MAX_NAME_LENGTH = 64
/** Random bytes behind a phone_code_hash (Telegram's are ~18 hex characters). */
const PHONE_CODE_HASH_BYTES = 9
/** Recovery codes sent by email have 6 digits. */
const RECOVERY_CODE_LENGTH = 6
/** How long a recovery code works (invented: Telegram does not say). */
const RECOVERY_TTL_SECONDS = 3600
/** Size of auth.exportedAuthorization.bytes (invented; opaque to clients). */
const EXPORTED_AUTH_BYTES = 128
/** How long an exported authorization can be imported (invented; clients import it at once). */
const EXPORTED_AUTH_TTL_SECONDS = 300
/** QR token size (tdlib shows Telegram's as 32 bytes). */
const LOGIN_TOKEN_BYTES = 32
/** Expired QR tokens still answer AUTH_TOKEN_EXPIRED (rather than INVALID) for this long. */
const LOGIN_TOKEN_GRACE_SECONDS = 600

const fail = (code: number, message: string): RpcFailure => new RpcFailure(code, message)

export function authService(registry: AccountRegistry): Record<string, RpcHandler> {
  const r = registry
  const handlers: MethodHandlers = {
    'auth.sendCode': (req, ctx) => sendCode(r, req.phoneNumber, ctx),
    'auth.resendCode': (req) => {
      const pending = liveCode(r, req.phoneNumber, req.phoneCodeHash)
      // Past the last delivery type Telegram answers SEND_CODE_UNAVAILABLE (406).
      if (pending.kindIndex + 1 >= pending.kinds.length) throw fail(406, 'SEND_CODE_UNAVAILABLE')
      pending.kindIndex++
      pending.expiresAt = r.nowSeconds() + r.codeTtlSeconds
      deliver(r, pending)
      return toSentCode(pending, r.resendTimeoutSeconds)
    },
    'auth.cancelCode': (req) => {
      const pending = liveCode(r, req.phoneNumber, req.phoneCodeHash)
      r.codes.delete(pending.phone)
      return true
    },
    'auth.signIn': (req, ctx) => signIn(r, req, ctx),
    'auth.signUp': (req, ctx) => signUp(r, req, ctx),
    'auth.logOut': (_req, ctx) => {
      r.logOut(ctx.dcId, ctx.authKeyId)
      ctx.deauthorize()
      return { _: 'auth.loggedOut' }
    },
    'auth.checkPassword': (req, ctx) => checkPassword(r, req.password, ctx),
    'auth.requestPasswordRecovery': (_req, ctx) => {
      const account = passwordAccount(r, ctx)
      if (!account.password) throw fail(400, 'PASSWORD_EMPTY')
      const email = account.password.recoveryEmail
      if (!email) throw fail(400, 'PASSWORD_RECOVERY_NA')
      const code = randomCode(RECOVERY_CODE_LENGTH, r.random)
      account.recovery = { code, expiresAt: r.nowSeconds() + RECOVERY_TTL_SECONDS }
      r.deliver({ phone: account.phone ?? '', code, type: 'email', phoneCodeHash: null, dcId: ctx.dcId })
      return { _: 'auth.passwordRecovery', emailPattern: emailPattern(email) }
    },
    'auth.checkRecoveryPassword': (req, ctx) => {
      checkRecoveryCode(r, passwordAccount(r, ctx), req.code)
      return true
    },
    'auth.recoverPassword': (req, ctx) => {
      const account = passwordAccount(r, ctx)
      checkRecoveryCode(r, account, req.code)
      account.recovery = null
      account.password = passwordFromSettings(req.newSettings)
      return authorize(r, ctx, account)
    },
    'auth.importBotAuthorization': (req, ctx) => {
      const bot = r.botByToken(req.botAuthToken)
      if (!bot) throw fail(400, 'ACCESS_TOKEN_INVALID')
      if (bot.homeDc !== ctx.dcId) throw fail(303, `USER_MIGRATE_${bot.homeDc}`)
      return completeLogin(r, ctx, bot)
    },
    'auth.exportAuthorization': (req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      // Exporting to the DC one is on is refused too (the client needs no transfer there).
      if (!r.dcIds.includes(req.dcId) || req.dcId === ctx.dcId) throw fail(400, 'DC_ID_INVALID')
      const id = r.randomLong()
      const bytes = r.random(EXPORTED_AUTH_BYTES)
      r.exportedAuthorizations.set(id, {
        userId: ctx.userId,
        targetDc: req.dcId,
        bytes,
        expiresAt: r.nowSeconds() + EXPORTED_AUTH_TTL_SECONDS,
      })
      return { _: 'auth.exportedAuthorization', id, bytes }
    },
    'auth.importAuthorization': (req, ctx) => {
      const grant = r.exportedAuthorizations.get(req.id)
      if (
        !grant ||
        grant.targetDc !== ctx.dcId ||
        grant.expiresAt <= r.nowSeconds() ||
        !bytesEqual(grant.bytes, req.bytes)
      ) {
        throw fail(400, 'AUTH_BYTES_INVALID')
      }
      r.exportedAuthorizations.delete(req.id) // one import per export
      return completeLogin(r, ctx, r.requireAccount(grant.userId))
    },
    'auth.exportLoginToken': (req, ctx) => exportLoginToken(r, req.exceptIds, ctx),
    'auth.importLoginToken': (req, ctx) => {
      const token = r.loginTokens.get(req.token)
      if (!token) throw fail(400, 'AUTH_TOKEN_INVALID')
      if (token.consumed) throw fail(400, 'AUTH_TOKEN_ALREADY_ACCEPTED')
      if (token.expiresAt <= r.nowSeconds()) throw fail(400, 'AUTH_TOKEN_EXPIRED')
      // Only an accepted token can be imported: importLoginToken exists for loginTokenMigrateTo.
      if (token.acceptedBy === null) throw fail(400, 'AUTH_TOKEN_INVALID')
      return finishQrLogin(r, ctx, token)
    },
    'auth.acceptLoginToken': (req, ctx) => acceptLoginToken(r, req.token, ctx),
  }
  return toRpcHandlers(handlers)
}

// ---- phone codes ----

function sendCode(r: AccountRegistry, rawPhone: string, ctx: RpcContext): tl.auth.RawSentCode {
  const phone = r.requirePhone(rawPhone)
  if (r.isPhoneBanned(phone)) throw fail(400, 'PHONE_NUMBER_BANNED')
  const account = r.accountOfPhone(phone)
  const homeDc = account?.homeDc ?? r.signUpDc ?? ctx.dcId
  if (homeDc !== ctx.dcId) throw fail(303, `PHONE_MIGRATE_${homeDc}`)
  if (r.sendCodeWindow) {
    const wait = r.sendCodeWindow.waitSeconds(phone, r.now())
    if (wait > 0) throw fail(420, `FLOOD_WAIT_${wait}`)
    r.sendCodeWindow.record(phone, r.now())
  }
  const pending: PendingCode = {
    phone,
    hash: Buffer.from(r.random(PHONE_CODE_HASH_BYTES)).toString('hex'),
    code: account?.fixedCode ?? randomCode(r.codeLength, r.random),
    kinds: account?.codeKinds.length ? account.codeKinds : DEFAULT_CODE_KINDS,
    kindIndex: 0,
    expiresAt: r.nowSeconds() + r.codeTtlSeconds,
    dcId: ctx.dcId,
    verified: false,
  }
  r.codes.set(phone, pending) // the previous hash of this phone stops working
  deliver(r, pending)
  return toSentCode(pending, r.resendTimeoutSeconds)
}

function deliver(r: AccountRegistry, pending: PendingCode): void {
  r.deliver({
    phone: pending.phone,
    code: pending.code,
    type: pending.kinds[pending.kindIndex],
    phoneCodeHash: pending.hash,
    dcId: pending.dcId,
  })
}

/**
 * The phone's current code if `hash` names it and it has not expired. A superseded, cancelled or unknown hash
 * answers PHONE_CODE_EXPIRED, the error Telegram lists for signIn/resendCode/cancelCode on a dead code.
 */
function liveCode(r: AccountRegistry, rawPhone: string, hash: string): PendingCode {
  if (!hash) throw fail(400, 'PHONE_CODE_HASH_EMPTY')
  const phone = r.requirePhone(rawPhone)
  const pending = r.codes.get(phone)
  if (!pending || pending.hash !== hash) throw fail(400, 'PHONE_CODE_EXPIRED')
  if (pending.expiresAt <= r.nowSeconds()) {
    r.codes.delete(phone)
    throw fail(400, 'PHONE_CODE_EXPIRED')
  }
  return pending
}

function signIn(r: AccountRegistry, req: tl.auth.RawSignInRequest, ctx: RpcContext): tl.auth.TypeAuthorization {
  if (!req.phoneCodeHash) throw fail(400, 'PHONE_CODE_HASH_EMPTY')
  r.requirePhone(req.phoneNumber)
  // Email verification (signIn.email_verification) is not offered by the test DC: a code is required.
  if (!req.phoneCode) throw fail(400, 'PHONE_CODE_EMPTY')
  const pending = liveCode(r, req.phoneNumber, req.phoneCodeHash)
  if (pending.dcId !== ctx.dcId) throw fail(303, `PHONE_MIGRATE_${pending.dcId}`)
  if (req.phoneCode !== pending.code) throw fail(400, 'PHONE_CODE_INVALID')
  const account = r.userByPhone(pending.phone)
  if (!account || !account.registered) {
    pending.verified = true // auth.signUp may now use this hash
    if (ctx.layer !== null && ctx.layer < SIGN_UP_REQUIRED_LAYER) throw fail(400, 'PHONE_NUMBER_UNOCCUPIED')
    const tos = r.termsOfService
    return {
      _: 'auth.authorizationSignUpRequired',
      termsOfService: {
        _: 'help.termsOfService',
        id: { _: 'dataJSON', data: JSON.stringify(tos.id) },
        text: tos.text,
        entities: [],
      },
    }
  }
  r.codes.delete(pending.phone)
  return completeLogin(r, ctx, account)
}

function signUp(r: AccountRegistry, req: tl.auth.RawSignUpRequest, ctx: RpcContext): tl.auth.RawAuthorization {
  const pending = liveCode(r, req.phoneNumber, req.phoneCodeHash)
  // The code is checked by signIn; signUp without that step is refused (invented: Telegram's exact error is unknown).
  if (!pending.verified) throw fail(400, 'PHONE_CODE_INVALID')
  if (r.userByPhone(pending.phone)?.registered) throw fail(400, 'PHONE_NUMBER_OCCUPIED')
  const firstName = req.firstName.trim()
  const lastName = req.lastName.trim()
  if (!firstName || firstName.length > MAX_NAME_LENGTH) throw fail(400, 'FIRSTNAME_INVALID')
  if (lastName.length > MAX_NAME_LENGTH) throw fail(400, 'LASTNAME_INVALID')
  r.codes.delete(pending.phone)
  return authorize(r, ctx, r.register(pending.phone, pending.dcId, firstName, lastName))
}

// ---- logging in ----

/** The last step of every login: refuse taken-down accounts, ask for the 2FA password, or log the key in. */
function completeLogin(r: AccountRegistry, ctx: RpcContext, account: Account, hash?: bigint): tl.auth.RawAuthorization {
  if (account.deactivated) throw fail(401, account.deactivated === 'ban' ? 'USER_DEACTIVATED_BAN' : 'USER_DEACTIVATED')
  if (account.password) {
    // The key is not logged in yet: account.getPassword + auth.checkPassword finish the login.
    r.setPasswordLogin(ctx.dcId, ctx.authKeyId, { userId: account.id, challenge: null })
    throw fail(401, 'SESSION_PASSWORD_NEEDED')
  }
  return authorize(r, ctx, account, hash)
}

function authorize(r: AccountRegistry, ctx: RpcContext, account: Account, hash?: bigint): tl.auth.RawAuthorization {
  r.logIn(ctx, account.id, hash)
  return authorizationResult(account, r.nowSeconds())
}

// ---- 2FA ----

/** The account whose password this key deals with; 401 when there is none (no login, no 2FA step). */
function passwordAccount(r: AccountRegistry, ctx: RpcContext): Account {
  const userId = r.passwordUserOf(ctx)
  if (userId === null) throw unauthorized()
  return r.requireAccount(userId)
}

async function checkPassword(
  r: AccountRegistry,
  input: tl.TypeInputCheckPasswordSRP,
  ctx: RpcContext,
): Promise<tl.auth.RawAuthorization> {
  if (input._ !== 'inputCheckPasswordSRP') throw fail(400, 'PASSWORD_HASH_INVALID')
  // Only the srp_id of this key's latest account.getPassword is valid, and only once.
  const account = await verifyPasswordProof(r, ctx, input)
  if (account.deactivated) throw fail(401, account.deactivated === 'ban' ? 'USER_DEACTIVATED_BAN' : 'USER_DEACTIVATED')
  return authorize(r, ctx, account)
}

function checkRecoveryCode(r: AccountRegistry, account: Account, code: string): void {
  if (!account.recovery) throw fail(400, 'PASSWORD_RECOVERY_NA')
  if (account.recovery.expiresAt <= r.nowSeconds()) throw fail(400, 'PASSWORD_RECOVERY_EXPIRED')
  if (!code) throw fail(400, 'CODE_EMPTY')
  if (code !== account.recovery.code) throw fail(400, 'CODE_INVALID')
}

/** recoverPassword.new_settings as the account's new password; none (or no hash) turns 2FA off. */
function passwordFromSettings(settings: tl.account.TypePasswordInputSettings | undefined): StoredPassword | null {
  if (!settings?.newPasswordHash?.length) return null
  const algo = settings.newAlgo
  if (algo?._ !== 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow')
    throw fail(400, 'NEW_SETTINGS_INVALID')
  const srpAlgo: SrpAlgo = { salt1: algo.salt1, salt2: algo.salt2, g: algo.g, p: algo.p }
  return StoredPassword.fromVerifier(srpAlgo, settings.newPasswordHash, settings.hint ?? null, settings.email ?? null)
}

// ---- QR login ----

function exportLoginToken(r: AccountRegistry, exceptIds: bigint[], ctx: RpcContext): tl.auth.TypeLoginToken {
  r.loginTokens.sweep(r.nowSeconds() - LOGIN_TOKEN_GRACE_SECONDS)
  const accepted = r.loginTokens.acceptedFor(ctx.dcId, ctx.authKeyId)
  if (accepted) return finishQrLogin(r, ctx, accepted)
  // Each call makes a new token; earlier ones of the key stay valid until they expire (the QR may be on screen).
  const token = r.random(LOGIN_TOKEN_BYTES)
  const expiresAt = r.nowSeconds() + r.loginTokenTtlSeconds
  r.loginTokens.add({
    token,
    dcId: ctx.dcId,
    authKeyId: ctx.authKeyId,
    exceptIds: [...exceptIds],
    client: ctx.client,
    notify: (update) => ctx.pushUpdate(update),
    expiresAt,
    acceptedBy: null,
    consumed: false,
    sessionHash: r.randomLong(),
  })
  return { _: 'auth.loginToken', expires: expiresAt, token }
}

/** An accepted token becomes a login here, or is sent on to the accepting user's home DC. */
function finishQrLogin(r: AccountRegistry, ctx: RpcContext, token: LoginToken): tl.auth.TypeLoginToken {
  const account = r.requireAccount(token.acceptedBy ?? 0n)
  if (account.homeDc !== ctx.dcId) return { _: 'auth.loginTokenMigrateTo', dcId: account.homeDc, token: token.token }
  token.consumed = true
  // SESSION_PASSWORD_NEEDED may come from here, as from exportLoginToken/importLoginToken in Telegram.
  const authorization = completeLogin(r, ctx, account, token.sessionHash)
  return { _: 'auth.loginTokenSuccess', authorization }
}

function acceptLoginToken(r: AccountRegistry, raw: Uint8Array, ctx: RpcContext): tl.RawAuthorization {
  if (ctx.userId === null) throw unauthorized()
  const token = r.loginTokens.get(raw)
  if (!token) throw fail(400, 'AUTH_TOKEN_INVALID')
  if (token.acceptedBy !== null || token.consumed) throw fail(400, 'AUTH_TOKEN_ALREADY_ACCEPTED')
  if (token.expiresAt <= r.nowSeconds()) throw fail(400, 'AUTH_TOKEN_EXPIRED')
  if (r.user(ctx.userId)?.bot) throw fail(400, 'BOT_METHOD_INVALID')
  // except_ids: the exporting app already has this user logged in. Invented behaviour (Telegram documents only
  // the intent): the scan is refused with AUTH_TOKEN_INVALID, no update is sent, and the token stays open for
  // another user.
  if (token.exceptIds.includes(ctx.userId)) throw fail(400, 'AUTH_TOKEN_INVALID')
  token.acceptedBy = ctx.userId
  // A fresh window from acceptance, so the exporter's re-export (or import on another DC) still finds it.
  token.expiresAt = r.nowSeconds() + r.loginTokenTtlSeconds
  r.routeLoginTokenAccepted(token, ctx.userId)
  return toTlAuthorization(
    { hash: token.sessionHash, client: token.client, createdAt: r.nowSeconds() },
    false,
    r.nowSeconds(),
  )
}
