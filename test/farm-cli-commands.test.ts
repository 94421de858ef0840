// The `gramfarm` command line as operators use it: real child processes (node --import tsx src/cli/main.ts …)
// against the real Redis on 127.0.0.1:6379 under a prefix of this file, and the local test DC for onboarding.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Queue } from 'bullmq'
import type { Command } from 'commander'
import { buildProgram } from '../src/cli/program.ts'
import { CodeInbox } from '../src/queue/code-channel.ts'
import { maskPhone } from '../src/foundation/logger.ts'
import { Keyring } from '../src/foundation/sealed-value.ts'
import { adoptPhoneMaskKey } from '../src/queue/phone-mask-key.ts'
import { LOGIN_QUEUE } from '../src/queue/login-job.ts'
import { REDIS_URL, runCli, startFarm, type Farm } from './farm-e2e-harness.ts'

let farm: Farm

before(async () => {
  farm = await startFarm({ tag: 'cli', seed: { users: [{ phone: '9996621901', banned: true }] } })
})

after(async () => {
  await farm.stop()
})

/** Global flags pointing a command at this file's Redis prefix. */
const at = (): string[] => ['--redis-url', REDIS_URL, '--prefix', farm.prefix, '--log-level', 'warn']

async function keysUnderPrefix(): Promise<string[]> {
  const out: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await farm.redis.scan(cursor, 'MATCH', `${farm.prefix}*`, 'COUNT', 1000)
    cursor = next
    out.push(...keys)
  } while (cursor !== '0')
  return out
}

