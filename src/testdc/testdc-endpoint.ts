// How a running test DC tells other processes where it is: a small JSON file with the DC addresses and
// the public key, written by `gramfarm testdc` and read by examples, workers and tests.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseRsaPublicKey, type RsaPublicKey } from '../mtproto/crypto/rsa-keys.ts'
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'
import type { TestDc } from './test-dc.ts'

export interface TestDcEndpoint {
  dcs: DcAddress[]
  publicKeyPem: string
}

/** What a Client needs to talk to a test DC instead of Telegram. */
export interface TestDcClientOptions {
  testMode: true
  dcs: DcAddress[]
  rsaKeys: RsaPublicKey[]
}

export function endpointOf(dc: TestDc): TestDcEndpoint {
  return { dcs: dc.dcs.map((d) => ({ id: d.id, host: d.host, port: d.port })), publicKeyPem: dc.publicKey.pem }
}

export function writeTestDcEndpoint(path: string, dc: TestDc): void {
  writeFileSync(path, `${JSON.stringify(endpointOf(dc), null, 2)}\n`)
}

export function clientOptionsFor(endpoint: TestDcEndpoint): TestDcClientOptions {
  return { testMode: true, dcs: endpoint.dcs, rsaKeys: [parseRsaPublicKey(endpoint.publicKeyPem)] }
}

export function readTestDcEndpoint(path: string): TestDcEndpoint {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<TestDcEndpoint>
  if (!Array.isArray(parsed.dcs) || typeof parsed.publicKeyPem !== 'string')
    throw new Error(`${path} is not a test DC endpoint file (dcs, publicKeyPem)`)
  return { dcs: parsed.dcs, publicKeyPem: parsed.publicKeyPem }
}

/** Client options for the test DC named by GRAMFARM_TESTDC (an endpoint file), or undefined for Telegram. */
export function testDcFromEnv(env: NodeJS.ProcessEnv = process.env): TestDcClientOptions | undefined {
  const path = env['GRAMFARM_TESTDC']
  return path ? clientOptionsFor(readTestDcEndpoint(path)) : undefined
}
