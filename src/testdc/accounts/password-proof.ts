// Checking an SRP proof of the current 2FA password (auth.checkPassword, account.updatePasswordSettings): the srp_id
// must be this key's latest account.getPassword challenge (used once), the password unchanged since, then M1.
import type { tl } from '../../mtproto/tl/index.ts'
import { srpVerifyClient } from '../../mtproto/crypto/srp.ts'
import type { RpcContext } from '../rpc-dispatcher.ts'
import { RpcFailure } from '../rpc-failure.ts'
import type { Account } from './account.ts'
import type { AccountRegistry } from './account-registry.ts'

/** The account whose password the proof is for; RpcFailure SRP_ID_INVALID / SRP_PASSWORD_CHANGED / PASSWORD_HASH_INVALID / FLOOD_WAIT_X. */
export async function verifyPasswordProof(
  r: AccountRegistry,
  ctx: RpcContext,
  input: tl.RawInputCheckPasswordSRP,
): Promise<Account> {
  const login = r.passwordLogin(ctx.dcId, ctx.authKeyId)
  const challenge = login?.challenge
  if (!login || !challenge || challenge.srpId !== input.srpId) throw new RpcFailure(400, 'SRP_ID_INVALID')
  login.challenge = null
  const account = r.requireAccount(login.userId)
  // Same salts = same password (a confirmed recovery email makes a new StoredPassword over the same algo).
  if (account.password?.algo !== challenge.password.algo) throw new RpcFailure(400, 'SRP_PASSWORD_CHANGED')
  const floodKey = String(account.id)
  const wait = r.passwordWindow?.waitSeconds(floodKey, r.now()) ?? 0
  if (wait > 0) throw new RpcFailure(420, `FLOOD_WAIT_${wait}`)
  const verifier = await challenge.password.verifier()
  if (!srpVerifyClient(challenge.password.algo, verifier, challenge.srp, input.A, input.M1)) {
    r.passwordWindow?.record(floodKey, r.now())
    throw new RpcFailure(400, 'PASSWORD_HASH_INVALID')
  }
  return account
}
