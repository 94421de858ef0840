// Reports and output a script can use (issue 12): report rows with the state's parts split out, job and run
// ids and the error that ended a login; errors as JSON under --json; a run with no worker says so within seconds.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { RunOutcome } from '../src/farm/coordinator.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { reportCsv, reportRow, splitState, writeRunReport } from '../src/cli/run-report.ts'
import { runOnboarding } from '../src/cli/onboarding.ts'
import { failureCauses, failureText } from '../src/worker/failure-description.ts'
import { createServer } from 'node:net'
import { Queue } from 'bullmq'
import { planJobs } from '../src/farm/account-jobs.ts'
import { createLogger } from '../src/foundation/logger.ts'
import { LOGIN_QUEUE, type LoginResult } from '../src/queue/login-job.ts'
import { FarmRedisKeys, resultsKey } from '../src/queue/redis-keys.ts'
import { randomBytes } from 'node:crypto'
import { RedisSessionStorage } from '../src/auth/storage/index.ts'
import { sessionKeyPrefix } from '../src/queue/redis-keys.ts'
import { REDIS_URL, runCli, scratchScope, sink, startFarm, waitFor } from './farm-e2e-harness.ts'

const scope = scratchScope('operator-reports')

const outcome: RunOutcome = {
  runId: 'run-ops-1',
  timedOut: false,
  interrupted: false,
  elapsedMs: 1200,
  results: [
    {
      account: '9996621234',
      kind: 'user',
      state: 'authorized',
      jobId: 'user-a',
      userId: '42',
      dcId: 2,
      startedAt: 1000,
      finishedAt: 1500,
    },
    {
      account: '9996621235',
      kind: 'user',
      state: 'failed(dc_unreachable)',
      jobId: 'user-b',
      error: 'ProxyError: proxy refused <- Error: connect ECONNREFUSED 127.0.0.1:9 [ECONNREFUSED]',
    },
    { account: 'bot100200', kind: 'bot', state: 'flood_wait(120)', jobId: 'bot-c' },
    {
      account: '9996621236',
      kind: 'user',
      state: 'duplicate',
      jobId: 'user-d',
      runId: 'run-other',
      note: 'authorized by run run-other',
    },
  ],
}

describe('report rows', () => {
  it('split the state from its reason and its wait', () => {
    assert.deepEqual(splitState('authorized'), { state: 'authorized', reason: null, waitS: null })
    assert.deepEqual(splitState('failed(token_invalid)'), { state: 'failed', reason: 'token_invalid', waitS: null })
    assert.deepEqual(splitState('flood_wait(120)'), { state: 'flood_wait', reason: null, waitS: 120 })
    assert.deepEqual(splitState('failed(bad step (x))'), { state: 'failed', reason: 'bad step (x)', waitS: null })
  })

  it('carry job id, run id, user id, DC and the error', () => {
    const rows = outcome.results.map((r) => reportRow(r, outcome.runId))
    assert.deepEqual(
      rows.map((r) => [r.state, r.reason, r.wait_s, r.job_id, r.run_id, r.user_id, r.dc]),
      [
        ['authorized', null, null, 'user-a', 'run-ops-1', '42', 2],
        ['failed', 'dc_unreachable', null, 'user-b', 'run-ops-1', null, null],
        ['flood_wait', null, 120, 'bot-c', 'run-ops-1', null, null],
        ['duplicate', null, null, 'user-d', 'run-other', null, null],
      ],
    )
    assert.match(rows[1]!.error!, /ECONNREFUSED/)
    assert.equal(rows[0]!.duration_ms, 500)
  })

  it('are the same in the JSON and the CSV file', async () => {
    const paths = await writeRunReport(outcome, join(scope.dir, 'report'))
    const json = JSON.parse(readFileSync(paths.json, 'utf8')) as { accounts: Record<string, unknown>[] }
    const csv = reportCsv(outcome).trim().split('\r\n')
    const header = csv[0]!.split(',')
    assert.deepEqual(header.slice(0, 9), [
      'account',
      'kind',
      'state',
      'reason',
      'wait_s',
      'job_id',
      'run_id',
      'user_id',
      'dc',
    ])
    assert.ok(header.includes('error'))
    assert.deepEqual(Object.keys(json.accounts[0]!), header)
    assert.match(csv[2]!, /^9996621235,user,failed,dc_unreachable,,user-b,run-ops-1,,,/)
  })
})

