// Secrets a login job needs but must not carry in its (clear-text) BullMQ data: bot tokens, 2FA passwords,
// proxy URLs (with their credentials or MTProxy secret) and per-account api_hash given in the accounts file. One
// hash per job id, with a TTL, deleted when the job ends.
import type { Redis } from 'ioredis'
import { DEFAULT_PREFIX, FarmRedisKeys } from './redis-keys.ts'

export interface JobSecrets {
  botToken?: string
  password?: string
  /** `socks5://user:pass@host:port` or `mtproxy://host:port?secret=…`. */
  proxy?: string
  apiHash?: string
}

const FIELDS = ['botToken', 'password', 'proxy', 'apiHash'] as const satisfies readonly (keyof JobSecrets)[]

/** Secrets outlive a job only this long if it never finishes (a week). */
const SECRET_TTL_SECONDS = 7 * 24 * 3600

export class SecretVault {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = DEFAULT_PREFIX,
  ) {}

  private key(jobId: string): string {
    return new FarmRedisKeys(this.prefix).secret(jobId)
  }

  async put(jobId: string, secrets: JobSecrets): Promise<void> {
    const fields = Object.entries(secrets).filter(([, v]) => typeof v === 'string' && v !== '') as [string, string][]
    if (fields.length === 0) return
    await this.redis.multi().hset(this.key(jobId), Object.fromEntries(fields)).expire(this.key(jobId), SECRET_TTL_SECONDS).exec()
  }

  async get(jobId: string): Promise<JobSecrets> {
    const h = await this.redis.hgetall(this.key(jobId))
    const secrets: JobSecrets = {}
    for (const f of FIELDS) if (h[f]) secrets[f] = h[f]
    return secrets
  }

  async delete(jobId: string): Promise<void> {
    await this.redis.del(this.key(jobId))
  }
}
