// Typed outcomes of a login and of an account's state: a farm sorts accounts by these, never by strings.
import { AuthError } from './auth-error.ts'

export type LoginFailure =
  | 'phone_invalid' // PHONE_NUMBER_INVALID
  | 'phone_banned' // PHONE_NUMBER_BANNED
  | 'code_invalid' // PHONE_CODE_INVALID after the last attempt
  | 'code_expired' // PHONE_CODE_EXPIRED with no way to resend
  | 'code_unavailable' // SEND_CODE_UNAVAILABLE: every channel used
  | 'password_invalid' // PASSWORD_HASH_INVALID after the last attempt
  | 'password_needed' // 2FA is on and no password was given
  | 'token_invalid' // ACCESS_TOKEN_INVALID / ACCESS_TOKEN_EXPIRED
  | 'signup_needed' // the phone has no account and sign-up was not allowed
  | 'qr_expired' // QR login gave up waiting for a scan
  | 'already_authorized' // QR: the scanning user is in except_ids

export class LoginError extends AuthError {
  override readonly name = 'LoginError'
  constructor(
    readonly reason: LoginFailure,
    detail: string,
    cause?: unknown,
  ) {
    super(`login failed (${reason}): ${detail}`, cause === undefined ? undefined : { cause })
  }
}

export type AccountState =
  | 'unauthorized' // 401 AUTH_KEY_UNREGISTERED: the session was logged out or never logged in
  | 'revoked' // 401 SESSION_REVOKED: terminated from another device
  | 'expired' // 401 SESSION_EXPIRED
  | 'deactivated' // 401 USER_DEACTIVATED
  | 'banned' // 401 USER_DEACTIVATED_BAN
  | 'duplicated' // 406 AUTH_KEY_DUPLICATED: the key was used from two places at once

const STATE_BY_MESSAGE: Record<string, AccountState> = {
  AUTH_KEY_UNREGISTERED: 'unauthorized',
  AUTH_KEY_INVALID: 'unauthorized',
  AUTH_KEY_PERM_EMPTY: 'unauthorized',
  SESSION_REVOKED: 'revoked',
  SESSION_EXPIRED: 'expired',
  USER_DEACTIVATED: 'deactivated',
  USER_DEACTIVATED_BAN: 'banned',
  AUTH_KEY_DUPLICATED: 'duplicated',
}

/** The session is no longer usable; `state` says why. The stored session is kept unless the caller drops it. */
export class AccountStateError extends AuthError {
  override readonly name = 'AccountStateError'
  constructor(
    readonly state: AccountState,
    readonly code: number,
    readonly errorMessage: string,
  ) {
    super(`account is ${state} (${code} ${errorMessage})`)
  }

  static fromRpc(code: number, message: string): AccountStateError | null {
    if (code !== 401 && code !== 406) return null
    const state = STATE_BY_MESSAGE[message]
    return state ? new AccountStateError(state, code, message) : null
  }
}

/** A credential was needed but none was given and there is no terminal to ask on. */
export class MissingCredentialError extends AuthError {
  override readonly name = 'MissingCredentialError'
  constructor(readonly credential: 'phoneNumber' | 'phoneCode' | 'password' | 'firstName' | 'recoveryCode') {
    super(
      `${credential} is needed: pass it (a value or an async callback) in the Client options; stdin is not a terminal, so there is nothing to prompt on`,
    )
  }
}
