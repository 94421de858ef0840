// `gramfarm code <phone> -` reads the code from stdin: at most one short line. Whatever else is piped in (a file
// by mistake, `yes`, 600 MB) is a clear error, exit 2, after reading a few KiB — not the whole input in memory
// (it used to end in exit 5 or an out-of-memory crash).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { it } from 'node:test'
import { CLI } from './farm-e2e-harness.ts'

/** Runs `gramfarm <args>`, writing `chunk` to its stdin until it stops reading or `maxBytes` went in. */
function pipeInto(
  args: string[],
  chunk: Buffer,
  maxBytes: number,
): Promise<{ code: number | null; stderr: string; written: number }> {
  return new Promise((resolve) => {
    // A Redis nobody listens on: the command must fail on its input before it ever gets there.
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--redis-url', 'redis://127.0.0.1:1', ...args], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    let stderr = ''
    let written = 0
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.on('error', () => undefined) // EPIPE once the command stopped reading
    const pump = (): void => {
      while (written < maxBytes && !child.stdin.destroyed) {
        written += chunk.length
        if (!child.stdin.write(chunk)) return void child.stdin.once('drain', pump)
      }
      child.stdin.end()
    }
    pump()
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('exit', (code) => {
      clearTimeout(kill)
      child.stdin.destroy()
      resolve({ code, stderr, written })
    })
  })
}

it(
  'refuses a code line longer than 4 KiB on stdin with exit 2, without reading the rest of the input',
  { timeout: 90_000 },
  async () => {
    const MiB = Buffer.alloc(1 << 20, 0x37) // '7' × 1 MiB, no line break
    const r = await pipeInto(['code', '9996621234', '-'], MiB, 600 << 20)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /the code is longer than 4096 bytes/)
    assert.doesNotMatch(r.stderr, /7777777/, 'nothing of the input is echoed')
    // It stopped reading: far from the 600 MB offered (pipe buffers hold a few MiB at most).
    assert.ok(r.written < 64 << 20, `${r.written} bytes went in`)
  },
)

it('still takes the first line when it is short, whatever follows it', { timeout: 60_000 }, async () => {
  // Redis is unreachable here, so a code read fine ends in exit 3, after stdin was read.
  const r = await pipeInto(['code', '9996621234', '-'], Buffer.from(`24680\n${'x'.repeat(8192)}\n`), 1)
  assert.equal(r.code, 3, r.stderr)
  assert.match(r.stderr, /unreachable/)
})
