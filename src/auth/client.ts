// The high-level Client, shaped like Pyrogram/Irenogram's: `new Client(name, options)`, `start()` logs in
// (stored session, bot token, phone + code + 2FA, or QR) and keeps the session; `getMe`, `logOut`, `stop`.
// Nothing is asked when a stored session works; prompts appear only on a terminal and only when nothing
// was given.
import { MtprotoClient, type MtprotoClientOptions } from '../mtproto/client/mtproto-client.ts'
import { TimeoutError } from '../mtproto/timeout-error.ts'
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'
import type { RsaPublicKey } from '../mtproto/crypto/rsa-keys.ts'
import { RpcError } from '../mtproto/rpc-error.ts'
import type { ProxyConfig, FramingName } from '../mtproto/transport/index.ts'
import type { TlValue, tl } from '../mtproto/tl/index.ts'
import { AccountStateError } from './auth-errors.ts'
import type { CodeContext, PasswordContext, PhoneContext, Provider } from './credential-provider.ts'
import { botLogin } from './flows/bot-login.ts'
import { loginHostOf, type Authorization, type LoginHost } from './flows/login-host.ts'
import { phoneLogin, type CodeSentInfo, type SignUpDetails } from './flows/phone-login.ts'
import { qrLogin, type QrCodeInfo } from './flows/qr-login.ts'
import { SessionKeyStore } from './session-key-store.ts'
import { isLibraryDefault, LIBRARY_DEFAULT_DEVICE } from './device-identity.ts'
import {
  FileSessionStorage,
  MemorySessionStorage,
  SessionStringCodec,
  StringSessionStorage,
  type SessionRecord,
  type SessionStorage,
} from './storage/index.ts'

export interface ClientOptions {
  apiId: number
  apiHash: string
  botToken?: string
  phoneNumber?: Provider<string, PhoneContext>
  phoneCode?: Provider<string, CodeContext>
  password?: Provider<string, PasswordContext>
  /** A recovery email code, asked when the password is empty and the account has recovery set up. */
  recoveryCode?: Provider<string, { emailPattern: string }>
  /** Sign-up details for phones without an account. */
  signUp?: Provider<SignUpDetails, { phoneNumber: string; termsOfService: string | undefined }>
  /** Where `<name>.session` lives (default: the current directory). */
  workdir?: string
  /** Keep the session in memory only. */
  inMemory?: boolean
  /** Start from a session string (Pyrogram, Telethon or GramJS format). */
  sessionString?: string
  /** Any storage engine (Redis for the farm, …); wins over workdir/inMemory/sessionString. */
  storage?: SessionStorage
  testMode?: boolean
  /** DC addresses overriding Telegram's (e.g. the local test DC). */
  dcs?: readonly DcAddress[]
  /** RSA keys to trust (the local test DC's); Telegram's by default. */
  rsaKeys?: readonly RsaPublicKey[]
  /**
   * The device identity (initConnection fields). Each field given here wins; the rest come from the identity saved
   * with the session, then gramfarm's defaults (`gramfarm` / `0.1.0`, see onDefaultIdentity).
   */
  deviceModel?: string
  systemVersion?: string
  appVersion?: string
  langCode?: string
  systemLangCode?: string
  langPack?: string
  proxy?: ProxyConfig
  framing?: FramingName
  obfuscated?: boolean
  /** FLOOD_WAITs up to this many seconds are slept (default 10). */
  sleepThreshold?: number
  /** TCP connect (and a proxy's handshake) to a DC, default 10 s. */
  connectTimeoutMs?: number
  /** Each step of an auth-key exchange, default 10 s. */
  handshakeTimeoutMs?: number
  /** Each call, waiting for the connection included (default 60 s; Infinity: none). `invoke(…, { timeoutMs })` wins. */
  requestTimeoutMs?: number
  /**
   * The whole start(): connecting, and a login with the time its credentials take to arrive (default 10 minutes,
   * so that a person can type a code; Infinity: none). Past it, start() rejects with TimeoutError('start').
   */
  startTimeoutMs?: number
  /** Reconnection after a lost connection (see MtprotoClientOptions.reconnect). */
  reconnect?: MtprotoClientOptions['reconnect']
  /** Resends of one call the server may ask for (bad_server_salt, …) before it fails with ResendLimitError, default 5. */
  maxResends?: number
  maxCodeAttempts?: number
  maxPasswordAttempts?: number
  /** Called with each QR code of a QR login (the URL, its expiry, and an ASCII rendering). */
  onQrCode?(qr: QrCodeInfo): void | Promise<void>
  /** Called when a login code was sent (its type, the attempt): farms forward it to their code provider. */
  onCodeSent?(info: CodeSentInfo): void | Promise<void>
  onUpdate?(update: TlValue): void
  /**
   * Called when connect() would present gramfarm's default identity (no device fields given, none saved with the
   * session): a farm logs a warning, since Telegram sees that fingerprint. src/auth/device-identity.ts has presets.
   */
  onDefaultIdentity?(name: string): void
}

