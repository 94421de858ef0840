// A short run of `npm run fuzz -- client` (fuzz/modes/client.ts) inside the tests, so the fuzz mode keeps working
// and a regression that it catches in its first few thousand frames fails `npm test` too.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FuzzReport, type FuzzOptions } from '../fuzz/fuzz-report.ts'
import { run } from '../fuzz/modes/client.ts'

test('fuzz client: 3,000 random and mutated server answers, no crash, no hang', async () => {
  const opts: FuzzOptions = { frames: 3000, seconds: 60, seed: 12345, hangMs: 5000, verbose: false }
  const report = new FuzzReport('client', opts)
  await run(opts, report)
  const summary = report.summary()
  assert.equal(report.frames, 3000)
  assert.deepEqual(report.incidents, [], JSON.stringify(summary.incidents))
  assert.equal(report.crashes, 0)
  assert.equal(report.hangs, 0)
  assert.ok((report.counters.get('probes') ?? 0) >= 10, 'probes ran')
})
