// Child process of the authkey benchmark: connects N idle clients of one library to a test DC (in yet
// another process) with one shared auth key, and prints the RSS growth per client as JSON.
import { createRequire } from 'node:module'
import { DcConnection } from '../../src/mtproto/dc/dc-connection.ts'
import { startRemoteTestDc } from './remote-testdc.ts'

const require = createRequire(import.meta.url)
const lib = process.argv[2] as 'gramfarm' | 'gramjs'
const N = Number(process.env['IDLE_CLIENTS'] ?? 1000)
// The second-half figure needs clients connected after the midpoint: at least two batches on each side of it.
if (!Number.isInteger(N) || N < 8) throw new Error(`IDLE_CLIENTS must be an integer of at least 8 (got ${N})`)
const BATCH = Math.min(50, Math.floor(N / 4))
const APP = {
  apiId: 1,
  deviceModel: 'bench',
  systemVersion: 'bench',
  appVersion: '1',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
}
const dc = await startRemoteTestDc()

/** DC 2 of the test DC, as every client here reaches it. */
const DC2 = { dcId: 2, host: dc.host, port: dc.portOf(2), testMode: true, rsaKeys: [dc.publicKey], app: APP }
const first = new DcConnection(DC2)
await first.invoke({ _: 'help.getNearestDc' })
const authKey = first.authKeyBytes!
const salt = first.serverSalt!

/** A connected client on the first one's auth key and salt (no key exchange), after one round trip. */
const connectWithSharedKey = async (): Promise<DcConnection> => {
  const c = new DcConnection({ ...DC2, authKey, serverSalt: salt })
  await c.invoke({ _: 'help.getNearestDc' })
  return c
}

const gc = (globalThis as { gc?: () => void }).gc
let heapBefore = 0
let midRss = 0
let midCount = 0
const maybeMid = async (count: number): Promise<void> => {
  if (midRss === 0 && count >= N / 2 && count < N) {
    midCount = count
    midRss = await settle()
  }
}
const settle = async (): Promise<number> => {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((r) => setTimeout(r, 200))
  }
  const m = process.memoryUsage()
  heapBefore = heapBefore || m.heapUsed + m.external
  return m.rss
}

const keep: unknown[] = []
let before: number
if (lib === 'gramfarm') {
  // warm the code paths once so the baseline includes the compiled code, not per-client cost
  await connectWithSharedKey()
  before = await settle()
  for (let i = 0; i < N; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, N - i) }, async () => {
        keep.push(await connectWithSharedKey())
      }),
    )
    await maybeMid(keep.length)
  }
} else {
  const { TelegramClient, Api } = require('telegram') as {
    TelegramClient: new (...a: unknown[]) => {
      connect(): Promise<void>
      invoke(r: unknown): Promise<unknown>
      setLogLevel(l: string): void
    }
    Api: { help: { GetNearestDc: new () => unknown } }
  }
  const { MemorySession } = require('telegram/sessions') as {
    MemorySession: new () => { setDC(i: number, h: string, p: number): void; setAuthKey(k: unknown): void }
  }
  const { AuthKey } = require('telegram/crypto/AuthKey') as { AuthKey: new () => { setKey(b: Buffer): Promise<void> } }
  const { ConnectionTCPFull } = require('telegram/network') as {
    ConnectionTCPFull: new (o: Record<string, unknown>) => object
  }
  class LocalTcpFull extends ConnectionTCPFull {
    constructor(o: Record<string, unknown>) {
      super({ ...o, port: dc.portOf(o['dcId'] as number) })
    }
  }
  const make = async (): Promise<unknown> => {
    const session = new MemorySession()
    session.setDC(2, dc.host, dc.portOf(2))
    const key = new AuthKey()
    await key.setKey(Buffer.from(authKey))
    session.setAuthKey(key)
    const client = new TelegramClient(session, 1, 'hash', {
      connection: LocalTcpFull,
      connectionRetries: 1,
      autoReconnect: false,
      receiveUpdates: false,
    })
    client.setLogLevel('none')
    await client.connect()
    await client.invoke(new Api.help.GetNearestDc())
    return client
  }
  await make()
  before = await settle()
  for (let i = 0; i < N; i += BATCH) {
    keep.push(...(await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, make))))
    await maybeMid(keep.length)
  }
}
const after = await settle()
const m = process.memoryUsage()
process.stdout.write(
  `${JSON.stringify({ lib, clients: keep.length, perClientKb: (after - before) / 1024 / keep.length, marginalKb: (after - midRss) / 1024 / (keep.length - midCount), heapPlusExternalKbEach: (m.heapUsed + m.external - heapBefore) / 1024 / keep.length })}\n`,
)
dc.stop()
process.exit(0)
