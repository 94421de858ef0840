// `npm test` must fail a test file whose process does not end after its tests (a leaked timer or socket), in
// minutes rather than at CI's limit: test/support/exit-guard.mjs, loaded with --import like the test script does.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'

const GUARD = join(import.meta.dirname, 'support', 'exit-guard.mjs')
const dir = mkdtempSync(join(tmpdir(), 'gramfarm-exit-guard-'))
after(() => rmSync(dir, { recursive: true, force: true }))
/** A worker thread's file, as piscina loads one. */
const THREAD = join(dir, 'thread.mjs')
writeFileSync(THREAD, 'export const ready = true\n')

/** `node --import tsx --import <guard> --test <file>` with a 1 s grace; resolves with its exit code, output and wall time. */
function runGuarded(source: string): Promise<{ code: number | null; out: string; ms: number }> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.test.mjs`)
  writeFileSync(file, source)
  const env: NodeJS.ProcessEnv = { ...process.env, GRAMFARM_TEST_EXIT_GRACE_MS: '1000' }
  // This file itself runs as a test child: the nested runner must not think it is one.
  delete env.NODE_TEST_CONTEXT
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', GUARD, '--test', file], {
    cwd: join(import.meta.dirname, '..'),
    env,
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000)
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(kill)
      resolve({ code, out, ms: Date.now() - started })
    }),
  )
}

it(
  'fails a file whose tests pass but leave a timer running, naming it, soon after the grace',
  { timeout: 60_000 },
  async () => {
    const { code, out, ms } = await runGuarded(
      `import { it } from 'node:test'\nit('passes', () => { setInterval(() => {}, 1000) })\n`,
    )
    assert.notEqual(code, 0, out)
    assert.match(out, /exit guard: the process did not end 1000 ms after its tests; still open: .*Timeout/)
    assert.ok(ms < 25_000, `took ${ms} ms`)
  },
)

it(
  'loads in worker threads too (they get the same --import flags; piscina runs the farm worker on them)',
  { timeout: 60_000 },
  async () => {
    const { code, out } = await runGuarded(
      `import { it } from 'node:test'\nimport { Worker } from 'node:worker_threads'\n` +
        `it('runs a thread', async () => { const w = new Worker(${JSON.stringify(THREAD)}); const c = await new Promise((r, j) => { w.on('error', j); w.on('exit', r) }); if (c !== 0) throw new Error('thread exit ' + c) })\n`,
    )
    assert.equal(code, 0, out)
    assert.doesNotMatch(out, /exit guard|Unknown file extension/)
  },
)

it('lets a file that closes everything end normally', { timeout: 60_000 }, async () => {
  const { code, out } = await runGuarded(
    `import { it } from 'node:test'\nit('passes', async () => { await new Promise((r) => setTimeout(r, 1500)) })\n`,
  )
  assert.equal(code, 0, out)
  assert.doesNotMatch(out, /exit guard/)
})
