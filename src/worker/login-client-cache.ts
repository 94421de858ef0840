// The connected clients of the logins one thread runs. A client is built from what Redis holds — the account's
// session (auth keys), the login hash (its DC), the vault (proxy, api_hash) — so any thread of any worker can run
// any step; keeping it connected a while is only a cache, so that a code arriving quickly is used at once.
import type { RedisClient } from '../queue/redis-connection.ts'
import { MtprotoClient } from '../mtproto/client/mtproto-client.ts'
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'
import type { RsaPublicKey } from '../mtproto/crypto/rsa-keys.ts'
import type { TlValue } from '../mtproto/tl/index.ts'
import { loginHostOf, type LoginHost } from '../auth/flows/login-host.ts'
import { SessionKeyStore } from '../auth/session-key-store.ts'
import type { RedisSessionStorage } from '../auth/storage/index.ts'
import { parseProxyUrl } from '../mtproto/transport/proxy-url.ts'
import type { LoginJobData } from '../queue/login-job.ts'
import type { SecretVault } from '../queue/secret-vault.ts'
import { qrScannedChannel } from '../queue/redis-keys.ts'
import {
  DEFAULT_IDENTITY_CHOICE,
  parseIdentityChoice,
  resolveIdentity,
  type IdentityChoice,
} from '../auth/device-identity.ts'
import type { DeviceIdentity } from '../auth/storage/index.ts'

export interface LoginClient {
  mtproto: MtprotoClient
  keys: SessionKeyStore
  storage: RedisSessionStorage
  host: LoginHost
  lastUsed: number
}

/** The client deadlines of every login (MtprotoClient's options); those not given keep their defaults. */
export interface LoginClientTimeouts {
  connectTimeoutMs?: number
  handshakeTimeoutMs?: number
  requestTimeoutMs?: number
}

/** How logins reach Telegram (or the local test DC). */
export interface LoginNetwork {
  testMode: boolean
  dcs?: readonly DcAddress[]
  rsaKeys?: readonly RsaPublicKey[]
  timeouts?: LoginClientTimeouts
}

export interface LoginClientCacheConfig {
  redis: RedisClient
  vault: SecretVault
  network: LoginNetwork
  apiId: number
  apiHash: string
  prefix: string
  /** The account's session in Redis. */
  sessionStorage(data: LoginJobData): RedisSessionStorage
  /** The job's login hash (phone_code_hash, dcId, …) and how long it lives. */
  loginKey(jobId: string): string
  loginTtlSec(data: LoginJobData): number
  /** Connected clients kept for reuse this long after their last step (default 2 min). */
  clientIdleMs?: number
  /** At most this many connected clients are kept (the least recently used are closed first; default 512). */
  maxCachedClients?: number
  /** How accounts without a saved identity get one (default: a mix of every platform's presets). */
  identity?: IdentityChoice
}

/** What the worker's clients sent before presets: only used when the farm is configured `identity: library`. */
const LIBRARY_IDENTITY: DeviceIdentity = {
  deviceModel: 'gramfarm',
  systemVersion: 'Linux',
  appVersion: '0.1.0',
  systemLangCode: 'en',
  langCode: 'en',
  langPack: '',
}

/**
 * Longest wait for one Telegram answer, from the call (a connection and key exchange it waits for included):
 * past it the step fails as transient and is retried (never hangs).
 */
const REQUEST_TIMEOUT_MS = 30_000

/** updateLoginToken, alone or inside an updates container: someone scanned the QR. */
function isLoginTokenUpdate(u: TlValue): boolean {
  if (u._ === 'updateLoginToken') return true
  if (u._ === 'updateShort') return (u['update'] as TlValue)._ === 'updateLoginToken'
  if (u._ === 'updates' || u._ === 'updatesCombined')
    return (u['updates'] as TlValue[]).some((x) => x._ === 'updateLoginToken')
  return false
}

/** Ends the login as failed(proxy_invalid). */
class ProxyConfigError extends Error {
  override readonly name = 'proxy_invalid'
}

/** Ends the login as failed(proxy_missing). */
class ProxyMissingError extends Error {
  override readonly name = 'proxy_missing'
}

/** The account's proxy (socks5:// or mtproxy:// URL, checked when the accounts file was read). */
function accountProxy(url: string): NonNullable<ConstructorParameters<typeof MtprotoClient>[0]['proxy']> {
  const p = parseProxyUrl(url)
  if (!p.ok) throw new ProxyConfigError(p.reason)
  return p.value
}

export class LoginClientCache {
  private readonly clients = new Map<string, LoginClient>()
  private readonly sweep: NodeJS.Timeout
  private readonly identity: IdentityChoice
  /** Accounts whose client was built with the library's default identity, not yet reported (takeDefaultIdentity). */
  private readonly defaultIdentity = new Set<string>()

  constructor(private readonly cfg: LoginClientCacheConfig) {
    this.identity = cfg.identity ?? parseIdentityChoice(DEFAULT_IDENTITY_CHOICE)
    this.sweep = setInterval(() => this.evictIdle(), Math.min(30_000, cfg.clientIdleMs ?? 120_000))
    this.sweep.unref()
  }

  /** True once if the account's client connected with the library defaults since the last call (to warn). */
  takeDefaultIdentity(accountKey: string): boolean {
    return this.defaultIdentity.delete(accountKey)
  }

  get size(): number {
    return this.clients.size
  }

