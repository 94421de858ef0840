// A worker's start with and without a master key: without one it says once, at start, that secrets are stored in
// clear (as an onboarding does); with requireEncryption and no key it refuses to start with a clear error, before
// it takes a job; with a key it says nothing of the kind. `gramfarm worker` child processes against a test DC,
// real Redis on 127.0.0.1:6379.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { MasterKeyError } from '../src/foundation/sealed-value.ts'
import { REDIS_URL, runCli, startFarm, type Farm } from './farm-e2e-harness.ts'

const CLEAR_WARNING = 'stored in Redis in clear'

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'secrets-worker-start' })
})

after(async () => {
  await farm.stop()
})

/** The environment a spawned worker inherits, without any master key setting of the machine running the tests. */
function withoutKeys(extra: NodeJS.ProcessEnv = {}): () => void {
  const saved = { ...process.env }
  for (const k of Object.keys(process.env))
    if (k.startsWith('GRAMFARM_MASTER_KEY') || k === 'GRAMFARM_OLD_MASTER_KEYS' || k === 'GRAMFARM_REQUIRE_ENCRYPTION')
      delete process.env[k]
  Object.assign(process.env, extra)
  return () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
}

/** What a `gramfarm worker` child started in that environment printed until it was ready (then it is stopped). */
async function workerOutput(extra: NodeJS.ProcessEnv = {}): Promise<string> {
  const restore = withoutKeys(extra)
  let worker
  try {
    worker = await farm.spawnWorker()
  } finally {
    restore()
  }
  const out = worker.output()
  await worker.stop()
  return out
}

describe('a worker starting', () => {
  it('without a master key says once, at start, that secrets are stored in clear', { timeout: 90_000 }, async () => {
    const out = await workerOutput()
    const lines = out.split('\n').filter((l) => l.includes(CLEAR_WARNING))
    assert.equal(lines.length, 1, out)
    const line = JSON.parse(lines[0]!) as { level: number; msg: string }
    assert.equal(line.level, 40, 'a warn line')
    assert.ok(out.indexOf(CLEAR_WARNING) < out.indexOf('worker ready'), 'said before the worker is ready')
  })

  it('with a master key says nothing of the kind', { timeout: 90_000 }, async () => {
    const key = randomBytes(32).toString('hex')
    const out = await workerOutput({ GRAMFARM_MASTER_KEY: key })
    assert.ok(!out.includes(CLEAR_WARNING), out)
    assert.ok(!out.includes(key), 'the key is never written')
  })

  it('with requireEncryption and no master key refuses to start (exit 2), naming what is missing', async () => {
    const restore = withoutKeys()
    try {
      const args = ['--prefix', farm.prefix, '--redis-url', REDIS_URL, '--testdc', farm.endpointFile, 'worker']
      const run = await runCli(args, { env: { GRAMFARM_REQUIRE_ENCRYPTION: '1' } })
      assert.equal(run.code, 2, run.stderr)
      assert.match(run.stderr, /encryption is required \(requireEncryption\) but no master key is set/)
      assert.ok(!run.stderr.includes('worker ready'))
    } finally {
      restore()
    }
    // The same from code: startFarmWorker refuses before a thread or a job.
    await assert.rejects(
      farm.startWorker({ keyring: { current: null, old: [], requireEncryption: true } }),
      (err: unknown) => err instanceof MasterKeyError && /requireEncryption/.test(err.message),
    )
  })
})
