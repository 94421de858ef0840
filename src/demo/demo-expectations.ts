// What each demo account should end as, from how the test DC was seeded: the demo checks its own outcome, so
// `npm start` says whether the farm did the right thing for every account, not just that it ran.
import type { AccountSpec } from '../farm/accounts-file.ts'
import type { AccountResult } from '../farm/coordinator.ts'
import type { TestDcSeed } from './testdc-seed.ts'

export function expectedState(spec: AccountSpec, seed: TestDcSeed): string {
  if (spec.kind === 'qr') return 'authorized'
  if (spec.kind === 'bot') {
    const known = seed.accounts.bots.some((b) => b.token === spec.token)
    return known ? 'authorized' : 'failed(token_invalid)'
  }
  const phone = spec.phone
  if (seed.invalidPhones.has(phone)) return 'phone_invalid'
  const user = seed.accounts.users.find((u) => u.phone.replace(/\D/g, '') === phone)
  if (user?.banned || user?.deactivated === 'ban') return 'banned'
  if (seed.droppedCodes.has(phone)) return 'code_timeout'
  if (user?.registered === false) return 'unregistered'
  if (user?.password !== undefined) {
    const real = typeof user.password === 'string' ? user.password : user.password.password
    if (spec.password !== undefined) return spec.password === real ? 'authorized' : 'password_invalid'
    return seed.providerPasswords.has(phone) ? 'authorized' : 'needs_password'
  }
  return 'authorized'
}

export interface Mismatch {
  readonly account: string
  readonly expected: string
  readonly got: string
}

/** Accounts whose final state is not the one the seed implies (`specs` and `results` in the same order). */
export function mismatches(
  specs: readonly AccountSpec[],
  results: readonly AccountResult[],
  seed: TestDcSeed,
): Mismatch[] {
  const out: Mismatch[] = []
  specs.forEach((spec, i) => {
    const got = results[i]?.state ?? 'missing'
    const expected = expectedState(spec, seed)
    if (got !== expected) out.push({ account: results[i]?.account ?? '?', expected, got })
  })
  return out
}
