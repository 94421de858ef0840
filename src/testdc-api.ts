// `gramfarm/testdc`: a local Telegram-compatible test DC for your tests and development. `startTestDc()` runs DCs on
// loopback ports the OS picks, with the accounts API on: sendCode/signIn/signUp, 2FA, bots, QR logins, and Telegram's
// test-number rule (99966XYYYY gets code X×5 on DC X), so a Client logs in to it without any setup:
//   const dc = await startTestDc()
//   const client = new Client('me', { apiId, apiHash, inMemory: true, ...dc.clientOptions, phoneNumber: '+9996621234', phoneCode: '22222' })
import { AccountRegistry, type AccountRegistryOptions } from './testdc/accounts/index.ts'
import { startTestDc as startCluster, type TestDc, type TestDcOptions } from './testdc/test-dc.ts'
import { clientOptionsFor, endpointOf, type TestDcClientOptions } from './testdc/testdc-endpoint.ts'

export interface StartTestDcOptions extends Omit<TestDcOptions, 'accounts' | 'cluster' | 'services'> {
  /** The accounts: a registry you made (to add users, bots, passwords, bans first), or options for a fresh one. */
  accounts?: AccountRegistry | AccountRegistryOptions
}

export interface TestDcWithAccounts extends TestDc {
  /** Its users, bots, sessions and login codes (`onCode` hears every code it "sends"). */
  readonly accounts: AccountRegistry
  /** Spread into `new Client(name, { apiId, apiHash, ...dc.clientOptions })`: test mode, these DCs, this DC's RSA key. */
  readonly clientOptions: TestDcClientOptions
}

/** Starts a test DC cluster (DCs 1–5 unless `dcIds` says otherwise) with its accounts API. Stop it with `stop()`. */
export async function startTestDc(opts: StartTestDcOptions = {}): Promise<TestDcWithAccounts> {
  const given = opts.accounts
  const accounts =
    given instanceof AccountRegistry
      ? given
      : new AccountRegistry({ ...(opts.dcIds ? { dcIds: opts.dcIds } : {}), ...given })
  const dc = await startCluster({ ...opts, accounts })
  return Object.assign(dc, { accounts, clientOptions: clientOptionsFor(endpointOf(dc)) })
}

export { AccountRegistry, type AccountRegistryOptions } from './testdc/accounts/index.ts'
export {
  TestDcAccountsError,
  parseAccountsFile,
  type AccountsFile,
  type BotSpec,
  type UserSpec,
  type Account,
  type Deactivation,
  type CodeDelivery,
  type CodeKind,
  type PasswordSpec,
  type RateLimit,
} from './testdc/accounts/index.ts'
export type { TestDc, TestDcOptions } from './testdc/test-dc.ts'
export type { DcFaults } from './testdc/dc-server.ts'
export type { DcEndpoint } from './testdc/services/help-service.ts'
export {
  testDcFromEnv,
  clientOptionsFor,
  endpointOf,
  readTestDcEndpoint,
  writeTestDcEndpoint,
  type TestDcEndpoint,
  type TestDcClientOptions,
} from './testdc/testdc-endpoint.ts'
