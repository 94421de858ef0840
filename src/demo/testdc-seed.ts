// The seed of a local test DC as `gramfarm testdc --accounts <file>` and the demo read it: the test DC's own
// accounts-file shape (users and bots, see src/testdc/accounts/accounts-file.ts) plus what a simulated world around
// it needs:
//   users[].passwordViaProvider  the account's owner hands its 2FA password to the code provider when asked
//   users[].dropCode             the SMS never reaches the provider (the login ends in code_timeout)
//   invalidPhones                well-formed numbers Telegram answers PHONE_NUMBER_INVALID for
//   qrDevices                    accounts logged in on a "phone" that scan the farm's QR codes: [{ phone, code? }]
//                                (code: the test-number rule's when absent)
import { readFile } from 'node:fs/promises'
import { TestDcAccountsError, parseAccountsFile, type AccountsFile } from '../testdc/accounts/index.ts'
import { normalizePhone, testNumberOf } from '../testdc/accounts/index.ts'
import { FarmError } from '../farm/farm-error.ts'

export interface TestDcSeed {
  readonly accounts: AccountsFile
  /** Phone → 2FA password the simulated owner gives the provider. */
  readonly providerPasswords: ReadonlyMap<string, string>
  /** Phones whose codes the simulated provider never receives. */
  readonly droppedCodes: ReadonlySet<string>
  readonly invalidPhones: ReadonlySet<string>
  readonly qrDevices: readonly { phone: string; code: string }[]
}

export const EMPTY_SEED: TestDcSeed = {
  accounts: { users: [], bots: [] },
  providerPasswords: new Map(),
  droppedCodes: new Set(),
  invalidPhones: new Set(),
  qrDevices: [],
}

function digits(raw: unknown, where: string): string {
  const phone = typeof raw === 'string' ? normalizePhone(raw) : null
  if (phone === null) throw new TestDcAccountsError(`${where}: expected a phone number`)
  return phone
}

export function parseTestDcSeed(json: unknown): TestDcSeed {
  const accounts = parseAccountsFile(json)
  const o = json as Record<string, unknown>
  const providerPasswords = new Map<string, string>()
  const droppedCodes = new Set<string>()
  const rawUsers = (o['users'] ?? []) as Record<string, unknown>[]
  rawUsers.forEach((u, i) => {
    const phone = digits(u['phone'], `users[${i}].phone`)
    const password = accounts.users[i]?.password
    if (u['passwordViaProvider'] === true) {
      if (password === undefined)
        throw new TestDcAccountsError(`users[${i}].passwordViaProvider: the user has no password`)
      providerPasswords.set(phone, typeof password === 'string' ? password : password.password)
    } else if (u['passwordViaProvider'] !== undefined && u['passwordViaProvider'] !== false) {
      throw new TestDcAccountsError(`users[${i}].passwordViaProvider: expected true or false`)
    }
    if (u['dropCode'] === true) droppedCodes.add(phone)
    else if (u['dropCode'] !== undefined && u['dropCode'] !== false)
      throw new TestDcAccountsError(`users[${i}].dropCode: expected true or false`)
  })
  const invalid = o['invalidPhones'] ?? []
  if (!Array.isArray(invalid)) throw new TestDcAccountsError('invalidPhones: expected a list of phone numbers')
  const invalidPhones = new Set(invalid.map((p, i) => digits(p, `invalidPhones[${i}]`)))
  const devices = o['qrDevices'] ?? []
  if (!Array.isArray(devices)) throw new TestDcAccountsError('qrDevices: expected a list of { phone, code? }')
  const qrDevices = devices.map((d: unknown, i) => {
    const where = `qrDevices[${i}]`
    const entry = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>
    const phone = digits(entry['phone'], `${where}.phone`)
    const code = typeof entry['code'] === 'string' ? entry['code'] : testNumberOf(phone, [1, 2, 3, 4, 5])?.code
    if (code === undefined)
      throw new TestDcAccountsError(`${where}.code: required for a phone that is not a test number`)
    return { phone, code }
  })
  return { accounts, providerPasswords, droppedCodes, invalidPhones, qrDevices }
}

/** A seed file that cannot be read or is not a seed (the CLI: exit 2). */
export class TestDcSeedError extends FarmError {
  override readonly name = 'TestDcSeedError'
}

/** Reads a seed file; TestDcSeedError naming the problem. */
export async function loadTestDcSeed(path: string): Promise<TestDcSeed> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as unknown
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TestDcSeedError(
      `test DC seed ${path}: ${code ? `cannot read it (${code})` : `not valid JSON (${(err as Error).message})`}`,
    )
  }
  try {
    return parseTestDcSeed(json)
  } catch (err) {
    if (err instanceof TestDcAccountsError) throw new TestDcSeedError(`test DC seed ${path}: ${err.message}`)
    throw err
  }
}
