// Text from outside — accounts files' field names, arguments, run labels and QR slot names kept in Redis — is
// printed in messages, tables and logs. Its control characters (ESC sequences that recolour, move the cursor,
// retitle the window or wipe the screen; C1 CSI; bidi overrides) must reach the terminal escaped (\u001b), never
// raw, in every message; and --json output stays valid JSON holding the same values.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Coordinator } from '../src/farm/coordinator.ts'
import { escapeControlCharacters } from '../src/foundation/terminal-text.ts'
import { escapingDestination } from '../src/cli/terminal-output.ts'
import { REDIS_URL, runCli, scratchScope } from './farm-e2e-harness.ts'

const scope = scratchScope('cli-escapes')
/** What a terminal would obey: ESC, BEL, C1 controls, bidi overrides. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

function assertNoRawControl(text: string, what: string): void {
  const m = RAW_CONTROL.exec(text)
  assert.equal(
    m,
    null,
    `${what} has a raw U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0')}: ${JSON.stringify(text)}`,
  )
}

describe('control characters on the terminal', () => {
  it('escapes C0 (not line breaks or tabs), DEL, C1 and bidi controls as \\uXXXX', () => {
    assert.equal(
      escapeControlCharacters('a\x1b[31mb\x07\tc\nd\x7f\u009b\u202e'),
      'a\\u001b[31mb\\u0007\tc\nd\\u007f\\u009b\\u202e',
    )
    assert.equal(escapeControlCharacters('plain text, ünïcödé, 日本'), 'plain text, ünïcödé, 日本')
  })

  it('escapes log lines on their way to the terminal', () => {
    const lines: string[] = []
    const dest = escapingDestination({ write: (t: string) => void lines.push(t) })
    dest.write('{"msg":"\u009b2J"}\n')
    assert.deepEqual(lines, ['{"msg":"\\u009b2J"}\n'])
  })

  it('in the problems of an accounts file: CSV column names and JSON field names', { timeout: 60_000 }, async () => {
    const csv = join(scope.dir, 'esc.csv')
    writeFileSync(csv, 'phone,\x1b]0;pwned\x07title,\x1b[2Jwipe\n+9996621234,1,2\n')
    const json = join(scope.dir, 'esc.json')
    writeFileSync(json, '[{"kind":"user","phone":"+9996621234","\\u001b[31mred":1,"\\u009b2J":2}]')
    for (const file of [csv, json]) {
      const r = await runCli(['--redis-url', 'redis://127.0.0.1:1', 'onboard', file])
      assert.equal(r.code, 2, r.stderr)
      assertNoRawControl(r.stderr + r.stdout, file)
      assert.match(r.stderr, /\\u001b/)
    }
  })

  it("in commander's own errors about the arguments", { timeout: 60_000 }, async () => {
    const r = await runCli(['--\x1b[31mcolour', 'status'])
    assert.equal(r.code, 2, r.stderr)
    assertNoRawControl(r.stderr, 'stderr')
    assert.match(r.stderr, /unknown option '--\\u001b\[31mcolour'/)
  })

  it(
    'in status tables (run labels, QR slot names from Redis), while --json keeps the values',
    { timeout: 60_000 },
    async () => {
      const coordinator = new Coordinator({ redis: scope.redis, prefix: scope.prefix })
      const label = '\x1b]0;pwned\x07'
      const slot = '\x1b[2Jdesk\u202e1'
      try {
        const run = await coordinator.enqueue([{ kind: 'qr', label: slot, source: { file: 'esc', line: 1 } }], {
          label,
        })
        // Its result, as a worker saves it (no worker runs here), in the run's results hash.
        const now = Date.now()
        await scope.redis.hset(
          `${scope.prefix}results:${run.runId}`,
          slot,
          JSON.stringify({ account: slot, kind: 'qr', state: 'code_timeout', startedAt: now, finishedAt: now }),
        )
        const text = await runCli(['--redis-url', REDIS_URL, '--prefix', scope.prefix, 'status', '--run', run.runId])
        assert.equal(text.code, 0, text.stderr)
        assertNoRawControl(text.stdout + text.stderr, 'status --run')
        assert.match(text.stdout, /\\u001b\]0;pwned\\u0007/)
        assert.match(text.stdout, /\\u001b\[2Jdesk\\u202e1/)
        const listed = await runCli(['--redis-url', REDIS_URL, '--prefix', scope.prefix, 'status'])
        assertNoRawControl(listed.stdout + listed.stderr, 'status')
        const json = await runCli([
          '--redis-url',
          REDIS_URL,
          '--prefix',
          scope.prefix,
          'status',
          '--run',
          run.runId,
          '--json',
        ])
        assertNoRawControl(json.stdout, 'status --json')
        const parsed = JSON.parse(json.stdout) as { label?: string; accounts: { account: string }[] }
        assert.equal(parsed.label, label)
        assert.equal(parsed.accounts[0]!.account, slot)
      } finally {
        await coordinator.close()
      }
    },
  )
})