export interface StartOptions {
  useQr?: boolean
  /** User ids already logged in: a QR scan by one of them does not log in again. */
  exceptIds?: readonly (bigint | number)[]
  qrTimeoutMs?: number
  signal?: AbortSignal
}

type User = tl.RawUser

/** Telegram's default DC for a fresh account. */
const DEFAULT_DC = 2
/** start() as a whole, including a person typing a login code. */
const DEFAULT_START_TIMEOUT_MS = 10 * 60_000

export class Client implements AsyncDisposable {
  private storage: SessionStorage
  private keys: SessionKeyStore | undefined
  private mtproto: MtprotoClient | undefined
  private me: User | undefined
  private readonly updateWaiters = new Set<{ predicate(u: TlValue): boolean; resolve(u: TlValue): void }>()
  private started = false

  constructor(
    readonly name: string,
    readonly options: ClientOptions,
  ) {
    if (!Number.isInteger(options.apiId) || options.apiId <= 0) throw new RangeError('apiId must be a positive integer')
    if (!options.apiHash) throw new RangeError('apiHash is required')
    this.storage =
      options.storage ??
      (options.sessionString !== undefined
        ? new StringSessionStorage(options.sessionString)
        : options.inMemory
          ? new MemorySessionStorage()
          : new FileSessionStorage({ workdir: options.workdir ?? '.', name }))
  }

  get isConnected(): boolean {
    return this.mtproto !== undefined
  }

