// 2FA: account.getPassword → SRP proof (every check of docs/protocol.md#2fa-and-srp) → auth.checkPassword, retried on a wrong
// password up to a cap with a fresh srp_id each time; password recovery by email code when asked.
import { computeSrpCheck, srpPasswordHashAsync } from '../../mtproto/crypto/srp.ts'
import { RpcError } from '../../mtproto/rpc-error.ts'
import type { tl } from '../../mtproto/tl/index.ts'
import { LoginError } from '../auth-errors.ts'
import { provide, type PasswordContext, type Provider } from '../credential-provider.ts'
import type { Authorization, LoginHost } from './login-host.ts'

export interface PasswordOptions {
  password: Provider<string, PasswordContext> | undefined
  /** Asked when the password is empty and the account has a recovery email. */
  recoveryCode?: Provider<string, { emailPattern: string }>
  maxAttempts: number
  phoneNumber: string | undefined
}

/** The one KDF Telegram uses for 2FA today. */
const SRP_ALGO = 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'

export async function checkPassword(host: LoginHost, opts: PasswordOptions): Promise<Authorization> {
  let previous: PasswordContext['previous']
  for (let attempt = 1; ; attempt++) {
    const state = await host.invoke<tl.account.RawPassword>({ _: 'account.getPassword' })
    const algo = state.currentAlgo
    if (!algo || algo._ !== SRP_ALGO || !state.srpB || state.srpId === undefined) {
      throw new LoginError('password_needed', 'the account has no SRP password parameters')
    }
    const password = String(
      await provide(
        opts.password,
        { phoneNumber: opts.phoneNumber, attempt, hint: state.hint, previous },
        'password',
        `Enter password${state.hint ? ` (hint: ${state.hint})` : ''}: `,
        true,
      ),
    )
    if (password === '' && state.hasRecovery && opts.recoveryCode !== undefined) return recover(host, opts)
    if (password === '') throw new LoginError('password_needed', '2FA is on and no password was given')
    const hash = await srpPasswordHashAsync(password, algo)
    const check = computeSrpCheck({ algo, srpB: state.srpB, srpId: state.srpId, passwordHash: hash })
    try {
      return await host.invoke<Authorization>({
        _: 'auth.checkPassword',
        password: { _: 'inputCheckPasswordSRP', srpId: check.srpId, A: check.A, M1: check.M1 },
      })
    } catch (err) {
      if (err instanceof RpcError && err.is('PASSWORD_HASH_INVALID')) {
        if (attempt >= opts.maxAttempts)
          throw new LoginError('password_invalid', `wrong password ${attempt} times`, err)
        previous = 'invalid'
        continue
      }
      // SRP_ID_INVALID: the srp_id went stale; ask for fresh parameters.
      if (err instanceof RpcError && err.is('SRP_ID_INVALID') && attempt < opts.maxAttempts) continue
      throw err
    }
  }
}

async function recover(host: LoginHost, opts: PasswordOptions): Promise<Authorization> {
  const recovery = await host.invoke<tl.auth.RawPasswordRecovery>({ _: 'auth.requestPasswordRecovery' })
  const code = String(
    await provide(
      opts.recoveryCode,
      { emailPattern: recovery.emailPattern },
      'recoveryCode',
      `Recovery code sent to ${recovery.emailPattern}: `,
    ),
  )
  return host.invoke<Authorization>({ _: 'auth.recoverPassword', code })
}
