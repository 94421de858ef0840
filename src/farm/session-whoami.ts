// Who an auth key logs in as: users.getUsers([inputUserSelf]) through a Client presenting the account's own
// identity (api id, device, app, languages) and proxy, so the lookup looks like the account's next connection and
// not like a new device. Used by `sessions import` for files that carry no user id (Telethon files, strings).
import { Client, type ClientOptions } from '../auth/client.ts'
import { MemorySessionStorage, type SessionRecord } from '../auth/storage/index.ts'
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'
import type { RsaPublicKey } from '../mtproto/crypto/rsa-keys.ts'
import { parseProxyUrl } from '../mtproto/transport/proxy-url.ts'

export interface WhoAmIOptions {
  /** Used when the record names no api id / the account has no api_hash of its own. */
  readonly apiId: number
  readonly apiHash: string
  /** The DC table and keys of a test DC; Telegram's otherwise. */
  readonly dcs?: readonly DcAddress[]
  readonly rsaKeys?: readonly RsaPublicKey[]
  readonly timeoutMs?: number
}

export interface WhoAmI {
  readonly userId: bigint
  readonly isBot: boolean
  readonly phone: string | null
}

/** The account's own secrets a connection needs (from the session secret store or a sidecar). */
export interface AccountSecrets {
  readonly apiHash: string | null
  readonly proxy: string | null
}

/**
 * Client options that present the account as it came: its api id with its api_hash (the farm's pair when it has no
 * hash of its own: Telegram checks the two together), its proxy; the device identity comes from the record itself
 * (Client.connect reads record.device). Throws RangeError for a proxy URL we cannot use.
 */
export function accountClientOptions(
  record: SessionRecord,
  account: AccountSecrets,
  opts: WhoAmIOptions,
): Pick<ClientOptions, 'apiId' | 'apiHash' | 'proxy' | 'dcs' | 'rsaKeys'> {
  const proxy = account.proxy === null ? undefined : parseProxyUrl(account.proxy)
  if (proxy && !proxy.ok) throw new RangeError(proxy.reason)
  const useOwnApp = record.apiId !== null && account.apiHash !== null
  return {
    apiId: useOwnApp ? record.apiId! : opts.apiId,
    apiHash: useOwnApp ? account.apiHash! : opts.apiHash,
    ...(opts.dcs ? { dcs: opts.dcs } : {}),
    ...(opts.rsaKeys ? { rsaKeys: opts.rsaKeys } : {}),
    ...(proxy?.ok ? { proxy: proxy.value } : {}),
  }
}

/** The account's user; throws AccountStateError('unauthorized', …) for a key the DC does not know as logged in. */
export async function whoAmI(record: SessionRecord, account: AccountSecrets, opts: WhoAmIOptions): Promise<WhoAmI> {
  const storage = new MemorySessionStorage()
  await storage.open()
  await storage.save({ ...record })
  const client = new Client('whoami', {
    ...accountClientOptions(record, account, opts),
    storage,
    requestTimeoutMs: opts.timeoutMs ?? 30_000,
    reconnect: { maxAttempts: 2 },
  })
  try {
    await client.connect()
    const me = await client.getMe()
    return { userId: me.id, isBot: me.bot ?? false, phone: me.phone ?? null }
  } finally {
    await client.stop()
  }
}
