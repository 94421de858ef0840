// What a farm worker needs to know, passed from the `gramfarm worker` process to its piscina threads.
import type { DcAddress } from '../mtproto/dc/dc-addresses.ts'
import type { KeyringSpec } from '../foundation/master-key-source.ts'
import type { RedisEndpoint } from '../queue/redis-connection.ts'

export interface FarmWorkerConfig {
  /** The farm's Redis (URL, cluster or sentinels, ACL user, TLS files): every thread opens its own connections. */
  redis: RedisEndpoint
  prefix: string
  apiId: number
  apiHash: string
  /** The local test DC (its DCs and public key PEM), or absent for Telegram. */
  testDc?: { dcs: DcAddress[]; publicKeyPem: string }
  codeTimeoutMs?: number
  recheckMs?: number
  waitSliceMs?: number
  /** FLOOD_WAITs longer than this end the login as flood_wait(X) instead of delaying it (default 1 h). */
  maxFloodWaitSeconds?: number
  /** Connected clients each thread keeps for reuse (default 512) and for how long (default 2 min). */
  maxCachedClients?: number
  clientIdleMs?: number
  /**
   * Deadlines of every login's client (MtprotoClient's options of the same names), so a DC or network that
   * accepts connections and goes silent ends the step, and after its attempts the job, instead of holding it:
   * the TCP connect (default 10 s), each answer of the auth-key exchange (default 10 s), and each call from
   * invoke() to its answer, the connection's wait included (default 30 s).
   */
  connectTimeoutMs?: number
  handshakeTimeoutMs?: number
  requestTimeoutMs?: number
  /** Global and per-DC auth.sendCode pacing. */
  sendCodeRate?: { globalPerSec: number; globalBurst: number; perDcPerSec: number; perDcBurst: number }
  logLevel?: string
  /** The master keys (resolved by the CLI; each thread builds its keyring from them). Absent: secrets in clear. */
  keyring?: KeyringSpec
  /** Lifetime of the session records the logins write in Redis (from their last write); absent: kept until deleted. */
  sessionTtlSeconds?: number
  /**
   * How accounts without a saved identity get one (src/auth/device-identity.ts parseIdentityChoice: `mix`,
   * `mix:windows=2,android=1`, `desktop`, `android`, `preset:<id>`, `library`); default `mix`.
   */
  identity?: string
}
