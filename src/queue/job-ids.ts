// Private job ids. A job id is in every log line and report row, so it must not give the phone back: an unsalted
// SHA-256 of a phone is reversed by brute force in under a second (about 10^10 numbers). A farm with a master key
// names its jobs with an HMAC under a per-farm secret, kept sealed in Redis, so the ids stay stable per account
// (the same account queued twice is one job) and across master key rotations. A farm without a key keeps the
// plain ids (it keeps its secrets in clear anyway, and says so at start).
import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { RedisClient } from './redis-connection.ts'
import type { Sealer } from '../foundation/sealed-value.ts'
import { loginJobId, type LoginKind } from './login-job.ts'
import { FarmRedisKeys } from './redis-keys.ts'

const SECRET_BYTES = 32

export class JobIds {
  /** Plain ids (loginJobId): a farm without a master key. */
  static readonly plain = new JobIds(null)

  constructor(private readonly secret: Uint8Array | null) {}

  get keyed(): boolean {
    return this.secret !== null
  }

  /** The job id of an account (kind + accountKey, as loginJobId takes them). */
  of(kind: LoginKind, accountKey: string): string {
    if (this.secret === null) return loginJobId(kind, accountKey)
    return `${kind}-${createHmac('sha256', this.secret).update(`${kind}\0${accountKey}`).digest('hex').slice(0, 32)}`
  }

  /** The id of a session job (`check-…`, `harden-…`): one per session and operation, the name not given back. */
  ofSession(op: string, session: string): string {
    const input = `${op}\0${session}`
    const digest =
      this.secret === null
        ? createHash('sha256').update(input).digest('hex')
        : createHmac('sha256', this.secret).update(input).digest('hex')
    return `${op}-${digest.slice(0, 32)}`
  }
}

/**
 * The farm's job ids: keyed when the sealer encrypts. The per-farm secret is made by whichever process needs it
 * first (SET NX, so concurrent starts agree) and stored sealed under the master key, bound to its key name.
 */
export async function loadJobIds(redis: RedisClient, prefix: string, sealer: Sealer): Promise<JobIds> {
  if (!sealer.encrypting) return JobIds.plain
  const key = new FarmRedisKeys(prefix).jobIdSecret
  await redis.set(key, sealer.seal(randomBytes(SECRET_BYTES), key), 'NX')
  const stored = await redis.get(key)
  if (stored === null) throw new Error(`${key} vanished while it was read`)
  return new JobIds(sealer.open(stored, key))
}
