// The protocol-level client: one DcConnection per DC (made on demand), DC addresses from the built-in
// tables, help.getConfig or an override (our test DC), and the call policy around every invoke: short
// FLOOD_WAITs are slept, 500s and lost connections retried with backoff, everything else surfaces typed.
import {
  AuthKeyUnknownError,
  DcConnection,
  ConnectionLostError,
  ReconnectGaveUpError,
  type AppIdentity,
  type DcConnectionOptions,
} from '../dc/dc-connection.ts'
import { DcTable, type DcAddress } from '../dc/dc-addresses.ts'
import { rsaKeyTable, type RsaPublicKey } from '../crypto/rsa-keys.ts'
import { RpcError } from '../rpc-error.ts'
import type { InvokeOptions } from '../session/mtproto-session.ts'
import type { FramingName, ProxyConfig } from '../transport/index.ts'
import { tlCodec, type TlValue, type tl } from '../tl/index.ts'

/** Where auth keys of each DC live between runs (the auth layer's storage engines implement this). */
export interface AuthKeyStore {
  get(dcId: number): { authKey: Uint8Array; serverSalt?: bigint } | undefined
  set(dcId: number, authKey: Uint8Array, serverSalt: bigint): void
  /** The key was refused by the DC (-404): forget it. */
  delete(dcId: number): void
}

export interface MtprotoClientOptions {
  app: AppIdentity
  testMode?: boolean
  /** The DC the account lives on (the first one used). */
  homeDc?: number
  /** DC addresses that replace the built-in table (e.g. the local test DC's ports). */
  dcs?: readonly DcAddress[]
  /** Keys the client trusts; Telegram's (production or test) by default. */
  rsaKeys?: readonly RsaPublicKey[]
  framing?: FramingName
  obfuscated?: boolean
  proxy?: ProxyConfig
  keys?: AuthKeyStore
  /** FLOOD_WAITs up to this many seconds are slept and retried (Pyrogram's sleep_threshold, default 10). */
  sleepThreshold?: number
  /** Retries of 500s and lost connections. */
  maxRetries?: number
  /** TCP connect (and a proxy's handshake) to a DC, default 10 s. */
  connectTimeoutMs?: number
  /** Each step of an auth-key exchange, default 10 s. */
  handshakeTimeoutMs?: number
  /**
   * One call, from invoke() to its answer, waiting for the connection and a key exchange included (default 60 s;
   * Infinity: none). Each retry of the call gets its own.
   */
  requestTimeoutMs?: number
  /** Reconnection of each DC connection (see DcConnectionOptions.reconnect). */
  reconnect?: DcConnectionOptions['reconnect']
  /** Resends of one call the server may ask for before it fails with ResendLimitError (default 5). */
  maxResends?: number
  onUpdate?(update: TlValue, dcId: number): void
  /** Test hook: how to sleep (tests replace it to run FLOOD_WAITs instantly). */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>
}

export interface ClientInvokeOptions extends InvokeOptions {
  /** Which DC to send to (default: the home DC). */
  dcId?: number
  /** Override the client's sleep threshold for this call. */
  sleepThreshold?: number
}

/** Server errors worth retrying (500 and the internal errors Telegram documents as transient). */
function isRetryableServerError(err: RpcError): boolean {
  return (
    err.code === 500 ||
    err.code === -500 ||
    err.errorMessage === 'RPC_CALL_FAIL' ||
    err.errorMessage === 'RPC_MCGET_FAIL'
  )
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
      },
      { once: true },
    )
  })

/** Telegram's keys for each mode, as one array shared by every client of the process. */
const defaultRsaKeys = new Map<boolean, readonly RsaPublicKey[]>()

function telegramRsaKeys(testMode: boolean): readonly RsaPublicKey[] {
  let keys = defaultRsaKeys.get(testMode)
  if (!keys) defaultRsaKeys.set(testMode, (keys = [...rsaKeyTable(testMode ? 'test' : 'production').values()]))
  return keys
}

const DEFAULT_SLEEP_THRESHOLD = 10
const DEFAULT_MAX_RETRIES = 3
const RETRY_BASE_MS = 200

export class MtprotoClient {
  readonly dcs: DcTable
  homeDc: number
  private readonly connections = new Map<number, DcConnection>()
  private readonly rsaKeys: readonly RsaPublicKey[]
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  private configLoaded: Promise<tl.TypeConfig> | undefined
  private closed = false

