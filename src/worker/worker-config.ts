// What a farm worker needs to know, passed from the `gramfarm worker` process to its piscina threads.
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'

export interface FarmWorkerConfig {
  redisUrl: string
  prefix: string
  apiId: number
  apiHash: string
  /** The local test DC (its DCs and public key PEM), or absent for Telegram. */
  testDc?: { dcs: DcAddress[]; publicKeyPem: string }
  codeTimeoutMs?: number
  recheckMs?: number
  waitSliceMs?: number
  /** Global and per-DC auth.sendCode pacing. */
  sendCodeRate?: { globalPerSec: number; globalBurst: number; perDcPerSec: number; perDcBurst: number }
  logLevel?: string
}
