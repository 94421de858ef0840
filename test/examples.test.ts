// The examples run as they are, against a test DC named by GRAMFARM_TESTDC.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAccountsDc } from './support/accounts-dc.ts'
import { writeTestDcEndpoint } from '../src/testdc/testdc-endpoint.ts'

function runExample(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL(`../examples/${file}`, import.meta.url).pathname],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('exit', (code) => resolve({ code, out }))
  })
}

test('examples: non-interactive login, session string export and reuse, and a bot, against the test DC', async () => {
  const env = await startAccountsDc()
  const dir = await mkdtemp(join(tmpdir(), 'gramfarm-examples-'))
  try {
    const endpoint = join(dir, 'testdc.json')
    writeTestDcEndpoint(endpoint, env.dc)
    const bot = env.accounts.addBot({ username: 'example_bot' })
    const common = { GRAMFARM_TESTDC: endpoint }
    const nonInteractive = await runExample('non-interactive.ts', common)
    assert.equal(nonInteractive.code, 0, nonInteractive.out)
    assert.match(nonInteractive.out, /logged in as user \d+ \(\+9996621234\)/)
    const strings = await runExample('session-string.ts', { ...common, PHONE: '9996631234' })
    assert.equal(strings.code, 0, strings.out)
    assert.match(strings.out, /started from the string as user \d+/)
    assert.match(
      strings.out,
      /session string: [A-Za-z0-9_-]{12}… \(\d+ chars; keep it secret\)/,
      'only a prefix of the string is printed',
    )
    const botRun = await runExample('bot.ts', { ...common, BOT_TOKEN: bot.botToken! })
    assert.equal(botRun.code, 0, botRun.out)
    assert.match(botRun.out, /bot @example_bot/)
  } finally {
    await rm(dir, { recursive: true, force: true })
    await env.stop()
  }
})
