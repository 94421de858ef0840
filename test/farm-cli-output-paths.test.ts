// Where a run writes its sessions and report: checked before anything is enqueued (before Redis, even), and a
// file that still cannot be written after the run costs nothing already done — the table is printed, the error
// is one clear message (exit 6) that says how to get the results and sessions from Redis later.
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CliError, ExitCode } from '../src/cli/exit-codes.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { Coordinator } from '../src/farm/coordinator.ts'
import { REDIS_URL, runCli, scratchScope, sink } from './farm-e2e-harness.ts'

const { prefix, redis, dir } = scratchScope('cli-output')

describe('run output paths', () => {
  it('refuses paths it could not write before connecting to Redis or enqueueing (exit 2)', async () => {
    const accounts = join(dir, 'phones.txt')
    writeFileSync(accounts, '+9996629001\n')
    const aFile = join(dir, 'a-file')
    writeFileSync(aFile, 'not a directory\n')
    const args = ['onboard', accounts, '--report', join(aFile, 'report'), '--sessions-dir', aFile]
    const [noRedis, withRedis] = await Promise.all([
      runCli(['--redis-url', 'redis://127.0.0.1:1', ...args]),
      runCli(['--redis-url', REDIS_URL, '--prefix', prefix, ...args]),
    ])
    for (const r of [noRedis, withRedis]) {
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /--report: .*a-file is not a directory/)
      assert.match(r.stderr, /--sessions-dir: .*a-file exists and is not a directory/)
      assert.match(r.stderr, /nothing was enqueued/)
      assert.doesNotMatch(r.stderr, /internal error|\n +at /)
    }
    const counts = await new Coordinator({ redis, prefix }).queue.getJobCounts('waiting', 'prioritized', 'delayed')
    assert.deepEqual(counts, { waiting: 0, prioritized: 0, delayed: 0 })
  })

  it('prints the table first when the report cannot be written after the run, then exits 6 saying how to get it from Redis', async () => {
    const out = join(dir, 'out')
    mkdirSync(out)
    const stdout = sink()
    const run = runOnboarding(
      redis,
      prefix,
      [{ kind: 'user', phone: '9996629002', source: { file: 'a.txt', line: 1 } }],
      {
        runId: 'run-output-1',
        report: join(out, 'report'),
        timeoutMs: 300,
        progress: false,
        stdout,
        stderr: sink(),
        // The directory goes away while the run is followed (no worker: the run times out).
        onEnqueued: () => {
          rmSync(out, { recursive: true })
          writeFileSync(out, 'now a file\n')
        },
      },
    )
    await assert.rejects(run, (err: unknown) => {
      assert.ok(err instanceof CliError, String(err))
      assert.equal(err.exitCode, ExitCode.outputFailed)
      assert.match(err.message, /could not write the report: E[A-Z]+/)
      assert.match(err.message, /gramfarm status --run run-output-1/)
      assert.match(err.message, /gramfarm sessions export --run run-output-1/)
      return true
    })
    assert.match(stdout.text(), /run run-output-1: 1 accounts/)
  })
})
