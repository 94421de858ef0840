// `gramfarm sessions export --account`: phones match however they are written, QR labels and bot names exactly
// as they are (their dashes are part of them). Real Redis on 127.0.0.1:6379 under a prefix of this file.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import type { SessionStringsFile } from '../src/farm/session-export.ts'
import { sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { REDIS_URL, runCli, scratchScope } from './farm-e2e-harness.ts'

const { prefix, redis, dir } = scratchScope('cli-sessions')

/** A logged-in session under `name`, as a worker saves one. */
async function saveSession(name: string, userId: bigint): Promise<void> {
  const storage = new RedisSessionStorage({ redis, name, keyPrefix: sessionKeyPrefix(prefix) })
  await storage.open()
  try {
    await storage.save({ dcId: 2, apiId: 2040, testMode: true, authKey: randomBytes(256), userId, isBot: false })
  } finally {
    await storage.close()
  }
}

before(async () => {
  await saveSession('user-9996621234', 1001n)
  await saveSession('user-9996621235', 1002n)
  await saveSession('qr-qr-20261101120000-1', 1003n)
})

describe('gramfarm sessions export --account', () => {
  it('matches a phone however it is written and a QR label as it is', async () => {
    const strings = join(dir, 'strings.json')
    const r = await runCli([
      '--redis-url',
      REDIS_URL,
      '--prefix',
      prefix,
      'sessions',
      'export',
      '--strings',
      strings,
      '--json',
      '--account',
      'qr-20261101120000-1',
      '+999 (66) 21-234',
    ])
    assert.equal(r.code, 0, r.stderr)
    const doc = JSON.parse(readFileSync(strings, 'utf8')) as SessionStringsFile
    assert.deepEqual(doc.sessions.map((s) => s.account).sort(), ['9996621234', 'qr-20261101120000-1'])
  })

  it('does not clean a QR-looking value into a phone, nor a phone into a label', async () => {
    const strings = join(dir, 'none.json')
    const r = await runCli([
      '--redis-url',
      REDIS_URL,
      '--prefix',
      prefix,
      'sessions',
      'export',
      '--strings',
      strings,
      '--json',
      '--account',
      'qr20261101120000-1',
    ])
    assert.equal(r.code, 1, r.stderr)
    assert.deepEqual((JSON.parse(r.stdout) as { exported: unknown[] }).exported, [])
  })
})
