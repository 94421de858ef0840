// A worker closed while Redis is away must leave nothing behind: after a Redis outage BullMQ's own close() can
// wait for ever on its blocking connection, and its lock-renewal timer then kept `npm test` alive for 13 minutes
// after every test had passed. The worker runs in a child process that must exit by itself.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { it } from 'node:test'

const CHILD = join(import.meta.dirname, 'support', 'worker-close-outage-child.ts')

it(
  'a worker closed during a Redis outage stops within its grace period plus a bounded forced close, and its process exits by itself',
  { timeout: 90_000 },
  async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLOSE_GRACE_MS: '1000' },
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    // Starting takes a few seconds (tsx, a piscina thread); once closed, the process has 8 s to go.
    let closedAt: number | undefined
    const deadline = Date.now() + 60_000
    while (child.exitCode === null && child.signalCode === null) {
      if (closedAt === undefined && /closed \d+/.test(out)) closedAt = Date.now()
      if ((closedAt !== undefined && Date.now() - closedAt > 8_000) || Date.now() > deadline) {
        child.kill('SIGKILL')
        await exited
        assert.fail(`the process did not exit by itself after close(): ${out}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(await exited, 0, out)
    const closeMs = Number(/closed (\d+)/.exec(out)?.[1])
    // 1 s of grace, then the forced close: a bounded disconnect and the threads' close.
    assert.ok(closeMs < 1_000 + 3_500, `close() took ${closeMs} ms: ${out}`)
    assert.doesNotMatch(out, /still running/)
  },
)