  /**
   * The job's connected client, or a new one from what Redis holds. `loginDcId` reads the login hash's dcId (a step
   * that reads the hash anyway passes its own read); by default one HGET.
   */
  async get(jobId: string, data: LoginJobData, loginDcId?: () => Promise<string | null>): Promise<LoginClient> {
    const cached = this.clients.get(jobId)
    if (cached) {
      cached.lastUsed = Date.now()
      this.clients.delete(jobId) // re-inserted last: the Map's order is least recently used first
      this.clients.set(jobId, cached)
      return cached
    }
    const entry = await this.build(jobId, data, loginDcId)
    this.clients.set(jobId, entry)
    const max = this.cfg.maxCachedClients ?? 512
    for (const id of this.clients.keys()) {
      if (this.clients.size <= max) break
      if (id !== jobId) void this.drop(id)
    }
    return entry
  }

  private async build(
    jobId: string,
    data: LoginJobData,
    loginDcId: () => Promise<string | null> = () => this.cfg.redis.hget(this.cfg.loginKey(jobId), 'dcId'),
  ): Promise<LoginClient> {
    const cfg = this.cfg
    const storage = cfg.sessionStorage(data)
    await storage.open()
    // The three reads go out together (one round trip, one write on an auto-pipelined connection) and are taken in
    // their old order, so that a failure is the same one as before.
    const loading = storage.load()
    const dcRead = loginDcId()
    const secretsRead = cfg.vault.get(jobId)
    dcRead.catch(() => undefined) // each is awaited below: no unhandled rejection while an earlier one is
    secretsRead.catch(() => undefined)
    const record = await loading
    const homeDc = Number(await dcRead) || record?.dcId || this.testNumberDc(data) || 2
    const keys = new SessionKeyStore(storage, record, homeDc)
    keys.homeDc = homeDc
    const o = data.options
    const secrets = await secretsRead
    // Never from the farm's own address when the account has a proxy whose URL is gone (the vault entry expired).
    if (o.proxied && !secrets.proxy) throw new ProxyMissingError('the proxy of the account is not in the vault')
    const apiId = o.apiId ?? cfg.apiId
    // The identity saved with the session wins (every later connection shows the same device); a first login gets
    // a preset for this account with the accounts file's fields over it.
    const { device, source } = resolveIdentity({
      stored: record?.device,
      overrides: {
        deviceModel: o.deviceModel,
        systemVersion: o.systemVersion,
        appVersion: o.appVersion,
        systemLangCode: o.systemLangCode,
        langCode: o.langCode,
      },
      choice: this.identity,
      accountKey: data.accountKey,
      apiId,
      libraryDefaults: LIBRARY_IDENTITY,
    })
    if (source === 'library') this.defaultIdentity.add(data.accountKey)
    const mtproto = new MtprotoClient({
      app: { apiId, ...device },
      testMode: cfg.network.testMode,
      homeDc,
      keys,
      sleepThreshold: 0,
      maxRetries: 2,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      ...cfg.network.timeouts,
      ...(secrets.proxy ? { proxy: accountProxy(secrets.proxy) } : {}),
      ...(cfg.network.dcs ? { dcs: cfg.network.dcs } : {}),
      ...(cfg.network.rsaKeys ? { rsaKeys: cfg.network.rsaKeys } : {}),
      ...(data.kind === 'qr'
        ? {
            onUpdate: (u: TlValue) => {
              if (isLoginTokenUpdate(u))
                void cfg.redis.publish(qrScannedChannel(cfg.prefix), JSON.stringify({ jobId })).catch(() => undefined)
            },
          }
        : {}),
    })
    const host = loginHostOf({
      apiId: o.apiId ?? cfg.apiId,
      apiHash: secrets.apiHash ?? cfg.apiHash,
      mtproto,
      onHomeDc: (dcId) => {
        keys.setHome(dcId)
        // Best effort (the session has the DC too); never an unhandled rejection, which would end the thread.
        cfg.redis
          .multi()
          .hset(cfg.loginKey(jobId), 'dcId', dcId)
          .expire(cfg.loginKey(jobId), cfg.loginTtlSec(data))
          .exec()
          .catch(() => undefined)
      },
    })
    return { mtproto, keys, storage, host, lastUsed: Date.now() }
  }

  /**
   * On test servers, 99966 X YYYY lives on DC X (core.telegram.org/api/auth#test-accounts): starting there saves
   * the PHONE_MIGRATE round trip and a second auth key per login.
   */
  private testNumberDc(data: LoginJobData): number | undefined {
    if (!this.cfg.network.testMode || data.kind !== 'user') return undefined
    const m = /^99966(\d)\d{4}$/.exec(data.account)
    const dc = m ? Number(m[1]) : 0
    const known = this.cfg.network.dcs ? this.cfg.network.dcs.some((d) => d.id === dc) : dc >= 1 && dc <= 3
    return known ? dc : undefined
  }

  private evictIdle(): void {
    const idle = this.cfg.clientIdleMs ?? 120_000
    for (const [id, c] of this.clients) if (Date.now() - c.lastUsed > idle) void this.drop(id)
  }

  /** The home DC of the job's connected client, if one is cached (no connection is made). */
  dcOf(jobId: string): number | undefined {
    return this.clients.get(jobId)?.mtproto.homeDc
  }

  /** Closes the job's client, if connected; its keys are flushed to Redis first. */
  async drop(jobId: string): Promise<void> {
    const c = this.clients.get(jobId)
    if (!c) return
    this.clients.delete(jobId)
    c.mtproto.close()
    await c.keys.flush().catch(() => undefined)
    await c.storage.close().catch(() => undefined)
  }

  async close(): Promise<void> {
    clearInterval(this.sweep)
    await Promise.all([...this.clients.keys()].map((id) => this.drop(id)))
  }
}
