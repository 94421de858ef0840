// The except_ids registry against the real Redis on 127.0.0.1:6379 (unique prefix, removed afterwards): claims,
// and two concurrent "coordinators" on two connections authorizing every account exactly once.
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { ExceptIdsRegistry, ExceptIdsRegistryError, botAccountKey } from '../src/queue/except-ids-registry.ts'

const prefix = `{gramfarm-test:${process.pid}:${randomBytes(4).toString('hex')}}:`
let redisA: Redis
let redisB: Redis
let sub = 0
/** A fresh prefix per test, all under the run's prefix. */
const scope = (): string => `${prefix}${sub++}:`
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

before(() => {
  redisA = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
  redisB = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
})

after(async () => {
  const keys = await redisA.keys(`${prefix}*`)
  if (keys.length > 0) await redisA.del(...keys)
  await redisA.quit()
  await redisB.quit()
})

describe('ExceptIdsRegistry', () => {
  it('claims: one owner at a time, only the owner renews or releases, expiry lets another take over', async () => {
    const p = scope()
    const a = new ExceptIdsRegistry({ redis: redisA, prefix: p })
    const b = new ExceptIdsRegistry({ redis: redisB, prefix: p })
    assert.equal(await a.claim('99966100001', 'coord-a', 30), true)
    assert.equal(await b.claim('99966100001', 'coord-b', 30), false)
    assert.equal(await b.claimStatus('99966100001', 'coord-b', 30), 'held')
    assert.equal(await a.claim('99966100001', 'coord-a', 30), true, 'the owner may claim again')
    assert.equal(await b.release('99966100001', 'coord-b'), false)
    assert.equal(await b.renew('99966100001', 'coord-b', 30), false)
    assert.equal(await a.renew('99966100001', 'coord-a', 60), true)
    assert.ok((await redisA.pttl(a.keys.claim('99966100001'))) > 30_000)
    assert.equal(await a.claimOwner('99966100001'), 'coord-a')
    assert.equal(await a.release('99966100001', 'coord-a'), true)
    assert.equal(await b.claim('99966100001', 'coord-b', 30), true)
    // expiry: a's stale release must not drop b's newer claim
    assert.equal(await a.claim('99966100002', 'coord-a', 0.05), true)
    await sleep(80)
    assert.equal(await b.claim('99966100002', 'coord-b', 30), true)
    assert.equal(await a.release('99966100002', 'coord-a'), false)
    assert.equal(await a.claimOwner('99966100002'), 'coord-b')
  })

  it('records authorizations atomically, reports duplicates, refuses claims on authorized accounts', async () => {
    const p = scope()
    const reg = new ExceptIdsRegistry({ redis: redisA, prefix: p })
    assert.deepEqual(await reg.recordAuthorized(777000111n, '99966100003'), { status: 'new' })
    assert.deepEqual(await reg.recordAuthorized(777000111n, 'qr:7'), {
      status: 'duplicate',
      firstAccountKey: '99966100003',
    })
    assert.deepEqual(await reg.authorizedIds(), [777000111n])
    assert.equal(await reg.isAuthorizedId('777000111'), true)
    assert.equal(await reg.authorizedAs('99966100003'), 777000111n)
    assert.equal(await reg.authorizedAs('qr:7'), 777000111n, 'the duplicate is resolved too')
    assert.equal(await reg.claimStatus('qr:7', 'x', 30), 'authorized', 'a duplicate is not signed in again')
    assert.equal(await reg.claimStatus('99966100003', 'x', 30), 'authorized')
    assert.equal(await reg.claim('99966100003', 'x', 30), false)
    assert.equal(await reg.forgetAuthorized(777000111n), true)
    assert.deepEqual(await reg.authorizedIds(), [])
    assert.equal(await reg.claim('99966100003', 'x', 30), true, 'claimable again once forgotten')
    assert.equal(await reg.forgetAccount('qr:7'), true)
    assert.equal(await reg.claim('qr:7', 'x', 30), true)
  })

  it('records the same account and user again as `already` (a retried step), and says who recorded it', async () => {
    const reg = new ExceptIdsRegistry({ redis: redisA, prefix: scope() })
    assert.equal(await reg.resolution('99966100004'), null)
    assert.deepEqual(await reg.recordAuthorized(777000222n, '99966100004', 'run-1/job-a'), { status: 'new' })
    assert.deepEqual(
      await reg.recordAuthorized(777000222n, '99966100004', 'run-1/job-a'),
      { status: 'already' },
      'not a duplicate of itself',
    )
    assert.deepEqual(await reg.authorizedIds(), [777000222n])
    assert.deepEqual(await reg.resolution('99966100004'), {
      userId: 777000222n,
      holderAccountKey: '99966100004',
      recordedBy: 'run-1/job-a',
    })
    assert.equal(
      (await reg.recordAuthorized(777000222n, 'qr:9', 'run-2/job-b')).status,
      'duplicate',
      'another account still is',
    )
    assert.deepEqual(await reg.resolution('qr:9'), {
      userId: 777000222n,
      holderAccountKey: '99966100004',
      recordedBy: 'run-2/job-b',
    })
    assert.equal(await reg.forgetAuthorized(777000222n), true)
    assert.equal(await reg.resolution('99966100004'), null, 'forgotten with its recorder')
    assert.equal(await reg.forgetAccount('qr:9'), true)
    assert.equal(await reg.resolution('qr:9'), null)
  })

  it('keys a bot by its id (never its secret), one key for every token of the bot, and refuses a raw token', async () => {
    const reg = new ExceptIdsRegistry({ redis: redisA, prefix: scope() })
    const token = `123456789:${'A'.repeat(35)}`
    const err = await reg.claim(token, 'x', 30).catch((e: unknown) => e)
    assert.ok(err instanceof ExceptIdsRegistryError && !err.message.includes(token))
    const key = botAccountKey(token)
    assert.equal(key, 'bot:123456789')
    assert.equal(botAccountKey(`123456789:${'B'.repeat(35)}`), key)
    assert.match(botAccountKey('no-id-in-this-token'), /^bot:[0-9a-f]{32}$/)
    assert.equal(await reg.claim(key, 'x', 30), true)
    assert.ok(!(await redisA.keys(`${prefix}*`)).some((k) => k.includes('AAAA')))
  })

  it('two coordinators racing on the same accounts authorize each exactly once', async () => {
    const p = scope()
    const N = 300
    const phones = Array.from({ length: N }, (_, i) => `99966${String(2_000_000 + i)}`)
    const userOf = new Map<string, bigint>(phones.map((ph, i) => [ph, 5_000_000_000n + BigInt(i)]))
    // QR logins that turn out to be users the farm already has (or is authorizing right now)
    const qr = Array.from({ length: 40 }, (_, i) => `qr:${i}`)
    qr.forEach((k, i) => userOf.set(k, 5_000_000_000n + BigInt(i * 7)))
    const accounts = [...phones, ...qr]

    const signIns = new Map<string, number>() // logins performed per account
    const newAuth = new Map<string, number>() // 'new' results per user id
    let duplicates = 0
    let loggedOut = 0

    async function coordinator(redis: Redis, owner: string): Promise<void> {
      const reg = new ExceptIdsRegistry({ redis, prefix: p })
      const order = [...accounts].sort(() => Math.random() - 0.5)
      let next = 0
      const lane = async (): Promise<void> => {
        while (next < order.length) {
          const account = order[next++] as string
          if (!(await reg.claim(account, owner, 30))) continue
          try {
            signIns.set(account, (signIns.get(account) ?? 0) + 1)
            await sleep(Math.random() * 3) // the login
            const userId = userOf.get(account) as bigint
            const r = await reg.recordAuthorized(userId, account)
            if (r.status === 'new') {
              newAuth.set(String(userId), (newAuth.get(String(userId)) ?? 0) + 1)
            } else {
              assert.equal(r.status, 'duplicate', 'each account logs in once: never a repeat')
              duplicates++
              loggedOut++ // auth.logOut of the second session
              assert.ok(r.status === 'duplicate' && r.firstAccountKey !== null && r.firstAccountKey !== account)
            }
          } finally {
            await reg.release(account, owner)
          }
        }
      }
      await Promise.all(Array.from({ length: 16 }, lane))
    }

    await Promise.all([coordinator(redisA, 'coord-a'), coordinator(redisB, 'coord-b')])

    for (const account of accounts) assert.equal(signIns.get(account), 1, `${account} logged in once`)
    for (const ph of phones) assert.equal(newAuth.get(String(userOf.get(ph))), 1, 'each user authorized once')
    assert.equal(duplicates, qr.length, 'every QR login of a known user is a duplicate')
    assert.equal(loggedOut, qr.length)
    const reg = new ExceptIdsRegistry({ redis: redisA, prefix: p })
    assert.equal((await reg.authorizedIds()).length, N)
    // a second pass finds nothing to do
    for (const account of accounts) assert.equal(await reg.claimStatus(account, 'coord-c', 30), 'authorized')
    assert.equal((await redisA.keys(`${p}auth:claim:*`)).length, 0, 'every claim released')
  })
})
