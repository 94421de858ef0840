// Encrypted session bundles: `sessions export --encrypt` writes one file (0600) holding the sessions and their
// sidecars sealed with AES-256-GCM under the master key or a key given for the bundle, its header (key id, count)
// bound as associated data; `sessions import` reads it back into the farm's Redis storage with the key, and the
// sessions log in. A wrong key is named by id; an altered bundle does not open. Test DC over loopback, real Redis on
// 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import {
  isSessionBundle,
  openSessionBundle,
  readSessionBundleHeader,
  sealSessionBundle,
  SessionBundleError,
  type BundledSession,
} from '../src/farm/session-bundle.ts'
import { keyringFromSpec, type KeyringSpec } from '../src/foundation/master-key-source.ts'
import { Keyring, MasterKey, parseMasterKey } from '../src/foundation/sealed-value.ts'
import { sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { SessionSecretStore } from '../src/queue/session-secrets.ts'
import { REDIS_URL, runCli, sink, startFarm, type Farm } from './farm-e2e-harness.ts'
import { getMeWithRedisSession } from './support/redis-session-login.ts'

const USER = '9996621141'
const SECOND = '9996621142'
const BOT_TOKEN = '7200000041:AAFakeTokenForBundleTest00000000041'
const SEED = { bots: [{ token: BOT_TOKEN, dcId: 2 }] }

const masterHex = randomBytes(32).toString('hex')
const spec: KeyringSpec = { current: masterHex, old: [], requireEncryption: false }
const keyring = keyringFromSpec(spec)

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'secrets-bundle', seed: SEED, provider: { sealer: keyring } })
})

after(async () => {
  await farm.stop()
})

function sample(name: string): BundledSession {
  return {
    name,
    account: name.slice(5),
    kind: 'user',
    record: {
      dcId: 2,
      apiId: 2040,
      testMode: true,
      authKey: new Uint8Array(randomBytes(256)),
      date: 1_700_000_000,
      userId: 4242n,
      isBot: false,
      dcAuthKeys: { 4: new Uint8Array(randomBytes(256)) },
    },
    sidecar: { phone: name.slice(5), user_id: '4242' },
  }
}

function contains(hay: Buffer, needle: Uint8Array | string): boolean {
  return hay.includes(typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle))
}

describe('session bundle format', () => {
  const key = new MasterKey(randomBytes(32))
  const other = new MasterKey(randomBytes(32))
  const sessions = [sample('user-15550001111'), sample('user-15550002222')]
  const bytes = sealSessionBundle(sessions, key, 'bundle')

  it('opens with its key to the same sessions; nothing secret or personal in clear', () => {
    assert.ok(isSessionBundle(bytes))
    assert.ok(!isSessionBundle(Buffer.from('SQLite format 3\0')))
    const { header } = readSessionBundleHeader(bytes, 'b')
    assert.equal(header.keyId, key.id)
    assert.equal(header.sessions, 2)
    assert.equal(header.keySource, 'bundle')
    const opened = openSessionBundle(bytes, [other, key], 'b')
    assert.deepEqual(opened.sessions, sessions)
    for (const s of sessions) {
      assert.ok(!contains(bytes, s.record.authKey), 'no auth key in clear')
      assert.ok(!contains(bytes, s.record.dcAuthKeys![4]!), 'no other-DC key in clear')
      assert.ok(!contains(bytes, s.account), 'no phone in clear')
    }
  })

  it('a key not given is named by its id; an altered header or body does not open', () => {
    assert.throws(
      () => openSessionBundle(bytes, [other], 'b'),
      (err: unknown) =>
        err instanceof SessionBundleError &&
        err.reason === 'unknown-key' &&
        err.keyId === key.id &&
        err.message.includes(key.id),
    )
    // The header names the key: pointed at another key we hold, the associated data no longer matches.
    const { aad } = readSessionBundleHeader(bytes, 'b')
    const swapped = Buffer.from(bytes.toString('latin1').replace(key.id, other.id), 'latin1')
    assert.equal(readSessionBundleHeader(swapped, 'b').aad.length, aad.length)
    assert.throws(
      () => openSessionBundle(swapped, [key, other], 'b'),
      (err: unknown) => err instanceof SessionBundleError && err.reason === 'does-not-open',
    )
    const recounted = Buffer.from(bytes.toString('latin1').replace('"sessions":2', '"sessions":3'), 'latin1')
    assert.throws(
      () => openSessionBundle(recounted, [key], 'b'),
      (err: unknown) => err instanceof SessionBundleError && err.reason === 'does-not-open',
    )
    for (const at of [aad.length + 20, aad.length + 80, bytes.length - 1]) {
      const flipped = Buffer.from(bytes)
      flipped[at]! ^= 1
      assert.throws(
        () => openSessionBundle(flipped, [key], 'b'),
        (err: unknown) => err instanceof SessionBundleError && err.reason === 'does-not-open',
        `byte ${at}`,
      )
    }
    assert.throws(
      () => openSessionBundle(bytes.subarray(0, bytes.length - 30), [key], 'b'),
      (err: unknown) => err instanceof SessionBundleError && err.reason === 'does-not-open',
    )
    assert.throws(
      () => openSessionBundle(Buffer.from('GFSESSB2 not ours'), [key], 'b'),
      (err: unknown) => err instanceof SessionBundleError && err.reason === 'not-a-bundle',
    )
  })
})