  constructor(readonly opts: MtprotoClientOptions) {
    const testMode = opts.testMode ?? false
    this.dcs = opts.dcs ? new DcTable(opts.dcs) : DcTable.forMode(testMode)
    this.homeDc = opts.homeDc ?? 2
    this.rsaKeys = opts.rsaKeys ?? telegramRsaKeys(testMode)
    this.sleep = opts.sleep ?? defaultSleep
  }

  /** The connection to a DC, created (not yet connected) on first use. */
  connection(dcId = this.homeDc): DcConnection {
    let conn = this.connections.get(dcId)
    if (!conn) {
      const addr = this.dcs.get(dcId)
      const stored = this.opts.keys?.get(dcId)
      const o = this.opts
      conn = new DcConnection({
        dcId,
        host: addr.host,
        port: addr.port,
        testMode: o.testMode ?? false,
        app: o.app,
        rsaKeys: this.rsaKeys,
        ...(stored
          ? { authKey: stored.authKey, ...(stored.serverSalt !== undefined ? { serverSalt: stored.serverSalt } : {}) }
          : {}),
        ...(o.framing ? { framing: o.framing } : {}),
        ...(o.obfuscated !== undefined ? { obfuscated: o.obfuscated } : {}),
        ...(o.proxy ? { proxy: o.proxy } : {}),
        codec: tlCodec,
        ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
        ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
        ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
        ...(o.reconnect ? { reconnect: o.reconnect } : {}),
        ...(o.maxResends !== undefined ? { maxResends: o.maxResends } : {}),
        // Methods, not `name: () => …` properties: under tsx those get a name property each (__name), 300 bytes.
        onAuthKey(key, salt) {
          o.keys?.set(dcId, key, salt)
        },
        onUpdate(u) {
          o.onUpdate?.(u, dcId)
        },
      })
      conn.on('closed', (err) => {
        if (this.connections.get(dcId) === conn) this.connections.delete(dcId)
        if (err instanceof AuthKeyUnknownError) o.keys?.delete(dcId)
      })
      this.connections.set(dcId, conn)
    }
    return conn
  }

  /** Forgets a DC's connection and key (after AUTH_KEY_DUPLICATED, or to start over on that DC). */
  dropConnection(dcId: number, forgetKey: boolean): void {
    this.connections.get(dcId)?.close()
    this.connections.delete(dcId)
    if (forgetKey) this.opts.keys?.delete(dcId)
  }

  /** Calls a method with the retry policy: short FLOOD_WAITs slept, 500s and lost connections retried. */
  async invoke<R = unknown>(request: TlValue, opts: ClientInvokeOptions = {}): Promise<R> {
    const dcId = opts.dcId ?? this.homeDc
    const threshold = opts.sleepThreshold ?? this.opts.sleepThreshold ?? DEFAULT_SLEEP_THRESHOLD
    const maxRetries = this.opts.maxRetries ?? DEFAULT_MAX_RETRIES
    const timeoutMs = opts.timeoutMs
    let retries = 0
    for (;;) {
      if (this.closed) throw new ConnectionLostError('the client was stopped')
      try {
        return (await this.connection(dcId).invoke(request, {
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        })) as R
      } catch (err) {
        if (err instanceof RpcError && err.isFloodWait && err.seconds! <= threshold) {
          await this.sleep(err.seconds! * 1000, opts.signal)
          continue
        }
        // A connection that gave up reconnecting already retried with backoff: no second round of that here.
        const transient =
          (err instanceof RpcError && isRetryableServerError(err)) ||
          (err instanceof ConnectionLostError && !(err instanceof ReconnectGaveUpError))
        if (transient && retries < maxRetries) {
          await this.sleep(RETRY_BASE_MS * 2 ** retries++, opts.signal)
          continue
        }
        throw err
      }
    }
  }

  /** help.getConfig of the home DC (once); its dc_options update the address table unless overridden. */
  getConfig(): Promise<tl.TypeConfig> {
    this.configLoaded ??= this.invoke<tl.TypeConfig>({ _: 'help.getConfig' })
      .then((config) => {
        if (!this.opts.dcs) {
          for (const o of config.dcOptions) {
            if (o.mediaOnly || o.cdn || o.tcpoOnly || o.ipv6) continue
            this.dcs.set({ id: o.id, host: o.ipAddress, port: o.port })
          }
        }
        return config
      })
      .catch((err: unknown) => {
        this.configLoaded = undefined
        throw err
      })
    return this.configLoaded
  }

  /** Closes every connection; pending calls are rejected. */
  close(): void {
    this.closed = true
    for (const c of this.connections.values()) c.close()
    this.connections.clear()
  }
}
