// Points a stock mtcute client (npm `@mtcute/node` 0.30.x, layer 227) at our local test DC: the DC's RSA key in
// mtcute's key table, the DC's loopback address as its first DC (the others come from help.getConfig), a memory
// storage, and one of the transports mtcute ships (its packet codecs over its own TCP connection). Nothing in
// mtcute is patched and its layer is not overridden.
import {
  IntermediatePacketCodec,
  MemoryStorage,
  ObfuscatedPacketCodec,
  PaddedIntermediatePacketCodec,
  TcpTransport,
  TelegramClient,
  type TelegramClientOptions,
} from '@mtcute/node'
import { NodeCryptoProvider, addPublicKey, type BasicDcOption } from '@mtcute/node/utils.js'

/** The DC side a client needs: where DC n listens and the DC's RSA key (a TestDc or a test DC in another process). */
export interface MtcuteDcTarget {
  host: string
  portOf(dcId: number): number
  publicKey: { pem: string }
}

/** mtcute's transports: TCP with intermediate framing (its default), padded intermediate, or either obfuscated. */
export type MtcuteTransportName = 'intermediate' | 'padded' | 'obfuscated' | 'obfuscated-padded'
export const MTCUTE_TRANSPORTS: readonly MtcuteTransportName[] = [
  'intermediate',
  'padded',
  'obfuscated',
  'obfuscated-padded',
]

type MtcuteCodec = IntermediatePacketCodec | ObfuscatedPacketCodec

/**
 * mtcute's TcpTransport with one of mtcute's packet codecs (how mtcute lets an app choose its framing), noting the
 * tag each connection opens with (intermediate ee ee ee ee, padded dd dd dd dd, obfuscated 64 random-looking bytes).
 */
class CodecTcpTransport extends TcpTransport {
  constructor(
    private readonly codec: () => MtcuteCodec,
    private readonly tags: Uint8Array[],
  ) {
    super()
  }

  override packetCodec(): IntermediatePacketCodec {
    const codec = this.codec()
    const tag = codec.tag.bind(codec)
    codec.tag = async () => {
      const bytes = await tag()
      this.tags.push(bytes.slice())
      return bytes
    }
    return codec as IntermediatePacketCodec
  }
}

export function mtcuteTransport(name: MtcuteTransportName, tags: Uint8Array[] = []): TcpTransport {
  switch (name) {
    case 'intermediate':
      return new CodecTcpTransport(() => new IntermediatePacketCodec(), tags)
    case 'padded':
      return new CodecTcpTransport(() => new PaddedIntermediatePacketCodec(), tags)
    case 'obfuscated':
      return new CodecTcpTransport(() => new ObfuscatedPacketCodec(new IntermediatePacketCodec()), tags)
    case 'obfuscated-padded':
      return new CodecTcpTransport(() => new ObfuscatedPacketCodec(new PaddedIntermediatePacketCodec()), tags)
  }
}

const transportTags = new WeakMap<TelegramClient, Uint8Array[]>()

/** The tags mtcute's connections opened with, in order (what the DC had to recognise). */
export function mtcuteTransportTags(client: TelegramClient): readonly Uint8Array[] {
  return transportTags.get(client) ?? []
}

const trusted = new Set<string>()

/** Adds the DC's key to mtcute's (process-wide) RSA key table, once per key. */
export function trustDcKey(pem: string): void {
  if (trusted.has(pem)) return
  addPublicKey(new NodeCryptoProvider(), pem)
  trusted.add(pem)
}

export function mtcuteDcOption(dc: MtcuteDcTarget, dcId: number): BasicDcOption {
  return { id: dcId, ipAddress: dc.host, port: dc.portOf(dcId) }
}

export interface MtcuteClientOptions {
  /** The DC mtcute dials first (default 2, Telegram's default for a fresh account). */
  dcId?: number
  transport?: MtcuteTransportName
  apiId?: number
  apiHash?: string
  /** mtcute's log level (0 = off, 5 = verbose): MTCUTE_LOG=5 shows what it sends and gets. */
  logLevel?: number
  storage?: MemoryStorage
  extra?: Partial<TelegramClientOptions>
}

/** node:test options for a test driving mtcute: a login that hangs (mtcute has no overall deadline) fails the test. */
export const MTCUTE_TEST = { timeout: 120_000 }

export const MTCUTE_API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' }

