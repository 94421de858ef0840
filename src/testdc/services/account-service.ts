// account.* of the test DC: the 2FA state (getPassword hands out a fresh SRP challenge per call) and its settings
// (updatePasswordSettings sets, changes or removes the password; a recovery email waits for confirmPasswordEmail),
// with the errors core.telegram.org/method/account.updatePasswordSettings lists. Sessions: sessions-service.ts.
import type { tl } from '../../mtproto/tl/index.ts'
import { bytesEqual } from '../../mtproto/crypto/bytes.ts'
import { srpServerChallenge, type SrpAlgo } from '../../mtproto/crypto/srp.ts'
import type { RpcContext, RpcHandler } from '../rpc-dispatcher.ts'
import { RpcFailure, unauthorized } from '../rpc-failure.ts'
import type { Account } from '../accounts/account.ts'
import type { AccountRegistry } from '../accounts/account-registry.ts'
import { randomCode } from '../accounts/login-codes.ts'
import { verifyPasswordProof } from '../accounts/password-proof.ts'
import { toRpcHandlers, type MethodHandlers } from '../accounts/rpc-method.ts'
import { emailPattern, secureAlgoFields, StoredPassword, tlAlgo } from '../accounts/stored-password.ts'

/** What the client appends to new_algo.salt1 (core.telegram.org/api/srp: 32 random bytes). */
const CLIENT_SALT1_BYTES = 32
/** new_password_hash is g^x mod p as 256 big-endian bytes. */
const VERIFIER_BYTES = 256
/** Digits of the code sent to confirm a recovery email (the X of EMAIL_UNCONFIRMED_X). */
const EMAIL_CODE_LENGTH = 6
const SRP_ALGO = 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'

const fail = (code: number, message: string): RpcFailure => new RpcFailure(code, message)

export function accountService(registry: AccountRegistry): Record<string, RpcHandler> {
  const r = registry
  const handlers: MethodHandlers = {
    // Online/offline status: the test DC keeps none, but the call must succeed for a logged-in key.
    'account.updateStatus': (_req, ctx) => {
      if (ctx.userId === null) throw unauthorized()
      return true
    },
    'account.getPassword': async (_req, ctx) => {
      const userId = r.passwordUserOf(ctx)
      if (userId === null) throw unauthorized()
      const account = r.requireAccount(userId)
      // new_algo: the salts a client must use to set a new password (it appends its own 32 bytes to salt1).
      const base = {
        _: 'account.password' as const,
        newAlgo: tlAlgo(r.serverAlgo(userId)),
        ...secureAlgoFields(r.random),
        ...(account.pendingEmail ? { emailUnconfirmedPattern: emailPattern(account.pendingEmail.email) } : {}),
      }
      const password = account.password
      if (!password) return base
      const srp = srpServerChallenge(password.algo, await password.verifier(), undefined, r.random)
      const srpId = r.randomLong()
      // Remembered per key; a later getPassword replaces it, so only the newest srp_id is accepted.
      r.setPasswordLogin(ctx.dcId, ctx.authKeyId, { userId, challenge: { srpId, srp, password } })
      return {
        ...base,
        hasPassword: true,
        hasRecovery: password.recoveryEmail !== null,
        currentAlgo: password.toTl(),
        srpB: srp.gB,
        srpId,
        ...(password.hint ? { hint: password.hint } : {}),
      }
    },
    'account.updatePasswordSettings': async (req, ctx) => {
      const account = await proveCurrentPassword(r, ctx, req.password)
      updatePassword(r, ctx, account, req.newSettings)
      return true
    },
    'account.confirmPasswordEmail': (req, ctx) => {
      const account = loggedIn(r, ctx)
      const pending = account.pendingEmail
      if (!pending || !account.password) throw fail(400, 'EMAIL_HASH_EXPIRED')
      if (req.code !== pending.code) throw fail(400, 'CODE_INVALID')
      account.pendingEmail = null
      account.password = account.password.withRecoveryEmail(pending.email)
      return true
    },
    'account.resendPasswordEmail': (_req, ctx) => {
      const account = loggedIn(r, ctx)
      if (!account.pendingEmail) throw fail(400, 'EMAIL_HASH_EXPIRED')
      sendEmailCode(r, ctx, account)
      return true
    },
    'account.cancelPasswordEmail': (_req, ctx) => {
      loggedIn(r, ctx).pendingEmail = null
      return true
    },
  }
  return toRpcHandlers(handlers)
}

/** The caller's account; bots have no 2FA (BOT_METHOD_INVALID, as for every user-only method). */
function loggedIn(r: AccountRegistry, ctx: RpcContext): Account {
  if (ctx.userId === null) throw unauthorized()
  const account = r.requireAccount(ctx.userId)
  if (account.bot) throw fail(400, 'BOT_METHOD_INVALID')
  return account
}

