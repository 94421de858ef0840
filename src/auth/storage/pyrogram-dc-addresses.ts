// The DC addresses Pyrogram (v7 files) writes into `sessions.server_address/port`, byte for byte: used to fill that
// column, to tell an override from a default, and to give Telethon/GramJS strings an address. They differ in places
// from the table the client dials (src/mtproto/dc/dc-addresses.ts); here only Pyrogram's values fit.
import type { ServerAddress } from './session-storage.ts'

const PRODUCTION: ReadonlyMap<number, string> = new Map([
  [1, '149.154.175.53'],
  [2, '149.154.167.51'],
  [3, '149.154.175.100'],
  [4, '149.154.167.91'],
  [5, '91.108.56.130'],
  [203, '91.105.192.100'],
])

const TEST: ReadonlyMap<number, string> = new Map([
  [1, '149.154.175.10'],
  [2, '149.154.167.40'],
  [3, '149.154.175.117'],
])

// Pyrogram's ports for these addresses; both answer on 443 too.
const PRODUCTION_PORT = 443
const TEST_PORT = 80

export function defaultDcAddress(dcId: number, testMode: boolean): ServerAddress | null {
  const host = (testMode ? TEST : PRODUCTION).get(dcId)
  return host ? { host, port: testMode ? TEST_PORT : PRODUCTION_PORT } : null
}

/** True when the address is the one Pyrogram would write for this DC anyway (so it is not an override). */
export function isDefaultDcAddress(dcId: number, testMode: boolean, server: ServerAddress): boolean {
  const def = defaultDcAddress(dcId, testMode)
  return def !== null && def.host === server.host && def.port === server.port
}

/** Telethon/GramJS strings carry no test flag: a known test-DC IP is the only hint. */
export function isTestDcHost(host: string): boolean {
  for (const h of TEST.values()) if (h === host) return true
  return false
}
