// Ctrl-C on a terminal signals the whole process group, and a launcher in it (npx, a shell script) may pass its own
// SIGINT on too, so `gramfarm worker` (bin/gramfarm.js, the compiled CLI) can get two. One Ctrl-C must still be one
// graceful stop.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { it } from 'node:test'
import { Redis } from 'ioredis'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'

const BIN = new URL('../bin/gramfarm.js', import.meta.url).pathname
const REDIS_URL = 'redis://127.0.0.1:6379'

it('one Ctrl-C to the process group stops `gramfarm worker` gracefully (exit 0, "worker stopped")', async () => {
  const prefix = `{gramfarm-test-signals-${randomBytes(4).toString('hex')}}:`
  // detached: the command leads a process group of its own, as a shell's foreground job does.
  const child = spawn(
    process.execPath,
    [
      BIN,
      '--redis-url',
      REDIS_URL,
      '--prefix',
      prefix,
      '--api-id',
      '1',
      '--log-level',
      'info',
      'worker',
      '--threads',
      '1',
    ],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GRAMFARM_API_HASH: '0123456789abcdef0123456789abcdef' },
    },
  )
  let log = ''
  // The Ctrl-C goes the moment "worker ready" is read, as an operator's script may send it: whatever the
  // worker does right after saying it is ready must already count as running.
  // The launcher's copy lands while the worker is stopping (here: made to, the moment it says so, so that the test
  // depends neither on the kernel merging the two while both are pending nor on how long the stop takes).
  let signalled = false
  let repeated = false
  const ready = new Promise<void>((resolve) =>
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString()
      if (!signalled && log.includes('worker ready')) {
        signalled = true
        process.kill(-child.pid!, 'SIGINT')
        resolve()
      }
      if (signalled && !repeated && log.includes('stopping')) {
        repeated = true
        child.kill('SIGINT')
      }
    }),
  )
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  try {
    const startTimeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`worker did not start: ${log}`)), 60_000).unref(),
    )
    await Promise.race([ready, startTimeout, exited.then(() => assert.fail(`worker exited before ready: ${log}`))])
    const { code, signal } = await exited
    assert.ok(repeated, `the second SIGINT went while the worker was stopping: ${log}`)
    assert.equal(signal, null, log)
    assert.equal(code, 0, log)
    assert.match(log, /worker stopped/)
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL')
    const redis = new Redis(REDIS_URL)
    await deleteKeysUnder(redis, prefix)
    redis.disconnect()
  }
})
