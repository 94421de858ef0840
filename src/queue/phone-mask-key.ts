// The key of masked phones' tags (`+9996***001~3f2a`). A tag under a key everyone knows is reversed by trying the
// few numbers the visible digits leave, so each farm has its own random key, made by whichever process needs it
// first (SET NX, so concurrent starts agree) and kept in Redis sealed under the master key like the job-id secret:
// without access to the farm's Redis (and its master key, when it has one) a tag gives nothing away, and every
// process of the farm (CLI, worker, its threads, serve) masks a phone alike. GRAMFARM_MASK_KEY overrides it.
import { randomBytes } from 'node:crypto'
import type { RedisClient } from './redis-connection.ts'
import { setPhoneMaskKey } from '../foundation/logger.ts'
import type { Sealer } from '../foundation/sealed-value.ts'
import { FarmRedisKeys } from './redis-keys.ts'

const SECRET_BYTES = 32

/** The farm's mask key (hex), made on first use. Throws SealedValueError when the master key cannot open it. */
export async function loadPhoneMaskKey(redis: RedisClient, prefix: string, sealer: Sealer): Promise<string> {
  const key = new FarmRedisKeys(prefix).phoneMaskSecret
  let stored = await redis.get(key)
  if (stored === null) {
    await redis.set(key, sealer.seal(randomBytes(SECRET_BYTES), key), 'NX')
    stored = await redis.get(key)
  }
  if (stored === null) throw new Error(`${key} vanished while it was read`)
  return sealer.open(stored, key).toString('hex')
}

/**
 * Makes this process mask phones with the farm's key: GRAMFARM_MASK_KEY when set, else the farm's secret.
 * Returns the key in force (for threads, which have their own copy of the logger module).
 */
export async function adoptPhoneMaskKey(
  redis: RedisClient,
  prefix: string,
  sealer: Sealer,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const key = env.GRAMFARM_MASK_KEY || (await loadPhoneMaskKey(redis, prefix, sealer))
  setPhoneMaskKey(key)
  return key
}