/** The `password` argument: inputCheckPasswordEmpty when none is set, else an SRP proof of the current one. */
async function proveCurrentPassword(
  r: AccountRegistry,
  ctx: RpcContext,
  input: tl.TypeInputCheckPasswordSRP,
): Promise<Account> {
  const account = loggedIn(r, ctx)
  if (!account.password) {
    if (input._ !== 'inputCheckPasswordEmpty') throw fail(400, 'PASSWORD_HASH_INVALID')
    return account
  }
  if (input._ !== 'inputCheckPasswordSRP') throw fail(400, 'PASSWORD_HASH_INVALID')
  const proven = await verifyPasswordProof(r, ctx, input)
  // The challenge was handed out for this key's own user (getPassword on a logged-in key).
  if (proven.id !== account.id) throw fail(400, 'SRP_ID_INVALID')
  return account
}

function updatePassword(
  r: AccountRegistry,
  ctx: RpcContext,
  account: Account,
  settings: tl.account.TypePasswordInputSettings,
): void {
  const algo = settings.newAlgo
  const hash = settings.newPasswordHash
  if (algo === undefined && hash === undefined) {
    // Only the recovery email (flags.1) changes.
    if (settings.email === undefined || !account.password) throw fail(400, 'NEW_SETTINGS_INVALID')
    setEmail(r, ctx, account, settings.email)
    return
  }
  // passwordKdfAlgoUnknown with an empty hash removes the password (core.telegram.org/api/srp).
  if (algo?._ === 'passwordKdfAlgoUnknown' || !hash?.length) {
    if (hash?.length || (algo !== undefined && algo._ !== 'passwordKdfAlgoUnknown'))
      throw fail(400, 'NEW_SETTINGS_INVALID')
    account.password = null
    account.pendingEmail = null
    r.renewServerAlgo(account.id)
    return
  }
  if (algo?._ !== SRP_ALGO) throw fail(400, 'NEW_SETTINGS_INVALID')
  const server = r.serverAlgo(account.id)
  const newAlgo: SrpAlgo = { salt1: algo.salt1, salt2: algo.salt2, g: algo.g, p: algo.p }
  if (!extendsServerSalts(newAlgo, server)) throw fail(400, 'NEW_SALT_INVALID')
  if (newAlgo.g !== server.g || !bytesEqual(newAlgo.p, server.p) || !validVerifier(hash, server.p))
    throw fail(400, 'NEW_SETTINGS_INVALID')
  // A changed password keeps a confirmed recovery email unless the settings name another.
  const keptEmail = account.password?.recoveryEmail ?? null
  account.password = StoredPassword.fromVerifier(newAlgo, hash, settings.hint || null, keptEmail)
  r.renewServerAlgo(account.id)
  if (settings.email !== undefined) setEmail(r, ctx, account, settings.email)
}

/** salt1 = the server's salt1 + 32 client bytes, salt2 the server's. */
function extendsServerSalts(algo: SrpAlgo, server: SrpAlgo): boolean {
  return (
    algo.salt1.length === server.salt1.length + CLIENT_SALT1_BYTES &&
    bytesEqual(algo.salt1.subarray(0, server.salt1.length), server.salt1) &&
    bytesEqual(algo.salt2, server.salt2)
  )
}

/** A verifier g^x mod p: 256 bytes, 1 < v < p. */
function validVerifier(v: Uint8Array, p: Uint8Array): boolean {
  if (v.length !== VERIFIER_BYTES) return false
  const value = BigInt('0x' + Buffer.from(v).toString('hex'))
  return value > 1n && value < BigInt('0x' + Buffer.from(p).toString('hex'))
}

/** A new recovery email must be confirmed: the code goes out and the call answers 400 EMAIL_UNCONFIRMED_X. */
function setEmail(r: AccountRegistry, ctx: RpcContext, account: Account, email: string): void {
  if (email === '') {
    account.pendingEmail = null
    if (account.password) account.password = account.password.withRecoveryEmail(null)
    return
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw fail(400, 'EMAIL_INVALID')
  account.pendingEmail = { email, code: randomCode(EMAIL_CODE_LENGTH, r.random) }
  sendEmailCode(r, ctx, account)
  throw fail(400, `EMAIL_UNCONFIRMED_${EMAIL_CODE_LENGTH}`)
}

function sendEmailCode(r: AccountRegistry, ctx: RpcContext, account: Account): void {
  const pending = account.pendingEmail!
  r.deliver({ phone: account.phone ?? '', code: pending.code, type: 'email', phoneCodeHash: null, dcId: ctx.dcId })
}