describe('gramfarm sessions export --encrypt / sessions import', () => {
  const env = { GRAMFARM_MASTER_KEY: masterHex }
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = env, prefix = farm.prefix) =>
    runCli(['--redis-url', REDIS_URL, '--prefix', prefix, '--testdc', farm.endpointFile, ...args], {
      env: extraEnv,
    })
  const names = [`user-${USER}`, `user-${SECOND}`, 'bot-bot7200000041']

  it(
    'round-trips the farm sessions (master key, then a bundle key into another farm); they log in',
    { timeout: 180_000 },
    async () => {
      const worker = await farm.startWorker({ keyring: spec })
      const specs = parseAccounts(
        JSON.stringify([
          { kind: 'user', phone: USER },
          { kind: 'user', phone: SECOND },
          { kind: 'bot', token: BOT_TOKEN },
        ]),
        { file: 'a.json' },
      )
      const run = await runOnboarding(farm.redis, farm.prefix, specs, {
        progress: false,
        timeoutMs: 60_000,
        stdout: sink(),
        stderr: sink(),
        sealer: keyring,
      })
      assert.deepEqual(
        run.outcome.results.map((r) => r.state),
        ['authorized', 'authorized', 'authorized'],
      )
      await worker.close()
      const userIds = new Map<string, string>()
      for (const name of names) userIds.set(name, await getMeWithRedisSession(farm, name, keyring))
      const authKeys = await Promise.all(
        names.map(async (n) =>
          keyring.open(
            (await farm.redis.hgetBuffer(`${sessionKeyPrefix(farm.prefix)}${n}`, 'authKey'))!.toString('latin1'),
            `${sessionKeyPrefix(farm.prefix)}${n}#authKey`,
          ),
        ),
      )

      // The account's own secrets (proxy, 2FA password) travel with it, sealed in the bundle.
      const OWN = { proxy: 'socks5://farmer:own-proxy-secret@127.0.0.1:1080', password: 'own-2fa-secret' }
      await new SessionSecretStore(farm.redis, farm.prefix, keyring).put(`user-${USER}`, OWN)

      // 1. Under the master key, out of Redis (--delete) and back in.
      const bundle = join(farm.dir, 'farm.gfsessions')
      const out = await cli(['sessions', 'export', '--encrypt', bundle, '--delete', '--json'])
      assert.equal(out.code, 0, out.stderr)
      const doc = JSON.parse(out.stdout) as { bundle: { keyId: string; sessions: number }; deletedFromRedis: boolean }
      assert.deepEqual(doc.bundle, { file: bundle, keyId: keyring.current!.id, sessions: 3 })
      assert.equal(statSync(bundle).mode & 0o777, 0o600)
      const bytes = readFileSync(bundle)
      for (const k of authKeys) assert.ok(!contains(bytes, k), 'no auth key in the bundle in clear')
      assert.ok(!contains(bytes, USER) && !contains(bytes, BOT_TOKEN.split(':')[0]!))
      assert.ok(!contains(bytes, 'own-proxy-secret') && !contains(bytes, OWN.password))
      assert.ok(!out.stdout.includes(masterHex) && !out.stderr.includes(masterHex))
      for (const n of names) assert.equal(await farm.redis.exists(`${sessionKeyPrefix(farm.prefix)}${n}`), 0)

      const back = await cli(['sessions', 'import', bundle])
      assert.equal(back.code, 0, back.stderr)
      assert.match(back.stdout, /3 sessions imported/)
      for (const n of names) {
        const stored = (await farm.redis.hgetBuffer(`${sessionKeyPrefix(farm.prefix)}${n}`, 'authKey'))!
        assert.ok(stored.toString('latin1').startsWith(`gfs1.${keyring.current!.id}.`), 'sealed as workers seal')
        assert.equal(await getMeWithRedisSession(farm, n, keyring), userIds.get(n), `${n} logs in`)
      }
      // Again: the sessions are there now, left as they are unless --replace.
      const again = await cli(['sessions', 'import', bundle])
      assert.equal(again.code, 1, again.stderr)
      assert.match(again.stdout, /3 already in Redis/)
      assert.equal((await cli(['sessions', 'import', bundle, '--replace'])).code, 0)

      // 2. Under a key given for the bundle, into another farm with its own master key.
      const keyFile = join(farm.dir, 'bundle.key')
      writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 })
      const bundleKeyId = parseMasterKey(readFileSync(keyFile, 'utf8'), 't').id
      const handed = join(farm.dir, 'handed.gfsessions')
      const out2 = await cli(['sessions', 'export', '--encrypt', handed, '--key-file', keyFile, '--account', USER])
      assert.equal(out2.code, 0, out2.stderr)
      assert.match(out2.stdout, new RegExp(`1 session written to ${handed} \\(encrypted, key ${bundleKeyId}\\)`))
      const otherPrefix = `${farm.prefix}other:`
      const otherHex = randomBytes(32).toString('hex')
      const otherRing = new Keyring({ current: parseMasterKey(otherHex, 't') })
      const otherEnv = { GRAMFARM_MASTER_KEY: otherHex }
      const refused = await cli(['sessions', 'import', handed], otherEnv, otherPrefix)
      assert.equal(refused.code, 2)
      assert.match(refused.stderr, new RegExp(`sealed under a bundle key ${bundleKeyId}, which was not given`))
      assert.ok(!refused.stderr.includes(otherHex))
      const imported = await cli(['sessions', 'import', handed, '--key-file', keyFile, '--json'], otherEnv, otherPrefix)
      assert.equal(imported.code, 0, imported.stderr)
      const name = `user-${USER}`
      const stored = (await farm.redis.hgetBuffer(`${sessionKeyPrefix(otherPrefix)}${name}`, 'authKey'))!
      assert.ok(stored.toString('latin1').startsWith(`gfs1.${otherRing.current!.id}.`), "sealed under that farm's key")
      assert.equal(await getMeWithRedisSession(farm, name, otherRing, otherPrefix), userIds.get(name))
      assert.deepEqual(await new SessionSecretStore(farm.redis, otherPrefix, otherRing).get(name), OWN)
      assert.ok(
        (await farm.redis.hget(`${otherPrefix}session-secret:${name}`, 'password'))!.startsWith(
          `gfs1.${otherRing.current!.id}.`,
        ),
        "the session's own secrets sealed under that farm's key",
      )

      // Usage errors: --encrypt without any key. A file that is not a bundle goes to the other formats' readers,
      // which report it (a key file is no session string) and store nothing.
      const noKey = await cli(['sessions', 'export', '--encrypt', join(farm.dir, 'x.gfsessions')], {})
      assert.equal(noKey.code, 2)
      assert.match(noKey.stderr, /--encrypt needs a key/)
      const notBundle = await cli(['sessions', 'import', keyFile])
      assert.equal(notBundle.code, 1)
      assert.match(notBundle.stdout, /no known session string format/)
    },
  )
})
