// Master key rotation: every sealed value of a farm (sessions' auth keys, their own secrets, the vault, login state,
// codes and passwords in the code channel, the job-id secret) is re-sealed under the keyring's current key, while
// workers run. Each value is replaced only if it is still the one read (compare-and-set in Redis), so a value a worker
// changed or consumed meanwhile is left to that worker (it writes under whichever key it holds; a worker given the
// new key as current and the old as readable keeps everything readable until rotation ends). Values in clear
// (stored before the farm had a key) are sealed too. A value under a key id the keyring does not hold is left
// untouched and reported with that id.
import type { RedisClient } from '../queue/redis-connection.ts'
import { Keyring, SealedValueError } from '../foundation/sealed-value.ts'
import { FarmRedisKeys } from '../queue/redis-keys.ts'
import { keysUnderPattern, scanKeys } from '../queue/redis-scan.ts'
import { RedisScript } from '../queue/redis-script.ts'

export interface RotationSummary {
  /** Sealed places looked at (hash fields and strings). */
  readonly looked: number
  /** Re-sealed under the current key. */
  readonly resealed: number
  /** Changed or consumed by someone else between the read and the write: left to them. */
  readonly raced: number
  /** Values that did not open: the Redis key + field, the reason and the key id named. Left untouched. */
  readonly unreadable: readonly { readonly at: string; readonly reason: string; readonly keyId: string | undefined }[]
}

// KEYS[1] key; ARGV: field, expected, replacement
const HASH_CAS = new RedisScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end
return 0`)
// KEYS[1] key; ARGV: expected, replacement
const STRING_CAS = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 end
return 0`)

/** Where a farm keeps sealed values: which fields of which keys, and what each is bound to. */
function sealedPlaces(
  rel: string,
  key: string,
  keys: FarmRedisKeys,
):
  | { kind: 'hash'; fields: (f: string) => boolean; binary: boolean }
  | { kind: 'string'; bound: string; binary: boolean }
  | null {
  if (/^session:[^:]+$/.test(rel))
    return { kind: 'hash', fields: (f) => f === 'authKey' || f.startsWith('dcKey:'), binary: true }
  if (rel.startsWith('secret:')) return { kind: 'hash', fields: () => true, binary: false }
  // a stored session's own secrets (proxy, api_hash, 2FA password; session-secrets.ts), every field sealed
  if (/^session-secret:[^:]+$/.test(rel)) return { kind: 'hash', fields: () => true, binary: false }
  if (/^login:[^:]+$/.test(rel)) return { kind: 'hash', fields: (f) => f === 'phoneCodeHash', binary: false }
  const pending = /^code:pending:([^:]+)$/.exec(rel)
  if (pending) return { kind: 'string', bound: keys.codeChannel.codePrefix(pending[1]!), binary: false }
  const routed = /^code:([^:]+):([^:]+)$/.exec(rel)
  if (routed && routed[1] !== 'req' && routed[1] !== 'requests')
    return { kind: 'string', bound: keys.codeChannel.codePrefix(routed[1]!), binary: false }
  if (/^password:[^:]+$/.test(rel)) return { kind: 'string', bound: key, binary: false }
  if (key === keys.jobIdSecret) return { kind: 'string', bound: key, binary: true }
  if (key === keys.phoneMaskSecret) return { kind: 'string', bound: key, binary: true }
  return null
}

/** Re-seals every sealed value under `prefix` with `keyring.current`. */
export async function rotateKeys(redis: RedisClient, prefix: string, keyring: Keyring): Promise<RotationSummary> {
  if (!keyring.current) throw new Error('rotation needs a current master key')
  const keys = new FarmRedisKeys(prefix)
  let looked = 0
  let resealed = 0
  let raced = 0
  const unreadable: { at: string; reason: string; keyId: string | undefined }[] = []

  const reseal = (stored: Buffer, bound: string, binary: boolean, at: string): Buffer | null => {
    looked++
    const text = stored.toString('latin1')
    if (!keyring.needsReseal(text)) return null
    try {
      const plain = Keyring.isSealed(stored)
        ? keyring.open(text, bound)
        : binary
          ? stored
          : keyring.open(stored.toString('utf8'), bound)
      return Buffer.from(keyring.seal(plain, bound), 'latin1')
    } catch (err) {
      if (!(err instanceof SealedValueError)) throw err
      unreadable.push({ at, reason: err.reason, keyId: err.keyId })
      return null
    }
  }

  for await (const found of scanKeys(redis, keysUnderPattern(keys.prefix), 500)) {
    for (const key of found) {
      const place = sealedPlaces(key.slice(keys.prefix.length), key, keys)
      if (!place) continue
      if (place.kind === 'hash') {
        if ((await redis.type(key)) !== 'hash') continue
        for (const [field, stored] of Object.entries(await redis.hgetallBuffer(key))) {
          if (!place.fields(field)) continue
          const bound = `${key}#${field}`
          const fresh = reseal(stored, bound, place.binary, bound)
          if (!fresh) continue
          if ((await HASH_CAS.run(redis, [key], [field, stored, fresh])) === 1) resealed++
          else raced++
        }
      } else {
        if ((await redis.type(key)) !== 'string') continue
        const stored = await redis.getBuffer(key)
        if (stored === null) continue
        const fresh = reseal(stored, place.bound, place.binary, key)
        if (!fresh) continue
        if ((await STRING_CAS.run(redis, [key], [stored, fresh])) === 1) resealed++
        else raced++
      }
    }
  }
  return { looked, resealed, raced, unreadable }
}