describe('a failure in words', () => {
  it('is the cause chain, outermost first, with codes kept and phones masked', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1080'), { code: 'ECONNREFUSED' })
    class ProxyError extends Error {
      override readonly name = 'ProxyError'
    }
    const err = new ProxyError('proxy for 9996621234 refused the connection', { cause: root })
    const causes = failureCauses(err)
    assert.equal(causes.length, 2)
    assert.match(causes[0]!, /^ProxyError: proxy for \+9996\*\*\*234~[0-9a-f]{4} refused the connection$/)
    assert.equal(causes[1], 'Error: connect ECONNREFUSED 127.0.0.1:1080 [ECONNREFUSED]')
    assert.ok(!failureText(err).includes('9996621234'))
    assert.ok(failureText(err, 40).length <= 40)
  })
})

describe('output for scripts', () => {
  it('gives errors as one JSON object on stderr under --json', async () => {
    const [usage, redis, plain] = await Promise.all([
      runCli(['status', '--json', '--no-such-option']),
      runCli(['--redis-url', 'redis://127.0.0.1:1', 'status', '--json']),
      runCli(['--redis-url', 'redis://127.0.0.1:1', 'status']),
    ])
    assert.equal(usage.code, 2)
    assert.deepEqual(JSON.parse(usage.stderr), {
      error: { name: 'UsageError', message: "unknown option '--no-such-option'", exitCode: 2 },
    })
    assert.equal(redis.code, 3)
    const e = (JSON.parse(redis.stderr) as { error: { name: string; message: string; exitCode: number } }).error
    assert.equal(e.exitCode, 3)
    assert.match(e.message, /unreachable/)
    assert.match(plain.stderr, /^gramfarm: Redis at .* is unreachable/)
  })

  it('says within seconds that no worker is connected, as text and as JSON under --json', async () => {
    for (const json of [false, true]) {
      const stderr = sink()
      const specs = parseAccounts(`999662${json ? 7 : 6}001\n`, { format: 'phones' })
      const started = Date.now()
      const result = await runOnboarding(scope.redis, scope.prefix, specs, {
        timeoutMs: 4_000,
        noWorkerNoticeMs: 1_000,
        progress: false,
        json,
        stdout: sink(),
        stderr,
      })
      assert.equal(result.outcome.timedOut, true)
      const text = stderr.text()
      if (json) {
        const line = text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { warning?: string; runId?: string })
          .find((l) => l.warning === 'no_worker')
        assert.ok(line, text)
        assert.equal(line.runId, result.outcome.runId)
      } else {
        assert.match(text, /no worker is connected to the queue/)
      }
      assert.ok(Date.now() - started < 6_000)
    }
  })
})

