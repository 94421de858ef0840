// The TL faces of a login: auth.authorization for the client that logged in, `authorization` for session lists.
import type { tl } from '../../mtproto/tl/index.ts'
import type { ClientInfo } from '../rpc-dispatcher.ts'
import { toTlUser, type Account } from './account.ts'

/** Where sessions come from when the DC was not told (it only listens on loopback). */
const SESSION_IP = '127.0.0.1'

export function authorizationResult(account: Account, nowSeconds: number): tl.auth.RawAuthorization {
  return { _: 'auth.authorization', user: toTlUser(account, true, nowSeconds) }
}

/** An app registered with Telegram: the name sessions lists show for its api_id, and whether it is Telegram's own. */
export interface KnownApp {
  name: string
  official: boolean
}

/**
 * Telegram's own apps by api_id (ids as their open-source builds and opentele's templates carry them). Sessions of
 * other api_ids show the name their developer registered; the test DC knows none unless told (`apps` option).
 */
export const OFFICIAL_APPS: Readonly<Record<number, KnownApp>> = {
  6: { name: 'Telegram Android', official: true },
  2040: { name: 'Telegram Desktop', official: true },
  2496: { name: 'Telegram Web', official: true },
  2834: { name: 'Telegram macOS', official: true },
  10840: { name: 'Telegram iOS', official: true },
  21724: { name: 'Telegram X', official: true },
}

export interface SessionView {
  hash: bigint
  client: ClientInfo | null
  createdAt: number
  /** Unix seconds of the last request (createdAt when unknown). */
  activeAt?: number
  ip?: string
  country?: string
  region?: string
}

/**
 * The platform column of a session list. Telegram does not document how it fills it; the test DC reads it off
 * system_version the way official apps word theirs ("SDK 34" → Android, "Windows 11", "macOS 15.2", "Linux …",
 * an iPhone/iPad model → iOS), '' otherwise.
 */
export function platformOf(client: ClientInfo | null): string {
  if (!client) return ''
  const sys = client.systemVersion
  if (/^SDK \d+/.test(sys) || /android/i.test(sys)) return 'Android'
  if (/^Windows/i.test(sys)) return 'Windows'
  if (/^mac ?OS/i.test(sys)) return 'macOS'
  if (/^Linux/i.test(sys)) return 'Linux'
  if (/^(iPhone|iPad|iPod)/.test(client.deviceModel) || /^iOS/i.test(sys)) return 'iOS'
  return ''
}

/** One entry of account.authorizations; the caller's own session has hash 0, as Telegram sends it. */
export function toTlAuthorization(
  session: SessionView,
  current: boolean,
  nowSeconds: number,
  apps: Readonly<Record<number, KnownApp>> = OFFICIAL_APPS,
): tl.RawAuthorization {
  const c = session.client
  const app = c ? apps[c.apiId] : undefined
  return {
    _: 'authorization',
    ...(current ? { current: true } : {}),
    ...(app?.official ? { officialApp: true } : {}),
    hash: current ? 0n : session.hash,
    deviceModel: c?.deviceModel ?? 'Unknown device',
    platform: platformOf(c),
    systemVersion: c?.systemVersion ?? '',
    apiId: c?.apiId ?? 0,
    appName: app?.name ?? (c ? `app ${c.apiId}` : 'Unknown app'),
    appVersion: c?.appVersion ?? '',
    dateCreated: session.createdAt,
    dateActive: current ? nowSeconds : (session.activeAt ?? session.createdAt),
    ip: session.ip || SESSION_IP,
    country: session.country ?? '',
    region: session.region ?? '',
  }
}
