// 2FA settings of a logged-in account (core.telegram.org/api/srp#setting-a-new-2fa-password): set a password where
// there is none, change it, or remove it, with account.getPassword → account.updatePasswordSettings. The current
// password is proven with SRP (inputCheckPasswordEmpty when none is set); the new one travels only as
// new_password_hash = g^x mod p over the server's new_algo with 32 client bytes appended to salt1.
import {
  computeSrpCheck,
  srpNewSalt1,
  srpPasswordHashAsync,
  srpVerifier,
  type SrpAlgo,
} from '../../mtproto/crypto/srp.ts'
import { checkDhParams } from '../../mtproto/crypto/dh.ts'
import { randomBytes, type RandomSource } from '../../mtproto/crypto/random.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { TlValue, tl } from '../../mtproto/tl/index.ts'
import { AuthError } from '../auth-error.ts'

/** The one KDF Telegram uses for 2FA today. */
const SRP_ALGO = 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'

/** Anything that can call the account's DC (the Client, a farm's connected client). */
export interface AccountInvoker {
  invoke<R>(request: TlValue): Promise<R>
}

export type PasswordSettingsFailure =
  | 'password_invalid' // PASSWORD_HASH_INVALID: the current password given is wrong
  | 'password_missing' // the account has a password and none was given
  | 'unsupported_algo' // the server offered a KDF this client does not implement
  | 'email_unconfirmed' // EMAIL_UNCONFIRMED_X: the password is set, the recovery email waits for its code

export class PasswordSettingsError extends AuthError {
  override readonly name = 'PasswordSettingsError'
  constructor(
    readonly reason: PasswordSettingsFailure,
    detail: string,
    cause?: unknown,
  ) {
    super(`2FA settings (${reason}): ${detail}`, cause === undefined ? undefined : { cause })
  }
}

export interface NewPassword {
  password: string
  hint?: string
  /** A recovery email; Telegram then answers EMAIL_UNCONFIRMED_X until account.confirmPasswordEmail. */
  email?: string
}

/** The current 2FA state (account.getPassword). */
export function getPasswordState(api: AccountInvoker): Promise<tl.account.RawPassword> {
  return api.invoke<tl.account.RawPassword>({ _: 'account.getPassword' })
}

function srpAlgoOf(algo: tl.TypePasswordKdfAlgo | undefined, which: string): SrpAlgo {
  if (algo?._ !== SRP_ALGO)
    throw new PasswordSettingsError('unsupported_algo', `${which} is ${algo?._ ?? 'missing'}, not ${SRP_ALGO}`)
  return { salt1: algo.salt1, salt2: algo.salt2, g: algo.g, p: algo.p }
}

/**
 * new_algo (salt1 extended by 32 random bytes) and new_password_hash (g^x mod p, 256 bytes big-endian) for
 * `password` over the server's `newAlgo`. `random` is injectable for vectors.
 */
export async function computeNewPasswordHash(
  newAlgo: tl.TypePasswordKdfAlgo,
  password: string,
  random: RandomSource = randomBytes,
): Promise<{
  newAlgo: tl.RawPasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow
  newPasswordHash: Uint8Array
}> {
  const server = srpAlgoOf(newAlgo, 'new_algo')
  try {
    checkDhParams(server.p, server.g) // a verifier over a bad group would hand the password to whoever chose it
  } catch (err) {
    throw new PasswordSettingsError('unsupported_algo', 'new_algo fails the prime checks', err)
  }
  const algo: SrpAlgo = { ...server, salt1: srpNewSalt1(server.salt1, random) }
  const x = await srpPasswordHashAsync(password, algo)
  return {
    newAlgo: { _: SRP_ALGO, salt1: algo.salt1, salt2: algo.salt2, g: algo.g, p: algo.p },
    newPasswordHash: srpVerifier(algo, x),
  }
}

/** The `password` argument proving the current password (inputCheckPasswordEmpty when the account has none). */
export async function currentPasswordCheck(
  state: tl.account.RawPassword,
  current: string | undefined,
): Promise<tl.TypeInputCheckPasswordSRP> {
  if (!state.hasPassword) return { _: 'inputCheckPasswordEmpty' }
  if (current === undefined || current === '')
    throw new PasswordSettingsError(
      'password_missing',
      'the account has a 2FA password and the current one was not given',
    )
  const algo = srpAlgoOf(state.currentAlgo, 'current_algo')
  if (!state.srpB || state.srpId === undefined)
    throw new PasswordSettingsError('unsupported_algo', 'account.password has no srp_B/srp_id')
  const check = computeSrpCheck({
    algo,
    srpB: state.srpB,
    srpId: state.srpId,
    passwordHash: await srpPasswordHashAsync(current, algo),
  })
  return { _: 'inputCheckPasswordSRP', srpId: check.srpId, A: check.A, M1: check.M1 }
}

async function update(
  api: AccountInvoker,
  password: tl.TypeInputCheckPasswordSRP,
  settings: tl.account.RawPasswordInputSettings,
): Promise<void> {
  try {
    await api.invoke<boolean>({ _: 'account.updatePasswordSettings', password, newSettings: settings })
  } catch (err) {
    if (err instanceof RpcError && err.is('PASSWORD_HASH_INVALID'))
      throw new PasswordSettingsError('password_invalid', 'the current password is wrong', err)
    if (err instanceof RpcError && /^EMAIL_UNCONFIRMED/.test(err.errorMessage))
      throw new PasswordSettingsError(
        'email_unconfirmed',
        'the password is set; the recovery email waits for its code',
        err,
      )
    throw err
  }
}

/**
 * Sets the 2FA password (`current`: the present one, if the account has one). Returns whether the account had a
 * password before. Never logs or throws either password.
 */
export async function setCloudPassword(
  api: AccountInvoker,
  next: NewPassword,
  current?: string,
  random: RandomSource = randomBytes,
): Promise<{ hadPassword: boolean }> {
  if (next.password === '')
    throw new RangeError('setCloudPassword: the new password is empty (use removeCloudPassword)')
  const state = await getPasswordState(api)
  const check = await currentPasswordCheck(state, current)
  const { newAlgo, newPasswordHash } = await computeNewPasswordHash(state.newAlgo, next.password, random)
  await update(api, check, {
    _: 'account.passwordInputSettings',
    newAlgo,
    newPasswordHash,
    hint: next.hint ?? '',
    ...(next.email !== undefined ? { email: next.email } : {}),
  })
  return { hadPassword: state.hasPassword === true }
}

/** Turns 2FA off (passwordKdfAlgoUnknown with an empty hash). */
export async function removeCloudPassword(api: AccountInvoker, current: string): Promise<void> {
  const state = await getPasswordState(api)
  if (!state.hasPassword) return
  const check = await currentPasswordCheck(state, current)
  await update(api, check, {
    _: 'account.passwordInputSettings',
    newAlgo: { _: 'passwordKdfAlgoUnknown' },
    newPasswordHash: new Uint8Array(0),
    hint: '',
  })
}
