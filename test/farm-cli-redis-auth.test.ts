// A Redis that wants a password (or an ACL user) and does not get the right one is reported as such — "Redis
// authentication failed", exit 7 — not as "unreachable… start one" (exit 3), which sends the operator the wrong
// way; the demo does not start a private Redis over it either. A real redis-server with requirepass, on a free port.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { runCli, waitFor } from './farm-e2e-harness.ts'

const PASSWORD = 'farm-redis-secret'
let server: ChildProcess
let port: number

/** A port nobody listens on now (redis-server cannot be given port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
  })
}

before(async () => {
  port = await freePort()
  server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  await waitFor(
    'redis-server with a password',
    async () => {
      const probe = new Redis({
        port,
        host: '127.0.0.1',
        password: PASSWORD,
        lazyConnect: true,
        retryStrategy: () => null,
      })
      probe.on('error', () => undefined)
      try {
        await probe.connect()
        return (await probe.ping()) === 'PONG'
      } catch {
        return false
      } finally {
        probe.disconnect()
      }
    },
    10_000,
    100,
  )
})

after(async () => {
  if (server.exitCode !== null) return
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGTERM')
  await exited
})

describe('Redis credentials', () => {
  for (const [what, url, reply] of [
    ['no password', () => `redis://127.0.0.1:${port}`, /it wants a password and none was given/],
    ['a wrong password', () => `redis://:not-it@127.0.0.1:${port}`, /wrong password or ACL user/],
    ['an unknown ACL user', () => `redis://nobody:${PASSWORD}@127.0.0.1:${port}`, /wrong password or ACL user/],
  ] as const) {
    it(
      `reports ${what} as "Redis authentication failed", exit 7, with no password in the message`,
      { timeout: 60_000 },
      async () => {
        const r = await runCli(['--redis-url', url(), 'status'])
        assert.equal(r.code, 7, r.stderr)
        assert.match(r.stderr, /Redis authentication failed/)
        assert.match(r.stderr, reply)
        assert.doesNotMatch(r.stderr, /unreachable|start one/i)
        assert.doesNotMatch(r.stderr, /not-it|farm-redis-secret/)
      },
    )
  }

  it(
    'does not start a private Redis for the demo when the configured one refuses the password',
    { timeout: 60_000 },
    async () => {
      const r = await runCli(['--redis-url', `redis://:not-it@127.0.0.1:${port}`, 'demo'])
      assert.equal(r.code, 7, r.stderr)
      assert.doesNotMatch(r.stderr + r.stdout, /started a private redis-server/)
    },
  )

  it('works with the right password', { timeout: 60_000 }, async () => {
    const r = await runCli(['--redis-url', `redis://:${PASSWORD}@127.0.0.1:${port}`, 'status', '--json'])
    assert.equal(r.code, 0, r.stderr)
  })
})
