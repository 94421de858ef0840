// Secrets a login job needs but must not carry in its (clear-text) BullMQ data: bot tokens, 2FA passwords,
// proxy URLs (with their credentials or MTProxy secret) and per-account api_hash given in the accounts file. One
// hash per job id, deleted when the job ends. Each field is sealed under the master key (when one is set), bound to
// the hash's name and the field's, so a password cannot be swapped for another job's or read as a bot token.
// Lifetime: until a worker starts the login (the hold), then until the login's deadline — not longer.
import type { RedisClient } from './redis-connection.ts'
import { Keyring, type Sealer } from '../foundation/sealed-value.ts'
import { DEFAULT_PREFIX, FarmRedisKeys } from './redis-keys.ts'

export interface JobSecrets {
  botToken?: string
  password?: string
  /** `socks5://user:pass@host:port` or `mtproxy://host:port?secret=…`. */
  proxy?: string
  apiHash?: string
}

const FIELDS = ['botToken', 'password', 'proxy', 'apiHash'] as const satisfies readonly (keyof JobSecrets)[]

/** How long secrets wait for a worker to start their login (a queue of many accounts drains slowly). */
export const SECRET_HOLD_SECONDS = 6 * 3600
/** Secrets outlive their login's deadline by this much (the step that reads them last runs just after it). */
const AFTER_DEADLINE_MS = 60_000

export class SecretVault {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = DEFAULT_PREFIX,
    private readonly sealer: Sealer = Keyring.clear(),
  ) {}

  /** The job's vault hash (what delete() removes; a caller may remove it in one DEL with the job's other keys). */
  keyOf(jobId: string): string {
    return new FarmRedisKeys(this.prefix).secret(jobId)
  }

  private key(jobId: string): string {
    return this.keyOf(jobId)
  }

  /** What a field is bound to (associated data): the hash and the field. */
  private boundTo(key: string, field: string): string {
    return `${key}#${field}`
  }

  /** Stores a job's secrets for `holdSeconds` (until a worker starts its login and sets its deadline). */
  async put(jobId: string, secrets: JobSecrets, holdSeconds = SECRET_HOLD_SECONDS): Promise<void> {
    const key = this.key(jobId)
    const fields = FIELDS.filter((f) => typeof secrets[f] === 'string' && secrets[f] !== '').map(
      (f) => [f, this.sealer.seal(secrets[f]!, this.boundTo(key, f))] as const,
    )
    if (fields.length === 0) return
    await this.redis
      .multi()
      .hset(key, Object.fromEntries(fields))
      .expire(key, Math.max(1, Math.ceil(holdSeconds)))
      .exec()
  }

  /** A value that does not open (wrong master key, altered) throws SealedValueError naming the key id. */
  async get(jobId: string): Promise<JobSecrets> {
    const key = this.key(jobId)
    const h = await this.redis.hgetall(key)
    const secrets: JobSecrets = {}
    for (const f of FIELDS) if (h[f]) secrets[f] = this.sealer.openText(h[f], this.boundTo(key, f))
    return secrets
  }

  /** The login now waits until `deadline` (unix ms): its secrets live until just after it, no longer. */
  async expireWithDeadline(jobId: string, deadline: number): Promise<void> {
    await this.redis.pexpireat(this.key(jobId), Math.max(Date.now() + 1000, deadline + AFTER_DEADLINE_MS))
  }

  async delete(jobId: string): Promise<void> {
    await this.redis.del(this.key(jobId))
  }
}
