// help.getConfig / help.getNearestDc of the test DC: tells clients where the other DCs of this host are.
import type { TlValue } from '../../mtproto/tl/index.ts'
import type { RpcHandler } from '../rpc-dispatcher.ts'

export interface DcEndpoint {
  id: number
  host: string
  port: number
}

/** How long a config stays valid, in seconds (Telegram sends about an hour). */
const CONFIG_TTL_SECONDS = 3600
/** help.appConfig's hash for the test DC's (empty) config. */
const APP_CONFIG_HASH = 1

/**
 * The client limits and timings Telegram's config carries (its production values): the test DC answers with them,
 * and the codec tests and benches encode them.
 */
export const TELEGRAM_CLIENT_LIMITS = {
  chatSizeMax: 200,
  megagroupSizeMax: 200000,
  forwardedCountMax: 100,
  onlineUpdatePeriodMs: 210000,
  offlineBlurTimeoutMs: 5000,
  offlineIdleTimeoutMs: 30000,
  onlineCloudTimeoutMs: 300000,
  notifyCloudDelayMs: 30000,
  notifyDefaultDelayMs: 1500,
  pushChatPeriodMs: 60000,
  pushChatLimit: 2,
  editTimeLimit: 172800,
  revokeTimeLimit: 2147483647,
  revokePmTimeLimit: 2147483647,
  ratingEDecay: 2419200,
  stickersRecentLimit: 200,
  channelsReadMediaPeriod: 604800,
  callReceiveTimeoutMs: 20000,
  callRingTimeoutMs: 90000,
  callConnectTimeoutMs: 30000,
  callPacketTimeoutMs: 10000,
  meUrlPrefix: 'https://t.me/',
} as const

export function buildConfig(thisDc: number, dcs: readonly DcEndpoint[], now = Math.floor(Date.now() / 1000)): TlValue {
  return {
    _: 'config',
    date: now,
    expires: now + CONFIG_TTL_SECONDS,
    testMode: true,
    thisDc,
    dcOptions: dcs.map((dc) => ({ _: 'dcOption', id: dc.id, ipAddress: dc.host, port: dc.port, thisPortOnly: true })),
    dcTxtDomainName: 'testdc.invalid',
    ...TELEGRAM_CLIENT_LIMITS,
    captionLengthMax: 1024,
    messageLengthMax: 4096,
    webfileDcId: thisDc,
  }
}

export function helpService(thisDc: number, dcs: () => readonly DcEndpoint[]): Record<string, RpcHandler> {
  return {
    'help.getConfig': () => buildConfig(thisDc, dcs()),
    'help.getNearestDc': () => ({ _: 'nearestDc', country: 'XX', thisDc, nearestDc: thisDc }),
    // The app config is a JSON object of client tunables; the test DC has none (hash 0 means "no config yet").
    'help.getAppConfig': (req) =>
      req['hash'] === APP_CONFIG_HASH
        ? { _: 'help.appConfigNotModified' }
        : { _: 'help.appConfig', hash: APP_CONFIG_HASH, config: { _: 'jsonObject', value: [] } },
  }
}
