// The run report holds phones: 0600 whether it is written afresh or over an older report with looser permissions.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { RunOutcome } from '../src/farm/coordinator.ts'
import { writeRunReport } from '../src/cli/run-report.ts'

const dir = mkdtempSync(join(tmpdir(), 'gramfarm-report-'))

after(() => rmSync(dir, { recursive: true, force: true }))

const outcome: RunOutcome = {
  runId: 'run-report-1',
  timedOut: false,
  interrupted: false,
  elapsedMs: 1200,
  results: [{ account: '9996621234', kind: 'user', state: 'authorized', jobId: 'user-x', userId: '42', dcId: 2 }],
}

describe('run report files', () => {
  it('are 0600 even when they replace an older report that was 0644', async () => {
    const base = join(dir, 'report')
    writeFileSync(`${base}.json`, '{}\n', { mode: 0o644 })
    writeFileSync(`${base}.csv`, 'old\n', { mode: 0o644 })
    const paths = await writeRunReport(outcome, base)
    for (const p of [paths.json, paths.csv]) assert.equal(statSync(p).mode & 0o777, 0o600, p)
    assert.equal((JSON.parse(readFileSync(paths.json, 'utf8')) as { runId: string }).runId, 'run-report-1')
    assert.match(readFileSync(paths.csv, 'utf8'), /^account,kind,state/)
  })
})
