// Setting or changing an account's 2FA password with SRP (core.telegram.org/api/srp): account.getPassword gives
// the current algorithm and challenge and the salts for a new one; the current password is proven with
// inputCheckPasswordSRP (or inputCheckPasswordEmpty when there is none); the new one is sent as its verifier
// g^x mod p under new_algo with 32 random bytes appended to salt1 — never the password itself.
import { checkDhParams } from '../../mtproto/crypto/dh.ts'
import { computeSrpCheck, srpNewSalt1, srpPasswordHashAsync, srpVerifier } from '../../mtproto/crypto/srp.ts'
import type { tl, TlValue } from '../../mtproto/tl/index.ts'
import { QueueError } from '../../queue/queue-error.ts'

/** The one KDF Telegram uses for 2FA today. */
const SRP_ALGO = 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'

export type Invoke = <R>(request: TlValue) => Promise<R>

/** The account's 2FA uses an algorithm we cannot compute (or its numbers fail the checks): failed(password_algo). */
export class PasswordAlgoError extends QueueError {
  override readonly name = 'password_algo'
}

export async function passwordState(invoke: Invoke): Promise<tl.account.RawPassword> {
  return invoke<tl.account.RawPassword>({ _: 'account.getPassword' })
}

/** The proof of the current password for `state` (a fresh account.getPassword: its srp_id is single-use). */
async function currentCheck(state: tl.account.RawPassword, current: string | null): Promise<TlValue> {
  if (!state.hasPassword) return { _: 'inputCheckPasswordEmpty' }
  const algo = state.currentAlgo
  if (algo?._ !== SRP_ALGO || !state.srpB || state.srpId === undefined)
    throw new PasswordAlgoError('the account has no SRP parameters we can use')
  if (current === null) throw new PasswordAlgoError('the current password is needed')
  const check = computeSrpCheck({
    algo,
    srpB: state.srpB,
    srpId: state.srpId,
    passwordHash: await srpPasswordHashAsync(current, algo),
  })
  return { _: 'inputCheckPasswordSRP', srpId: check.srpId, A: check.A, M1: check.M1 }
}

/**
 * Sets `next` as the account's 2FA password: `current` proves the one it has (null when it has none). A wrong
 * current password fails with RpcError PASSWORD_HASH_INVALID.
 */
export async function updatePassword(
  invoke: Invoke,
  state: tl.account.RawPassword,
  current: string | null,
  next: string,
  hint?: string,
): Promise<void> {
  const newAlgo = state.newAlgo
  if (newAlgo._ !== SRP_ALGO) throw new PasswordAlgoError(`new_algo is ${newAlgo._}`)
  try {
    checkDhParams(newAlgo.p, newAlgo.g)
  } catch (err) {
    throw new PasswordAlgoError('new_algo fails the prime checks', { cause: err })
  }
  const password = await currentCheck(state, current)
  const algo = { ...newAlgo, salt1: srpNewSalt1(newAlgo.salt1) }
  const verifier = srpVerifier(algo, await srpPasswordHashAsync(next, algo))
  await invoke<boolean>({
    _: 'account.updatePasswordSettings',
    password,
    newSettings: {
      _: 'account.passwordInputSettings',
      newAlgo: algo,
      newPasswordHash: verifier,
      hint: hint ?? '',
    },
  })
}