describe('gramfarm CLI', () => {
  it('refuses a malformed accounts file with line numbers, exit 2, and enqueues nothing', async () => {
    const file = join(farm.dir, 'bad.csv')
    writeFileSync(file, 'phone,password\n+99966 2 1001,\n12ab,\n+9996621002,x\n+9996621001,\n')
    const before = await keysUnderPrefix()
    const [plain, json] = await Promise.all([
      runCli([...at(), 'onboard', file]),
      runCli([...at(), 'onboard', file, '--json']),
    ])
    assert.equal(plain.code, 2, plain.stderr)
    assert.match(plain.stderr, /bad\.csv:3: phone contains letters/)
    assert.match(plain.stderr, /bad\.csv:5: duplicate phone \+9996621001, first on line 2/)
    assert.match(plain.stderr, /nothing was enqueued/)
    assert.equal(json.code, 2)
    const report = JSON.parse(json.stdout) as { issues: { line: number; code: string }[] }
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.code]),
      [
        [3, 'invalid-phone'],
        [5, 'duplicate'],
      ],
    )
    // Nothing reached Redis: no job, no secret, no run.
    const queue = new Queue(LOGIN_QUEUE, { connection: farm.redis, prefix: `${farm.prefix}bull` })
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized')
    await queue.close()
    assert.deepEqual(Object.values(counts), [0, 0, 0, 0, 0, 0])
    assert.deepEqual(
      (await keysUnderPrefix()).filter((k) => !before.includes(k) && !k.includes(':bull:')),
      [],
    )
  })

  it('refuses a 100k-deep JSON accounts file with its line, exit 2 (not a stack overflow, exit 5)', async () => {
    const file = join(farm.dir, 'deep.json')
    writeFileSync(file, `[\n${'['.repeat(100_000)}`)
    const r = await runCli([...at(), 'onboard', file])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /deep\.json:2: JSON: nested deeper than 32 levels/)
    assert.doesNotMatch(r.stderr, /internal error|RangeError|call stack/)
  })

  it('prints --help for every command (exit 0), and the installed bin runs', async () => {
    const program = buildProgram()
    let out = ''
    const all: Command[] = []
    const walk = (c: Command): void => {
      c.configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) })
      all.push(c)
      c.commands.forEach(walk)
    }
    walk(program)
    const names = all.slice(1).map((c) => (c.parent && c.parent !== program ? [c.parent.name(), c.name()] : [c.name()]))
    assert.deepEqual(
      names.map((n) => n.join(' ')).sort(),
      [
        'bots',
        'code',
        'demo',
        'onboard',
        'password',
        'qr',
        'sessions',
        'sessions check',
        'sessions export',
        'sessions harden',
        'sessions import',
        'sessions list',
        'status',
        'testdc',
        'testdc scan',
        'worker',
        'serve',
        'provider',
        'provider handler-api',
        'keys',
        'keys rotate',
      ].sort(),
    )
    for (const n of [[], ...names]) {
      out = ''
      await assert.rejects(buildAndRun(program, n), (e: { code?: string }) => e.code === 'commander.helpDisplayed')
      assert.match(
        out,
        new RegExp(`Usage: gramfarm${n.length ? ` ${n.join(' ')}` : ''} `),
        `help of ${n.join(' ') || 'gramfarm'}`,
      )
      if (n.length === 0) assert.match(out, /Exit codes:[\s\S]*3 +Redis unreachable/)
      // Secrets in argv show in `ps` and shell history: the help says how to keep them out.
      if (n.length === 0) assert.match(out, /api_hash; prefer\s+\$GRAMFARM_API_HASH/)
      if (n.join(' ') === 'code') assert.match(out, /or - to read it\s+from stdin/)
    }
    const bin = await runCli(['--help'])
    assert.equal(bin.code, 0)
    assert.match(bin.stdout, /Usage: gramfarm/)
  })

  it('exits 2 on a usage error and 3 when Redis is unreachable', async () => {
    const [unknown, missing, noRedis] = await Promise.all([
      runCli([...at(), 'onboard', 'x.txt', '--no-such-option']),
      runCli([...at(), 'code', '9996621234']),
      runCli(['--redis-url', 'redis://127.0.0.1:1', 'status']),
    ])
    assert.equal(unknown.code, 2, unknown.stderr)
    assert.equal(missing.code, 2, missing.stderr)
    assert.equal(noRedis.code, 3, noRedis.stderr)
    assert.match(noRedis.stderr, /Redis at redis:\/\/127\.0\.0\.1:1 is unreachable/)
  })

  it('checks a phone (and code) before connecting to Redis or asking for the password: exit 2, not 3', async () => {
    const down = ['--redis-url', 'redis://127.0.0.1:1', '--log-level', 'warn']
    const [code, emptyCode, password] = await Promise.all([
      runCli([...down, 'code', 'abc', '1']),
      runCli([...down, 'code', '9996621234', '-'], { input: '\n' }),
      runCli([...down, 'password', 'abc'], { input: 'a password\n' }),
    ])
    for (const r of [code, emptyCode, password]) {
      assert.equal(r.code, 2, r.stderr)
      assert.doesNotMatch(r.stderr, /unreachable/)
    }
    assert.match(code.stderr, /phone must be 7-15 digits/)
    assert.match(emptyCode.stderr, /no code given/)
    assert.match(password.stderr, /phone must be 7-15 digits/)
  })

  it('`gramfarm code <phone> -` reads the code from stdin (first line), keeping it out of argv', async () => {
    const r = await runCli([...at(), 'code', '9996621780', '-'], { input: '24680\nnot this line\n' })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /parked/)
    assert.equal(await farm.redis.get(`${farm.prefix}code:pending:9996621780`), '24680')
    assert.ok(!r.stdout.includes('24680') && !r.stderr.includes('24680'))
  })

  it('`gramfarm code` delivers to the channel: to the waiting login, or parked until one asks', async () => {
    const inbox = new CodeInbox({ redis: farm.redis, prefix: farm.prefix })
    try {
      await inbox.requestCode({ phone: '9996621777', attempt: 'a1', codeType: 'sms', jobId: 'job-cli' })
      const waiting = inbox.waitForCode({ phone: '9996621777', attempt: 'a1', timeoutMs: 20_000 })
      const [stored, parked] = await Promise.all([
        runCli([...at(), 'code', '+99966 2 1777', '22222', '--json']),
        runCli([...at(), 'code', '9996621778', '12345']),
      ])
      assert.equal(stored.code, 0, stored.stderr)
      // The CLI masks with the farm's key (kept in Redis); so does this process once it has adopted it.
      await adoptPhoneMaskKey(farm.redis, farm.prefix, Keyring.clear())
      assert.deepEqual(JSON.parse(stored.stdout), { phone: maskPhone('9996621777'), status: 'stored', attempt: 'a1' })
      assert.equal(await waiting, '22222')
      assert.equal(parked.code, 0, parked.stderr)
      assert.match(parked.stdout, /parked/)
      assert.equal(await farm.redis.get(`${farm.prefix}code:pending:9996621778`), '12345')
      // a bad code is a usage error
      const bad = await runCli([...at(), 'code', '9996621778', ''])
      assert.equal(bad.code, 2)
    } finally {
      await inbox.close()
    }
  })

  it('`gramfarm code` refuses a code of non-ASCII digits (exit 2) without parking it; the real code after it parks', async () => {
    const bad = await runCli([...at(), 'code', '9996621781', '١٢٣٤٥'])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /ASCII digits/)
    assert.equal(await farm.redis.exists(`${farm.prefix}code:pending:9996621781`), 0)
    const good = await runCli([...at(), 'code', '9996621781', '54321'])
    assert.equal(good.code, 0, good.stderr)
    assert.equal(await farm.redis.get(`${farm.prefix}code:pending:9996621781`), '54321')
  })

  it('`gramfarm password` reads the password from stdin (never argv) and delivers it', async () => {
    const inbox = new CodeInbox({ redis: farm.redis, prefix: farm.prefix })
    try {
      const waiting = inbox.waitForPassword({ phone: '9996621779', timeoutMs: 20_000 })
      const r = await runCli([...at(), 'password', '9996621779'], { input: 'correct horse battery\n' })
      assert.equal(r.code, 0, r.stderr)
      assert.equal(await waiting, 'correct horse battery')
      assert.ok(!r.stdout.includes('correct horse') && !r.stderr.includes('correct horse'))
      const empty = await runCli([...at(), 'password', '9996621779'], { input: '' })
      assert.equal(empty.code, 2)
    } finally {
      await inbox.close()
    }
  })

  it('onboards a file with an in-process worker, writes sessions and the report, and says so in its exit code', async () => {
    const file = join(farm.dir, 'phones.txt')
    writeFileSync(file, '# two accounts\n+99966 2 1801\n+99966 3 1802\n')
    const failing = join(farm.dir, 'failing.txt')
    writeFileSync(failing, '+99966 2 1803\n+99966 2 1901\n') // the second one is banned
    const sessions = join(farm.dir, 'cli-sessions')
    const report = join(farm.dir, 'cli-report')
    // The test DC from the environment, as an operator's shell would have it; no pacing against it.
    const env = { GRAMFARM_TESTDC: farm.endpointFile, GRAMFARM_SEND_CODE_RATE: '1000:1000,1000:1000' }
    const ok = await runCli(
      [
        ...at(),
        'onboard',
        file,
        '--with-worker',
        '--threads',
        '1',
        '--sessions-dir',
        sessions,
        '--report',
        report,
        '--code-timeout',
        '20',
      ],
      { env },
    )
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /authorized +2 +2/)
    assert.deepEqual(readdirSync(sessions).sort(), [
      '9996621801.json',
      '9996621801.session',
      '9996631802.json',
      '9996631802.session',
    ])
    assert.equal(statSync(join(sessions, '9996621801.session')).mode & 0o777, 0o600)
    assert.ok(existsSync(`${report}.json`) && existsSync(`${report}.csv`))
    const bad = await runCli(
      [...at(), '--testdc', farm.endpointFile, 'onboard', failing, '--with-worker', '--threads', '1', '--json'],
      { env: { GRAMFARM_SEND_CODE_RATE: '1000:1000,1000:1000' } },
    )
    assert.equal(bad.code, 1, bad.stderr)
    const out = JSON.parse(bad.stdout) as { accounts: { account: string; state: string }[] }
    assert.deepEqual(
      out.accounts.map((a) => [a.account, a.state]),
      [
        ['9996621803', 'authorized'],
        ['9996621901', 'banned'],
      ],
    )
    // …and the sessions are still in Redis for `gramfarm sessions export`.
    const strings = join(farm.dir, 'exported.json')
    const exported = await runCli([...at(), 'sessions', 'export', '--strings', strings, '--json'])
    assert.equal(exported.code, 0, exported.stderr)
    assert.equal((JSON.parse(exported.stdout) as { exported: unknown[] }).exported.length, 3)
    const status = await runCli([...at(), 'status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    assert.equal((JSON.parse(status.stdout) as { sessionsInRedis: number }).sessionsInRedis, 3)
  })
})

function buildAndRun(program: Command, names: string[]): Promise<unknown> {
  return program.parseAsync(['node', 'gramfarm', ...names, '--help'])
}