export function mtcuteClientFor(dc: MtcuteDcTarget, opts: MtcuteClientOptions = {}): TelegramClient {
  trustDcKey(dc.publicKey.pem)
  const main = mtcuteDcOption(dc, opts.dcId ?? 2)
  const printLevel = opts.logLevel ?? Number(process.env['MTCUTE_LOG'] ?? 0)
  const tags: Uint8Array[] = []
  const client = new TelegramClient({
    apiId: opts.apiId ?? MTCUTE_API.apiId,
    apiHash: opts.apiHash ?? MTCUTE_API.apiHash,
    storage: opts.storage ?? new MemoryStorage(),
    transport: mtcuteTransport(opts.transport ?? 'intermediate', tags),
    defaultDcs: { main, media: main },
    logLevel: printLevel,
    ...opts.extra,
  } as TelegramClientOptions)
  recordComplaints(client, printLevel)
  transportTags.set(client, tags)
  return client
}

const complaints = new WeakMap<TelegramClient, string[]>()

/** Everything mtcute logged at error or warning level, as it logged it. */
export function mtcuteLog(client: TelegramClient): readonly string[] {
  return complaints.get(client) ?? []
}

/**
 * What mtcute logged at error or warning level (e.g. "received rpc_result for ping request" when a DC answers a
 * ping with rpc_result instead of a plain pong): a client that Telegram serves logs none of these during a login.
 * Left out: mtcute's own key-length flaw (1 exchange in 256 its key loses a leading zero byte, it refuses the DC's
 * dh_gen_ok and reconnects, closing its connection; see thirdparty-mtcute-handshake.test.ts).
 */
export function mtcuteComplaints(client: TelegramClient): readonly string[] {
  const all = mtcuteLog(client)
  if (!all.some((line) => SHORT_KEY_FLAW.test(line))) return all
  return all.filter((line) => !SHORT_KEY_FLAW.test(line) && !/unhandled error: \w*Error: Connection closed$/.test(line))
}

const SHORT_KEY_FLAW = /Step 4: invalid nonce hash from server/

/** Records mtcute's errors and warnings (still printing everything up to MTCUTE_LOG's level). */
function recordComplaints(client: TelegramClient, printLevel: number): void {
  const list: string[] = []
  complaints.set(client, list)
  const mgr = client.log.mgr
  const print = mgr.handler
  mgr.level = Math.max(printLevel, WARN)
  mgr.handler = (color, level, tag, fmt, args) => {
    if (level <= WARN) {
      let i = 0
      const text = fmt.replace(/%[a-z]/g, () => describe(args[i++]))
      list.push(`${tag}: ${[text, ...args.slice(i).map(describe)].join(' ')}`)
    }
    if (level <= printLevel) print(color, level, tag, fmt, args)
  }
}

/** mtcute's log levels: 1 error, 2 warning. */
const WARN = 2

function describe(arg: unknown): string {
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`
  if (typeof arg === 'object' && arg !== null)
    return JSON.stringify(arg, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  return String(arg)
}

/**
 * Resolves once mtcute stores a permanent auth key for `dcId` in `storage`, i.e. its key exchange is done (its
 * 'connected' state comes earlier, before the key exists).
 */
export function authKeyStored(storage: MemoryStorage, dcId: number): Promise<void> {
  const repo = storage.authKeys
  const set = repo.set.bind(repo)
  return new Promise((resolve) => {
    repo.set = (dc, key) => {
      set(dc, key)
      if (dc === dcId && key) resolve()
    }
  })
}

/**
 * Resolves when mtcute's updates manager has caught up (its state goes 'updating' → 'connected': with the
 * `updates: { catchUp: true }` option, after the login it fetched updates.getState and updates.getDifference);
 * rejects after `ms`. Call before start(), await after.
 */
export function updatesCaughtUp(client: TelegramClient, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let updating = false
    const timer = setTimeout(
      () => reject(new Error(`mtcute did not catch up with updates within ${ms} ms (state fetch failed?)`)),
      ms,
    )
    client.onConnectionState.add((state) => {
      if (state === 'updating') updating = true
      else if (state === 'connected' && updating) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}

/** Disconnects and destroys, ignoring what a half-started client throws on the way. */
export async function closeMtcute(...clients: TelegramClient[]): Promise<void> {
  for (const c of clients) await c.destroy().catch(() => undefined)
}

/**
 * `work`, or a rejection after `ms` that quotes what mtcute logged: a login that hangs then says where it stood
 * (node:test's own timeout cancels the test without running its `finally`, so nothing would be said).
 */
export function mtcuteWithin<T>(client: TelegramClient, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const tail = mtcuteLog(client).slice(-40).join('\n  ')
      reject(new Error(`mtcute did not finish within ${ms} ms; its errors and warnings:\n  ${tail || '(none)'}`))
    }, ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
