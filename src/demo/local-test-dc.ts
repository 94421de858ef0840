// The local test DC as gramfarm's commands run it (`gramfarm testdc`, the demo): startTestDc with an accounts
// registry seeded from a TestDcSeed, and the seed's invalid phones answered PHONE_NUMBER_INVALID (Telegram's answer
// for well-formed numbers that are not in service; the registry itself only refuses malformed ones).
import {
  AccountRegistry,
  accountsServices,
  normalizePhone,
  type AccountRegistryOptions,
} from '../testdc/accounts/index.ts'
import type { RpcHandler } from '../testdc/rpc-dispatcher.ts'
import { RpcFailure } from '../testdc/rpc-failure.ts'
import { startTestDc, type TestDc } from '../testdc/test-dc.ts'
import { endpointOf, type TestDcEndpoint } from '../testdc/testdc-endpoint.ts'
import { EMPTY_SEED, type TestDcSeed } from './testdc-seed.ts'

export interface LocalTestDcOptions {
  readonly seed?: TestDcSeed
  readonly dcIds?: number[]
  readonly host?: string
  /** Registry settings (code TTLs, FLOOD_WAIT windows, QR token lifetime…); onCode is set later by a provider. */
  readonly registry?: Omit<AccountRegistryOptions, 'dcIds'>
  /** Threads for key exchanges' arithmetic (TestDcOptions.cryptoThreads; default 0, on the DC's thread). */
  readonly cryptoThreads?: number
}

export interface LocalTestDc {
  readonly dc: TestDc
  readonly accounts: AccountRegistry
  readonly endpoint: TestDcEndpoint
  readonly seed: TestDcSeed
  stop(): Promise<void>
}

/** auth.sendCode that refuses the seed's invalid phones before the registry sees them. */
function invalidPhoneRule(registry: AccountRegistry, invalid: ReadonlySet<string>): Record<string, RpcHandler> {
  if (invalid.size === 0) return {}
  const sendCode = accountsServices(registry)['auth.sendCode']!
  return {
    'auth.sendCode': (req, ctx) => {
      const phone = normalizePhone(String((req as { phoneNumber?: unknown }).phoneNumber ?? ''))
      if (phone !== null && invalid.has(phone)) throw new RpcFailure(400, 'PHONE_NUMBER_INVALID')
      return sendCode(req, ctx)
    },
  }
}

export async function startLocalTestDc(opts: LocalTestDcOptions = {}): Promise<LocalTestDc> {
  const seed = opts.seed ?? EMPTY_SEED
  const dcIds = opts.dcIds ?? [1, 2, 3, 4, 5]
  const accounts = new AccountRegistry({ ...opts.registry, dcIds })
  const users = seed.accounts.users.map((u) => accounts.addUser(u))
  for (const b of seed.accounts.bots) accounts.addBot(b)
  // A seeded password's verifier is a PBKDF2 run on first use: do them now, off the login path.
  await Promise.all(users.map((u) => u.password?.verifier()))
  const dc = await startTestDc({
    dcIds,
    accounts,
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.cryptoThreads ? { cryptoThreads: opts.cryptoThreads } : {}),
    services: () => invalidPhoneRule(accounts, seed.invalidPhones),
  })
  return { dc, accounts, endpoint: endpointOf(dc), seed, stop: () => dc.stop() }
}
