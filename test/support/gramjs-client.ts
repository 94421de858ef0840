// Points a GramJS (`telegram`, layer 198) client at our local test DC:
// a connection class that fixes the port per DC, our RSA key in its key table, and a memory session
// (GramJS's StringSession cannot save ports above 32767, which the OS hands out).
import { createRequire } from 'node:module'
import type { TestDc } from '../../src/testdc/test-dc.ts'

const require = createRequire(import.meta.url)

export interface GramjsModule {
  TelegramClient: new (session: unknown, apiId: number, apiHash: string, opts: Record<string, unknown>) => GramjsClient
  Api: Record<string, unknown> & { help: Record<string, new (a?: object) => unknown> }
}
export interface GramjsClient {
  connect(): Promise<void>
  disconnect(): Promise<void>
  destroy(): Promise<void>
  invoke(req: unknown): Promise<Record<string, unknown>>
  setLogLevel(level: string): void
  session: { authKey?: { getKey(): Buffer } }
}

export const gramjs = require('telegram') as GramjsModule

export function gramjsClientFor(
  dc: TestDc,
  dcId: number,
  apiId = 12345,
  apiHash = '0123456789abcdef0123456789abcdef',
): GramjsClient {
  const { MemorySession } = require('telegram/sessions') as {
    MemorySession: new () => { setDC(id: number, host: string, port: number): void }
  }
  const { ConnectionTCPFull } = require('telegram/network') as {
    ConnectionTCPFull: new (o: Record<string, unknown>) => object
  }
  const RSA = require('telegram/crypto/RSA') as { _serverKeys: Map<string, { n: unknown; e: number }> }
  const bigInt = require('big-integer') as (s: string) => unknown
  RSA._serverKeys.set(dc.publicKey.fingerprint.toString(), {
    n: bigInt(dc.publicKey.n.toString()),
    e: Number(dc.publicKey.e),
  })
  class LocalTcpFull extends ConnectionTCPFull {
    constructor(o: Record<string, unknown>) {
      super({ ...o, port: dc.portOf(o['dcId'] as number) })
    }
  }
  const session = new MemorySession()
  session.setDC(dcId, dc.host, dc.portOf(dcId))
  const client = new gramjs.TelegramClient(session, apiId, apiHash, {
    connection: LocalTcpFull,
    // Five attempts, GramJS's own habit: about one key exchange in 256 ends with g_ab < 2^2040, which GramJS
    // rejects (test/thirdparty-gramjs-handshake.test.ts); with one attempt its invoke() then waits forever — a
    // CI run hung 900 s on it. A second exchange on the same connection goes through, as against Telegram.
    connectionRetries: 5,
    autoReconnect: false,
    receiveUpdates: false,
  })
  client.setLogLevel('none')
  return client
}
