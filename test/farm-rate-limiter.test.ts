// The auth.sendCode token buckets against the real Redis on 127.0.0.1:6379 (unique prefix, removed afterwards).
import { strict as assert } from 'node:assert'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { SendCodeRateLimiter, type SendCodeRateLimiterOptions } from '../src/queue/send-code-rate-limiter.ts'

const prefix = `{gramfarm-test:${process.pid}:${randomBytes(4).toString('hex')}}:`
let redis: Redis
let redis2: Redis
let n = 0
const limiter = (
  opts: Omit<SendCodeRateLimiterOptions, 'redis' | 'prefix'>,
  conn: Redis = redis,
  p = `${prefix}${n++}:`,
) => new SendCodeRateLimiter({ redis: conn, prefix: p, ...opts })
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

before(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
  redis2 = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 })
})

after(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
  await redis2.quit()
})

describe('SendCodeRateLimiter', () => {
  it('lets a burst through, then refuses with a sane retryInMs, then refills', async () => {
    const rl = limiter({ global: { ratePerSec: 10, burst: 3 }, perDc: { ratePerSec: 100, burst: 100 } })
    for (let i = 0; i < 3; i++) assert.deepEqual(await rl.acquire({ dcId: 2 }), { ok: true })
    const no = await rl.acquire({ dcId: 4 })
    assert.equal(no.ok, false)
    assert.ok(!no.ok && no.blockedBy === 'global' && no.retryInMs > 0 && no.retryInMs <= 100, JSON.stringify(no))
    await sleep((no.ok ? 0 : no.retryInMs) + 20)
    assert.deepEqual(await rl.acquire({ dcId: 4 }), { ok: true })
  })

  it('keeps DC buckets independent', async () => {
    const rl = limiter({ global: { ratePerSec: 100, burst: 100 }, perDc: { ratePerSec: 0.5, burst: 2 } })
    assert.equal((await rl.acquire({ dcId: 2 })).ok, true)
    assert.equal((await rl.acquire({ dcId: 2 })).ok, true)
    const no = await rl.acquire({ dcId: 2 })
    assert.ok(!no.ok && no.blockedBy === 'dc' && no.retryInMs > 1000 && no.retryInMs <= 2000, JSON.stringify(no))
    assert.equal((await rl.acquire({ dcId: 4 })).ok, true)
    assert.equal((await rl.acquire({ dcId: 5 })).ok, true)
    // a refusal by one bucket takes nothing from the other: the global one still has its tokens
    const g = await redis.hget(rl.keys(2).global, 't')
    assert.ok(Number(g) > 95)
  })

  it('is atomic across processes: 60 concurrent callers on two connections, burst 10 → exactly 10 pass', async () => {
    const p = `${prefix}${n++}:`
    const cfg = { global: { ratePerSec: 0.01, burst: 10 }, perDc: { ratePerSec: 0.01, burst: 50 } }
    const a = limiter(cfg, redis, p)
    const b = limiter(cfg, redis2, p)
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).acquire({ dcId: 1 })))
    assert.equal(results.filter((r) => r.ok).length, 10)
  })

  it('blocks a DC for a FLOOD_WAIT and never shortens a block', async () => {
    const rl = limiter({ global: { ratePerSec: 100, burst: 100 }, perDc: { ratePerSec: 100, burst: 100 } })
    const left = await rl.penalize(2, 3)
    assert.ok(left > 2900 && left <= 3000)
    const no = await rl.acquire({ dcId: 2 })
    assert.ok(!no.ok && no.blockedBy === 'penalty' && no.retryInMs > 2500 && no.retryInMs <= 3000, JSON.stringify(no))
    assert.equal((await rl.acquire({ dcId: 4 })).ok, true, 'other DCs unaffected')
    assert.ok((await rl.penalize(2, 1)) > 2500, 'a shorter FLOOD_WAIT does not shorten the block')
    assert.ok((await rl.penalize(2, 0.2)) > 2500)
    const short = limiter({ global: { ratePerSec: 100, burst: 100 }, perDc: { ratePerSec: 100, burst: 100 } })
    await short.penalize(3, 0.1)
    assert.equal((await short.acquire({ dcId: 3 })).ok, false)
    await sleep(150)
    assert.equal((await short.acquire({ dcId: 3 })).ok, true, 'the block ends')
  })

  it('refuses nonsense configuration', () => {
    assert.throws(() => limiter({ global: { ratePerSec: 0, burst: 1 } }), RangeError)
    assert.throws(() => limiter({ perDc: { ratePerSec: 1, burst: 0 } }), RangeError)
    const rl = limiter({})
    return assert.rejects(rl.acquire({ dcId: 1.5 }), RangeError)
  })
})
