// A stored session connected for a session job: its auth keys, its identity (the device, system, app version and
// languages saved with it: an account must present the same identity on every connection, or Telegram may log it
// out), its api_id and its own proxy. The keys are held in memory only: a check or a harden never changes the
// stored session (a key the DC refused stays stored, so the report says why; `--relogin` replaces it).
import type { RedisClient } from '../../queue/redis-connection.ts'
import type { AppIdentity } from '../../mtproto/dc/dc-connection.ts'
import { MtprotoClient, type AuthKeyStore } from '../../mtproto/client/mtproto-client.ts'
import { parseProxyUrl } from '../../mtproto/transport/proxy-url.ts'
import type { Sealer } from '../../foundation/sealed-value.ts'
import { RedisSessionStorage, type SessionRecord } from '../../auth/storage/index.ts'
import { QueueError } from '../../queue/queue-error.ts'
import { sessionKeyPrefix } from '../../queue/redis-keys.ts'
import type { SessionSecretStore, SessionSecrets } from '../../queue/session-secrets.ts'
import type { LoginNetwork } from '../login-client-cache.ts'

/** The identity a session without one connects with: the library's defaults (an obvious fingerprint; warned of). */
export const DEFAULT_IDENTITY = {
  deviceModel: 'gramfarm',
  systemVersion: 'Linux',
  appVersion: '0.1.0',
  systemLangCode: 'en',
  langPack: '',
  langCode: 'en',
} as const

/** Longest wait for one answer (a connection and key exchange included): past it the job is retried. */
const REQUEST_TIMEOUT_MS = 30_000

export interface SessionJobEnv {
  readonly redis: RedisClient
  readonly prefix: string
  readonly sealer?: Sealer
  readonly network: LoginNetwork
  /** The farm's api_id, for sessions that do not say theirs. */
  readonly apiId: number
  readonly secrets: SessionSecretStore
}

/** The session is not in Redis (deleted since it was queued): the job ends as failed(no_session). */
export class SessionMissingError extends QueueError {
  override readonly name = 'no_session'
}

/** The session's proxy URL does not parse: failed(proxy_invalid). */
export class SessionProxyError extends QueueError {
  override readonly name = 'proxy_invalid'
}

export interface SessionConnection {
  readonly mtproto: MtprotoClient
  readonly record: SessionRecord
  readonly secrets: SessionSecrets
  /** The identity it connected with. */
  readonly app: AppIdentity
  /** No identity was stored with the session: it connected with the library's defaults. */
  readonly defaultIdentity: boolean
  close(): void
}

/** Keys in memory only: a refused key is forgotten here, never in the stored session. */
class HeldKeys implements AuthKeyStore {
  private readonly keys = new Map<number, { authKey: Uint8Array; serverSalt?: bigint }>()
  constructor(record: SessionRecord) {
    this.keys.set(record.dcId, { authKey: record.authKey })
    for (const [dc, key] of Object.entries(record.dcAuthKeys ?? {})) this.keys.set(Number(dc), { authKey: key })
  }
  get(dcId: number): { authKey: Uint8Array; serverSalt?: bigint } | undefined {
    return this.keys.get(dcId)
  }
  set(dcId: number, authKey: Uint8Array, serverSalt: bigint): void {
    this.keys.set(dcId, { authKey, serverSalt })
  }
  delete(dcId: number): void {
    this.keys.delete(dcId)
  }
}

export async function loadSessionRecord(env: SessionJobEnv, session: string): Promise<SessionRecord | null> {
  const storage = new RedisSessionStorage({
    redis: env.redis,
    name: session,
    keyPrefix: sessionKeyPrefix(env.prefix),
    ...(env.sealer ? { sealer: env.sealer } : {}),
  })
  await storage.open()
  try {
    return await storage.load()
  } finally {
    await storage.close()
  }
}

/** The identity a session connects with: its own, else the defaults (and says so). */
export function identityOf(record: SessionRecord, farmApiId: number): { app: AppIdentity; defaultIdentity: boolean } {
  const d = record.device
  return {
    app: { apiId: record.apiId ?? farmApiId, ...(d ?? DEFAULT_IDENTITY) },
    defaultIdentity: d === undefined,
  }
}

export async function connectSession(env: SessionJobEnv, session: string): Promise<SessionConnection> {
  const record = await loadSessionRecord(env, session)
  if (record === null) throw new SessionMissingError(`session ${session} is not in Redis`)
  const secrets = await env.secrets.get(session)
  let proxy: NonNullable<ConstructorParameters<typeof MtprotoClient>[0]['proxy']> | undefined
  if (secrets.proxy !== undefined) {
    const parsed = parseProxyUrl(secrets.proxy)
    if (!parsed.ok) throw new SessionProxyError(`the proxy of session ${session} does not parse: ${parsed.reason}`)
    proxy = parsed.value
  }
  const { app, defaultIdentity } = identityOf(record, env.apiId)
  const mtproto = new MtprotoClient({
    app,
    testMode: env.network.testMode,
    homeDc: record.dcId,
    keys: new HeldKeys(record),
    // A FLOOD_WAIT is the check's answer (flood_wait(X)), not something to sleep through.
    sleepThreshold: 0,
    maxRetries: 1,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    ...env.network.timeouts,
    ...(proxy ? { proxy } : {}),
    ...(env.network.dcs ? { dcs: env.network.dcs } : {}),
    ...(env.network.rsaKeys ? { rsaKeys: env.network.rsaKeys } : {}),
  })
  return { mtproto, record, secrets, app, defaultIdentity, close: () => mtproto.close() }
}
