// RedisScript: a script goes by its SHA1, and a server that has not cached it (here: after SCRIPT FLUSH) gets its
// text once more and answers as before. On a private redis-server: SCRIPT FLUSH on the shared one would empty the
// script cache under every other test running at the same time.
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { Redis } from 'ioredis'
import { RedisScript } from '../src/queue/redis-script.ts'
import { startRedisServer } from './support/redis-servers.ts'

const server = await startRedisServer({ args: ['--save', '', '--appendonly', 'no'] })
const redis = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 1 })
after(() => redis.disconnect())

// KEYS[1] a counter; ARGV[1] a step. Returns the new value and the step, so arguments are seen to arrive.
const ADD = new RedisScript(`
local v = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
return {v, ARGV[1]}
`)

const scriptCalls = async (): Promise<{ eval: number; evalsha: number }> => {
  const stats = await redis.info('commandstats')
  const calls = (name: string): number => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0)
  return { eval: calls('eval'), evalsha: calls('evalsha') }
}

it('runs by SHA1, and after SCRIPT FLUSH sends the text again and gives the same answer', async () => {
  assert.equal(ADD.sha, (await redis.script('LOAD', ADD.lua)) as string, 'the SHA1 Redis gives the script')
  await redis.script('FLUSH')
  await redis.config('RESETSTAT')

  // Not cached: EVALSHA answers NOSCRIPT, the call goes again as EVAL (which caches it).
  assert.deepEqual(await ADD.run(redis, ['counter'], [2]), [2, '2'])
  assert.deepEqual(await scriptCalls(), { eval: 1, evalsha: 1 })

  // Cached now: EVALSHA only.
  assert.deepEqual(await ADD.run(redis, ['counter'], [3]), [5, '3'])
  assert.deepEqual(await scriptCalls(), { eval: 1, evalsha: 2 })

  // Flushed again (a restart, a failover to a replica that never saw it): the same recovery.
  await redis.script('FLUSH')
  assert.deepEqual(await ADD.run(redis, ['counter'], [4]), [9, '4'])
  assert.deepEqual(await scriptCalls(), { eval: 2, evalsha: 3 })
  assert.equal(await redis.get('counter'), '9')
})

it("passes the script's own errors through, without a second try", async () => {
  const failing = new RedisScript(`return redis.error_reply('NOTNUM the argument is not a number')`)
  await redis.config('RESETSTAT')
  await assert.rejects(failing.run(redis, ['counter'], ['x']), /NOTNUM/)
  await assert.rejects(failing.run(redis, ['counter'], ['x']), /NOTNUM/)
  // The first call loaded it (NOSCRIPT, then EVAL); the second went by SHA1 alone.
  assert.deepEqual(await scriptCalls(), { eval: 1, evalsha: 2 })
})
