// The farm bench's machine-use figures: the crypto floor of one login (client + test DC, timed alone), CPU
// efficiency against it, and the Redis commands a run sends (INFO commandstats deltas).
import { generatePrimeSync } from 'node:crypto'
import { availableParallelism } from 'node:os'
import type { Redis } from 'ioredis'
import { DhGroup, TELEGRAM_DH_PRIME } from '../../src/mtproto/crypto/dh.ts'
import { factorizePq } from '../../src/mtproto/crypto/factorize.ts'
import { randomBytes } from '../../src/mtproto/crypto/random.ts'
import { generateRsaKeyPair } from '../../src/mtproto/crypto/rsa-keys.ts'
import { rsaPadDecrypt, rsaPadEncrypt } from '../../src/mtproto/crypto/rsa-pad.ts'

/** The key exchange's data (p_q_inner_data_dc) is under this many bytes: what RSA_PAD encrypts. */
const INNER_DATA_BYTES = 96

/**
 * CPU milliseconds of the crypto one login cannot do without, client and DC together, each primitive timed alone
 * on this thread (median of 5 rounds): client — pq factorisation, RSA_PAD encryption, g^b and g_a^b; DC — two
 * 31-bit primes for pq, RSA_PAD decryption with the private key, g^a and g_b^a. Hashes and AES of the few
 * messages a login sends are left out (microseconds).
 */
export function cryptoFloorMsPerLogin(rounds = 5, perRound = 40): { client: number; dc: number; total: number } {
  const group = DhGroup.of(TELEGRAM_DH_PRIME, 3)
  const rsa = generateRsaKeyPair(2048)
  const gA = group.powG(randomBytes(256))
  const pqs = Array.from(
    { length: 16 },
    () => generatePrimeSync(31, { bigint: true }) * generatePrimeSync(31, { bigint: true }),
  )
  const encrypted = rsaPadEncrypt(randomBytes(INNER_DATA_BYTES), rsa)
  const cpuMs = (fn: () => void): number => {
    for (let i = 0; i < 3; i++) fn() // warm-up
    const samples: number[] = []
    for (let r = 0; r < rounds; r++) {
      const c0 = process.cpuUsage()
      for (let i = 0; i < perRound; i++) fn()
      const c = process.cpuUsage(c0)
      samples.push((c.user + c.system) / 1000 / perRound)
    }
    samples.sort((a, b) => a - b)
    return samples[Math.floor(samples.length / 2)]!
  }
  let k = 0
  const client = cpuMs(() => {
    const b = randomBytes(256)
    factorizePq(pqs[k++ % pqs.length]!)
    rsaPadEncrypt(randomBytes(INNER_DATA_BYTES), rsa)
    group.powG(b)
    group.pow(gA, b)
  })
  const dc = cpuMs(() => {
    const a = randomBytes(256)
    generatePrimeSync(31, { bigint: true })
    generatePrimeSync(31, { bigint: true })
    rsaPadDecrypt(encrypted, rsa)
    group.powG(a)
    group.pow(gA, a)
  })
  return { client, dc, total: client + dc }
}

/** (crypto floor per login × logins) ÷ (wall × cores): the share of the machine that went to unavoidable crypto. */
export function cpuEfficiency(floorMsPerLogin: number, logins: number, wallSeconds: number): number {
  return (floorMsPerLogin * logins) / (wallSeconds * 1000 * availableParallelism())
}

/** Commands Redis has run, by command (INFO commandstats). */
export async function redisCommandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats')
  const out = new Map<string, number>()
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]))
  return out
}

/** Commands run between two commandstats snapshots, by command, most first; and their total. */
export function commandDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): { total: number; byCommand: [string, number][] } {
  const byCommand: [string, number][] = []
  let total = 0
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0)
    if (d > 0) {
      byCommand.push([cmd, d])
      total += d
    }
  }
  byCommand.sort((a, b) => b[1] - a[1])
  return { total, byCommand }
}