  /** The protocol client, for raw calls (`client.invoke({ _: 'help.getConfig' })`). */
  async invoke<R = unknown>(
    request: TlValue,
    opts: { dcId?: number; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<R> {
    if (!this.mtproto) throw new Error('the client is not started: call start() (or connect()) first')
    try {
      return await this.mtproto.invoke<R>(request, opts)
    } catch (err) {
      throw (err instanceof RpcError && AccountStateError.fromRpc(err.code, err.errorMessage)) || err
    }
  }

  /** Opens the storage and connects (no login). */
  async connect(): Promise<SessionRecord | null> {
    if (this.mtproto) return this.storage.load()
    await this.storage.open()
    const record = await this.storage.load()
    const o = this.options
    this.keys = new SessionKeyStore(this.storage, record, DEFAULT_DC)
    const device = record?.device
    const app = {
      apiId: o.apiId,
      deviceModel: o.deviceModel ?? device?.deviceModel ?? LIBRARY_DEFAULT_DEVICE.deviceModel,
      systemVersion: o.systemVersion ?? device?.systemVersion ?? `${process.platform} ${process.version}`,
      appVersion: o.appVersion ?? device?.appVersion ?? LIBRARY_DEFAULT_DEVICE.appVersion,
      systemLangCode: o.systemLangCode ?? device?.systemLangCode ?? 'en',
      langPack: o.langPack ?? device?.langPack ?? '',
      langCode: o.langCode ?? device?.langCode ?? 'en',
    }
    if (isLibraryDefault(app)) o.onDefaultIdentity?.(this.name)
    this.mtproto = new MtprotoClient({
      app,
      testMode: o.testMode ?? record?.testMode ?? false,
      homeDc: this.keys.homeDc,
      keys: this.keys,
      ...(o.dcs ? { dcs: o.dcs } : {}),
      ...(o.rsaKeys ? { rsaKeys: o.rsaKeys } : {}),
      ...(o.proxy ? { proxy: o.proxy } : {}),
      ...(o.framing ? { framing: o.framing } : {}),
      ...(o.obfuscated !== undefined ? { obfuscated: o.obfuscated } : {}),
      ...(o.sleepThreshold !== undefined ? { sleepThreshold: o.sleepThreshold } : {}),
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
      ...(o.requestTimeoutMs !== undefined ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
      ...(o.reconnect ? { reconnect: o.reconnect } : {}),
      ...(o.maxResends !== undefined ? { maxResends: o.maxResends } : {}),
      onUpdate: (u) => this.onUpdate(u),
    })
    // Telethon and GramJS strings (and Pyrogram files written for our test DC) say where their DC is: dial that
    // address rather than the built-in one, unless the caller gave the DC table (help.getConfig may update it later).
    if (!o.dcs && record?.server)
      this.mtproto.dcs.set({ id: record.dcId, host: record.server.host, port: record.server.port })
    return record
  }

  private onUpdate(update: TlValue): void {
    for (const w of this.updateWaiters) {
      if (w.predicate(update)) {
        this.updateWaiters.delete(w)
        w.resolve(update)
      }
    }
    this.options.onUpdate?.(update)
  }

  private loginHost(): LoginHost {
    const keys = this.keys!
    return loginHostOf({
      apiId: this.options.apiId,
      apiHash: this.options.apiHash,
      mtproto: this.mtproto!,
      onHomeDc: (dcId) => keys.setHome(dcId),
      nextUpdate: (predicate, signal) =>
        new Promise<TlValue>((resolve, reject) => {
          const waiter = { predicate, resolve }
          this.updateWaiters.add(waiter)
          signal.addEventListener(
            'abort',
            () => {
              this.updateWaiters.delete(waiter)
              reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'))
            },
            { once: true },
          )
        }),
    })
  }

  /**
   * Connects and makes sure the session is logged in: a stored session is checked with getMe; otherwise
   * the bot token, QR login (`useQr`) or phone login runs. Returns the client, for `await using`.
   */
  async start(opts: StartOptions = {}): Promise<this> {
    const ms = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS
    if (!Number.isFinite(ms) || ms <= 0) return this.startUnbounded(opts)
    const deadline = new AbortController()
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal
    const run = this.startUnbounded({ ...opts, signal })
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const err = new TimeoutError('start', ms, `Client.start() did not finish within ${ms} ms`)
        deadline.abort(err)
        reject(err)
      }, ms)
      timer.unref()
    })
    try {
      return await Promise.race([run, expired])
    } catch (err) {
      if (err instanceof TimeoutError && err.phase === 'start') {
        // Whatever start() was waiting on ends now: its calls reject as the connections close.
        run.catch(() => undefined)
        this.mtproto?.close()
        this.mtproto = undefined
      }
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  private async startUnbounded(opts: StartOptions): Promise<this> {
    const record = await this.connect()
    if (record?.userId !== null && record?.userId !== undefined) {
      this.me = await this.getMe()
      this.started = true
      return this
    }
    if (record) {
      // A key without a user id (every Telethon or GramJS string, every key another library made) may well be
      // logged in: ask the DC who it is before asking anyone for a credential. Only a key the DC knows as not
      // logged in (401 AUTH_KEY_UNREGISTERED) goes on to a login, with that same key.
      const me = await this.getMe().catch((err: unknown) => {
        if (err instanceof AccountStateError && err.state === 'unauthorized') return undefined
        throw err
      })
      if (me) {
        this.keys!.persist({ userId: me.id, isBot: me.bot ?? false })
        await this.keys!.flush()
        this.started = true
        return this
      }
    }
    const host = this.loginHost()
    const o = this.options
    let auth: Authorization
    if (o.botToken) {
      auth = await botLogin(host, o.botToken)
    } else if (opts.useQr) {
      auth = await qrLogin(host, {
        exceptIds: (opts.exceptIds ?? []).map((id) => BigInt(id)),
        password: o.password,
        maxPasswordAttempts: o.maxPasswordAttempts ?? 3,
        ...(o.onQrCode ? { onQrCode: o.onQrCode } : {}),
        ...(opts.qrTimeoutMs !== undefined ? { timeoutMs: opts.qrTimeoutMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      })
    } else {
      auth = await phoneLogin(host, {
        phoneNumber: o.phoneNumber,
        phoneCode: o.phoneCode,
        password: o.password,
        maxCodeAttempts: o.maxCodeAttempts ?? 3,
        maxPasswordAttempts: o.maxPasswordAttempts ?? 3,
        ...(o.recoveryCode ? { recoveryCode: o.recoveryCode } : {}),
        ...(o.signUp ? { signUp: o.signUp } : {}),
        ...(o.onCodeSent ? { onCodeSent: o.onCodeSent } : {}),
      })
    }
    const user = auth.user as User
    this.me = user
    const mt = this.mtproto!.opts.app
    this.keys!.persist({
      userId: user.id,
      isBot: user.bot ?? false,
      apiId: o.apiId,
      testMode: o.testMode ?? false,
      ...(o.dcs ? { server: o.dcs.find((d) => d.id === this.mtproto!.homeDc) ?? null } : {}),
      device: {
        deviceModel: mt.deviceModel,
        systemVersion: mt.systemVersion,
        appVersion: mt.appVersion,
        systemLangCode: mt.systemLangCode,
        langCode: mt.langCode,
        langPack: mt.langPack,
      },
    })
    await this.keys!.flush()
    this.started = true
    return this
  }

  /** The logged-in user (users.getUsers([inputUserSelf])). */
  async getMe(): Promise<User> {
    const users = await this.invoke<tl.TypeUser[]>({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] })
    const me = users[0]
    if (!me || me._ !== 'user') throw new AccountStateError('unauthorized', 401, 'AUTH_KEY_UNREGISTERED')
    this.me = me
    return me
  }

  /** The user id of the session (after start()). */
  get userId(): bigint | undefined {
    return this.me?.id
  }

  /** The session as a Pyrogram session string (also readable by gramfarm, Pyrogram and its forks). */
  async exportSessionString(): Promise<string> {
    if (!this.keys) throw new Error('no session to export: start() (or connect()) the client first')
    await this.keys.flush()
    const record = await this.storage.load()
    if (!record) throw new Error('no session to export: log in first')
    return SessionStringCodec.export(record)
  }

  /** Logs out (auth.logOut) and deletes the stored session. */
  async logOut(): Promise<void> {
    try {
      await this.invoke({ _: 'auth.logOut' })
    } finally {
      this.mtproto?.close()
      this.mtproto = undefined
      await this.keys?.flush().catch(() => undefined)
      this.keys = undefined
      await this.storage.delete()
      this.started = false
    }
  }

  /** Disconnects and closes the storage (the session stays). */
  async stop(): Promise<void> {
    this.mtproto?.close()
    this.mtproto = undefined
    await this.keys?.flush().catch(() => undefined)
    await this.storage.close()
    this.started = false
  }

  /** Starts, runs `fn`, and stops whatever happens. */
  async run<T>(fn: (client: this) => Promise<T>, opts?: StartOptions): Promise<T> {
    await this.start(opts)
    try {
      return await fn(this)
    } finally {
      await this.stop()
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.started || this.mtproto) await this.stop()
  }
}