/** A TCP port nothing listens on (connections to it are refused). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('a login that fails for good', () => {
  it(
    'has its cause chain in its result and a warn line with the run id, the report name and the causes',
    { timeout: 120_000 },
    async () => {
      const farm = await startFarm({ tag: 'operator-fail' })
      const log = sink()
      const port = await closedPort()
      const dead = farm.testDc.endpoint.dcs.map((d) => ({ ...d, host: '127.0.0.1', port }))
      const worker = await farm.startWorker({
        testDc: { dcs: dead, publicKeyPem: farm.testDc.endpoint.publicKeyPem },
        connectTimeoutMs: 500,
        handshakeTimeoutMs: 500,
        requestTimeoutMs: 2_000,
        logger: createLogger({ level: 'info', destination: log }),
      })
      const queue = new Queue(LOGIN_QUEUE, {
        connection: farm.redis,
        prefix: new FarmRedisKeys(farm.prefix).bullPrefix,
      })
      try {
        const [job] = planJobs(parseAccounts('9996621555\n', { format: 'phones' }), { runId: 'run-fail-1' })
        // One attempt: its failure is the last one.
        await queue.add(job!.data.kind, job!.data, {
          jobId: job!.jobId,
          attempts: 1,
          removeOnComplete: true,
          removeOnFail: true,
        })
        const json = await waitFor(
          'the result',
          () => farm.redis.hget(resultsKey(farm.prefix, 'run-fail-1'), '9996621555'),
          60_000,
          200,
        )
        const result = JSON.parse(json) as LoginResult
        assert.match(result.state, /^failed\(/)
        assert.match(result.error ?? '', /ECONNREFUSED|refused|Timeout/i, result.error)
        assert.ok(!(result.error ?? '').includes('9996621555'))
        const line = await waitFor(
          'the warn line',
          () =>
            log
              .text()
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Record<string, unknown>)
              .find((l) => l.msg === 'login failed'),
          10_000,
        )
        assert.equal(line.level, 40, 'warn')
        assert.equal(line.runId, 'run-fail-1')
        assert.equal(line.state, result.state)
        assert.ok(Array.isArray(line.causes) && (line.causes as string[]).length >= 1, JSON.stringify(line))
        assert.equal(typeof line.stack, 'string')
        assert.ok(!log.text().includes('9996621555'), 'no phone in the log')
      } finally {
        await queue.close()
        await worker.close()
        await farm.stop()
      }
    },
  )
})

describe('a login the runner ends as failed', () => {
  it('says why in its report row without reading logs', { timeout: 120_000 }, async () => {
    const farm = await startFarm({ tag: 'operator-runner-fail' })
    const worker = await farm.startWorker()
    try {
      // A bot token the test DC does not know: Telegram answers ACCESS_TOKEN_INVALID.
      const specs = parseAccounts('7400000001:AAUnknownTokenForTestsOnly000000001\n', { format: 'bots' })
      const result = await runOnboarding(farm.redis, farm.prefix, specs, {
        timeoutMs: 60_000,
        progress: false,
        stdout: sink(),
        stderr: sink(),
      })
      const row = reportRow(result.outcome.results[0]!, result.outcome.runId)
      assert.equal(row.state, 'failed')
      assert.ok(row.reason !== null && row.reason !== '', JSON.stringify(row))
      assert.match(row.error ?? '', /ACCESS_TOKEN_INVALID/, JSON.stringify(row))
      assert.ok(!(row.error ?? '').includes('AAUnknownToken'), 'no secret in the error')
    } finally {
      await worker.close()
      await farm.stop()
    }
  })
})

describe('gramfarm sessions list', () => {
  it("shows each session's user id and DC (masked phones stay apart)", async () => {
    for (const [name, userId, dcId] of [
      ['user-9996621701', 5001n, 2],
      ['user-9996631701', 5002n, 3],
    ] as const) {
      const storage = new RedisSessionStorage({ redis: scope.redis, name, keyPrefix: sessionKeyPrefix(scope.prefix) })
      await storage.open()
      await storage.save({ dcId, apiId: 2040, testMode: true, authKey: randomBytes(256), userId, isBot: false })
      await storage.close()
    }
    const at = ['--redis-url', REDIS_URL, '--prefix', scope.prefix]
    const [json, table] = await Promise.all([
      runCli([...at, 'sessions', 'list', '--json']),
      runCli([...at, 'sessions', 'list']),
    ])
    assert.equal(json.code, 0, json.stderr)
    const rows = JSON.parse(json.stdout) as { account: string; user_id: string | null; dc: number | null }[]
    assert.deepEqual(
      rows.map((r) => [r.account, r.user_id, r.dc]),
      [
        ['9996621701', '5001', 2],
        ['9996631701', '5002', 3],
      ],
    )
    assert.match(table.stdout, /user id/)
    assert.match(table.stdout, /5001/)
    const masked = table.stdout.split('\n').filter((l) => l.includes('+9996***701~'))
    assert.equal(masked.length, 2)
    assert.notEqual(masked[0]!.split(/\s+/)[0], masked[1]!.split(/\s+/)[0], 'the two masked phones differ')
  })
})
