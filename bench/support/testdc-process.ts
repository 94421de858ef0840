// Runs a test DC in its own process for benchmarks, so the server's CPU is not counted against the client.
// Prints one JSON line with the DC ports and the public key, then serves until stdin closes.
// With TESTDC_ACCOUNTS set (JSON in the accounts-file shape, see src/testdc/accounts/accounts-file.ts) the DC
// also serves the accounts API with those users and bots seeded; the line then lists them under `accounts`
// (id, phone or bot token, home DC), and 2FA verifiers are computed before it is printed.
import { AccountRegistry, parseAccountsFile } from '../../src/testdc/accounts/index.ts'
import { startTestDc } from '../../src/testdc/test-dc.ts'

const DC_IDS = [1, 2, 3]

const seed = process.env['TESTDC_ACCOUNTS']
let accounts: AccountRegistry | undefined
let seeded: Record<string, unknown> | undefined
if (seed) {
  const file = parseAccountsFile(JSON.parse(seed) as unknown)
  accounts = new AccountRegistry({ dcIds: DC_IDS })
  const users = file.users.map((u) => accounts!.addUser(u))
  const bots = file.bots.map((b) => accounts!.addBot(b))
  // The PBKDF2 behind a seeded password runs on its first use; do it now, not during the first measured login.
  await Promise.all(users.map((u) => u.password?.verifier()))
  seeded = {
    users: users.map((u) => ({
      id: u.id.toString(),
      phone: u.phone,
      dcId: u.homeDc,
      hasPassword: u.password !== null,
    })),
    bots: bots.map((b) => ({ id: b.id.toString(), token: b.botToken, dcId: b.homeDc })),
  }
}

const dc = await startTestDc({ dcIds: DC_IDS, ...(accounts ? { accounts } : {}) })
process.stdout.write(
  `${JSON.stringify({
    host: dc.host,
    ports: Object.fromEntries(dc.dcs.map((d) => [d.id, d.port])),
    publicKey: {
      n: dc.publicKey.n.toString(),
      e: dc.publicKey.e.toString(),
      fingerprint: dc.publicKey.fingerprint.toString(),
      size: dc.publicKey.size,
    },
    ...(seeded ? { accounts: seeded } : {}),
  })}\n`,
)
process.stdin.resume()
process.stdin.on('end', () => void dc.stop().then(() => process.exit(0)))
process.on('SIGTERM', () => void dc.stop().then(() => process.exit(0)))
