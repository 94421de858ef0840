// A test DC plus a factory of client connections to its DC 2, torn down together: what the protocol tests share.
import { startTestDc, type TestDc, type TestDcOptions } from '../../src/testdc/test-dc.ts'
import type { DcServer } from '../../src/testdc/dc-server.ts'
import { DcConnection, type DcConnectionOptions } from '../../src/mtproto/dc/dc-connection.ts'

export const APP = {
  apiId: 1,
  deviceModel: 'node-test',
  systemVersion: 'linux',
  appVersion: '1.0',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
}
/** Reconnect fast so tests with dropped connections stay short. */
export const FAST_RECONNECT = { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 8 }

export interface DcEnv {
  dc: TestDc
  /** DC 2, the one every test talks to. */
  server: DcServer
  open(extra?: Partial<DcConnectionOptions>): DcConnection
}

/** Starts the DCs (default 1–3), runs `fn`, then closes every connection it opened and stops the DCs. */
export async function withDc(opts: TestDcOptions, fn: (env: DcEnv) => Promise<void>): Promise<void> {
  const dc = await startTestDc({ dcIds: [1, 2, 3], ...opts })
  const conns: DcConnection[] = []
  const open = (extra: Partial<DcConnectionOptions> = {}): DcConnection => {
    const conn = new DcConnection({
      dcId: 2,
      host: dc.host,
      port: dc.portOf(2),
      testMode: true,
      rsaKeys: [dc.publicKey],
      app: APP,
      reconnect: FAST_RECONNECT,
      ...extra,
    })
    conns.push(conn)
    return conn
  }
  try {
    await fn({ dc, server: dc.dc(2), open })
  } finally {
    for (const c of conns) c.close()
    await dc.stop()
  }
}
