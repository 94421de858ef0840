// `gramfarm demo` with a master key seals what it stores as a farm does: after the run (--keep leaves its keys),
// no 2FA password, bot token, code or auth key of the demo's accounts is readable in its Redis prefix, and every
// auth key, vault field, phone_code_hash, parked code and password is sealed under that key. Real Redis on
// 127.0.0.1:6379, the demo's own test DC.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { parseMasterKey } from '../src/foundation/sealed-value.ts'
import { hashTaggedPrefix } from '../src/queue/redis-keys.ts'
import { redisClient, runCli, scratchScope } from './farm-e2e-harness.ts'

const { dir } = scratchScope('secrets-demo')
const masterHex = randomBytes(32).toString('hex')
const SEALED = `gfs1.${parseMasterKey(masterHex, 't').id}.`

/** Every string of the demo's seed and accounts files under a key named like a secret (passwords, tokens). */
function demoSecrets(): string[] {
  const out = new Set<string>()
  const walk = (v: unknown, key = ''): void => {
    if (typeof v === 'string') {
      if (/password|token/i.test(key) && v.length >= 4) {
        out.add(v)
        if (/^\d+:/.test(v)) out.add(v.split(':')[1]!)
      }
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, key))
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(x, /password|token/i.test(key) ? key : k)
  }
  for (const f of ['config/demo-accounts.testdc.json', 'config/demo-accounts.json'])
    walk(JSON.parse(readFileSync(join(import.meta.dirname, '..', f), 'utf8')))
  return [...out]
}

describe('gramfarm demo with a master key', () => {
  it('leaves nothing secret readable in Redis', { timeout: 240_000 }, async () => {
    const needles = demoSecrets()
    assert.ok(needles.length >= 3, `found the demo's secrets to look for (${needles.length})`)
    const run = await runCli(['demo', '--keep', '--out', join(dir, 'demo')], {
      env: { GRAMFARM_MASTER_KEY: masterHex },
      timeoutMs: 200_000,
    })
    const named = /prefix (\S+);/.exec(run.stderr)?.[1]
    assert.ok(named, run.stderr)
    // the farm's keys live under its hash-tagged form (one Redis Cluster slot)
    const prefix = hashTaggedPrefix(named)
    const redis = redisClient()
    try {
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`)
      assert.ok(!run.stderr.includes('stored in Redis in clear'), 'no clear-storage warning with a key')
      const found: string[] = []
      const kinds = new Set<string>()
      let cursor = '0'
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        for (const key of keys) {
          const rel = key.slice(prefix.length)
          const type = await redis.type(key)
          const values: [string, Buffer][] =
            type === 'hash'
              ? Object.entries(await redis.hgetallBuffer(key))
              : type === 'string'
                ? [['', (await redis.getBuffer(key))!]]
                : []
          for (const [field, v] of values) {
            const text = v.toString('latin1')
            for (const n of needles) if (text.includes(n)) found.push(`${rel}#${field}: holds a demo secret`)
            const mustBeSealed =
              (/^session:[^:]+$/.test(rel) && (field === 'authKey' || field.startsWith('dcKey:'))) ||
              (rel.startsWith('login:') && field === 'phoneCodeHash') ||
              rel.startsWith('secret:') ||
              rel.startsWith('session-secret:') ||
              (/^code:(pending:)?\d+(:\d+)?$/.test(rel) && type === 'string') ||
              (/^password:\d+$/.test(rel) && type === 'string')
            if (mustBeSealed) {
              kinds.add(rel.split(':')[0]!)
              if (!text.startsWith(SEALED)) found.push(`${rel}#${field}: not sealed`)
            }
          }
        }
      } while (cursor !== '0')
      assert.ok(kinds.has('session'), `the scan saw sessions (${[...kinds].join(', ')})`)
      assert.deepEqual(found, [])
    } finally {
      await deleteKeysUnder(redis, prefix)
      redis.disconnect()
    }
  })
})
