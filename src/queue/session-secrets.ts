// A stored session's own secrets, which outlive any job: the proxy the account always connects through, the
// api_hash of its api_id, and its 2FA password (set by `sessions harden`, or known from an import). One hash per
// session, each field sealed under the master key (when one is set) and bound to the hash's name and the field's,
// so a password cannot be moved to another session or read as a proxy. Never logged; no TTL (they live as long as
// the session does; deleting the session deletes them).
import type { RedisClient } from './redis-connection.ts'
import { Keyring, type Sealer } from '../foundation/sealed-value.ts'
import { DEFAULT_PREFIX, FarmRedisKeys } from './redis-keys.ts'

export interface SessionSecrets {
  /** `socks5://user:pass@host:port` or `mtproxy://host:port?secret=…`. */
  proxy?: string
  apiHash?: string
  /** The account's 2FA password. */
  password?: string
  /**
   * A 2FA password being set by `sessions harden`: written before account.updatePasswordSettings is sent, so a
   * crash between Telegram's change and our write cannot lose the password; made `password` once Telegram took it.
   */
  pendingPassword?: string
}

const FIELDS = ['proxy', 'apiHash', 'password', 'pendingPassword'] as const satisfies readonly (keyof SessionSecrets)[]

export class SessionSecretStore {
  private readonly keys: FarmRedisKeys

  constructor(
    private readonly redis: RedisClient,
    prefix = DEFAULT_PREFIX,
    private readonly sealer: Sealer = Keyring.clear(),
  ) {
    this.keys = new FarmRedisKeys(prefix)
  }

  private boundTo(key: string, field: string): string {
    return `${key}#${field}`
  }

  /** Sets the given fields (others keep their value); an empty string or null removes a field. */
  async put(session: string, secrets: { [F in keyof SessionSecrets]?: string | null }): Promise<void> {
    const key = this.keys.sessionSecrets(session)
    const set: Record<string, string> = {}
    const drop: string[] = []
    for (const f of FIELDS) {
      const v = secrets[f]
      if (v === undefined) continue
      if (v === null || v === '') drop.push(f)
      else set[f] = this.sealer.seal(v, this.boundTo(key, f))
    }
    const multi = this.redis.multi()
    if (Object.keys(set).length > 0) multi.hset(key, set)
    if (drop.length > 0) multi.hdel(key, ...drop)
    await multi.exec()
  }

  /** A value that does not open (wrong master key, altered, moved) throws SealedValueError naming the key id. */
  async get(session: string): Promise<SessionSecrets> {
    const key = this.keys.sessionSecrets(session)
    const h = await this.redis.hgetall(key)
    const out: SessionSecrets = {}
    for (const f of FIELDS) if (h[f]) out[f] = this.sealer.openText(h[f], this.boundTo(key, f))
    return out
  }

  async delete(session: string): Promise<void> {
    await this.redis.del(this.keys.sessionSecrets(session))
  }
}
