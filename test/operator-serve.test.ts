// `gramfarm serve` (issue 12): an onboarding whose codes arrive only through HTTP callbacks completes; the code
// routes answer whether a login was waiting, refuse bad input with a reason and store nothing then; bearer
// tokens, body cap and rate limit hold; the handler_api webhook maps an activation to its phone; /readyz sees
// workers. Real Redis (this file's prefix), the local test DC, an in-process worker.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Coordinator } from '../src/farm/coordinator.ts'
import { parseAccounts } from '../src/farm/accounts-file.ts'
import { loginJobId } from '../src/queue/login-job.ts'
import { CodeChannelNames, FarmRedisKeys } from '../src/queue/redis-keys.ts'
import { codeInText } from '../src/operator/code-routes.ts'
import { startOperatorServer, type OperatorServer } from '../src/operator/operator-server.ts'
import { TokenChecker } from '../src/operator/bearer-tokens.ts'
import { RequestRateLimit } from '../src/operator/request-rate-limit.ts'
import { readHeartbeats, writeHeartbeat } from '../src/queue/worker-heartbeats.ts'
import { CLI, REDIS_URL, sleep, startFarm, waitFor, type Farm } from './farm-e2e-harness.ts'

const CODES_TOKEN = 'codes-token-0123456789abcdef'
const ADMIN_TOKEN = 'admin-token-0123456789abcdef'
const WEBHOOK_TOKEN = 'webhook-token-0123456789abcdef'
const CONFIG_TOKEN = 'config-codes-token-0123456789'
const CONFIG_ADMIN_TOKEN = 'config-admin-token-0123456789'
const PHONES = ['9996621301', '9996631302', '9996641303']

let farm: Farm
let server: OperatorServer
/** Codes the test DC "sent", by phone: only this test delivers them, over HTTP. */
const sent = new Map<string, string>()

before(async () => {
  farm = await startFarm({ tag: 'operator-serve' })
  farm.testDc.accounts.onCode = (d) => void sent.set(d.phone, d.code) // replaces the simulated SMS service
  server = await startOperatorServer({
    redis: farm.redis,
    prefix: farm.prefix,
    tokens: { codes: [CODES_TOKEN], admin: [ADMIN_TOKEN], webhook: [WEBHOOK_TOKEN] },
  })
})

after(async () => {
  await server?.close()
  await farm?.stop()
})

async function post(
  path: string,
  body: unknown,
  token: string | null = CODES_TOKEN,
  raw?: string,
  target = server,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${target.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? JSON.stringify(body),
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

/** Every key of the code channel for a phone (nothing may be stored by a refused request). */
async function channelKeys(phone: string): Promise<string[]> {
  return farm.redis.keys(`${farm.prefix}*${phone}*`)
}

describe('gramfarm serve', () => {
  it('is not ready without a worker, and answers /healthz', async () => {
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { ok: true })
    const res = await fetch(`${server.url}/readyz`)
    assert.equal(res.status, 503)
    const body = (await res.json()) as { ready: boolean; redis: string; workers: number }
    assert.deepEqual([body.ready, body.redis, body.workers], [false, 'ok', 0])
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  it('refuses bad input with a reason and stores nothing', async () => {
    const phone = '9996621399'
    const cases: [string, unknown, string | null, number, string, string?][] = [
      ['/v1/codes', { phone, code: '12345' }, null, 401, 'unauthorized'],
      ['/v1/codes', { phone, code: '12345' }, 'wrong-token-0123456789abcdef', 401, 'unauthorized'],
      ['/v1/codes', { phone, code: '12345' }, WEBHOOK_TOKEN, 401, 'unauthorized'],
      ['/v1/codes', { phone: '12ab', code: '12345' }, CODES_TOKEN, 400, 'invalid-phone'],
      ['/v1/codes', { phone }, CODES_TOKEN, 400, 'missing-code'],
      ['/v1/codes', { phone, code: { x: 1 } }, CODES_TOKEN, 400, 'invalid-code'],
      ['/v1/codes', { phone, code: '12a45' }, CODES_TOKEN, 400, 'invalid-code'],
      ['/v1/codes', { phone, code: '12345', attempt: 'bad attempt!' }, CODES_TOKEN, 400, 'invalid-attempt'],
      ['/v1/codes', { phone, code: '12345', jobId: 'user-0000' }, CODES_TOKEN, 409, 'job-mismatch'],
      ['/v1/codes', [phone], CODES_TOKEN, 400, 'invalid-body'],
      ['/v1/codes', null, CODES_TOKEN, 400, 'invalid-json', '{"phone": '],
      ['/v1/codes', null, CODES_TOKEN, 413, 'body-too-large', JSON.stringify({ phone, code: '1'.repeat(20_000) })],
      ['/v1/passwords', { phone }, CODES_TOKEN, 400, 'missing-password'],
      ['/v1/passwords', { phone, password: 'x'.repeat(300) }, CODES_TOKEN, 400, 'invalid-password'],
      ['/v1/webhooks/handler-api', { activationId: '1', code: '12345' }, null, 401, 'unauthorized'],
      [
        '/v1/webhooks/handler-api',
        { activationId: 'no-such', code: '12345' },
        WEBHOOK_TOKEN,
        404,
        'unknown-activation',
      ],
    ]
    for (const [path, body, token, status, reason, raw] of cases) {
      const r = await post(path, body, token, raw)
      assert.equal(r.status, status, `${path} ${JSON.stringify(body)} → ${JSON.stringify(r.json)}`)
      assert.equal(r.json.error, reason)
      assert.equal(typeof r.json.message, 'string')
    }
    assert.deepEqual(await channelKeys(phone), [], 'nothing stored')
  })

  it('parks a code nobody waits for (202, waiting false) and takes the token from the admin list too', async () => {
    const phone = '9996621398'
    const r = await post('/v1/codes', { phone: `+${phone}`, code: '54321' }, ADMIN_TOKEN)
    assert.equal(r.status, 202)
    assert.equal(r.json.status, 'pending')
    assert.equal(r.json.waiting, false)
    assert.equal(r.json.jobId, loginJobId('user', phone))
    assert.equal(await farm.redis.get(new CodeChannelNames(farm.prefix).pendingCode(phone)), '54321')
    const p = await post('/v1/passwords', { phone, password: 'hunter2hunter2' })
    assert.deepEqual([p.status, p.json.status, p.json.waiting], [202, 'stored', false])
  })

  it(
    'completes an onboarding whose codes arrive only through POST /v1/codes, each for a waiting login',
    { timeout: 120_000 },
    async () => {
      const worker = await farm.startWorker()
      const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
      try {
        const ready = await waitFor(
          'readyz',
          async () => {
            const res = await fetch(`${server.url}/readyz`)
            const body = (await res.json()) as { workers: number }
            return res.status === 200 && body.workers >= 1 ? body : null
          },
          10_000,
          200,
        )
        assert.ok(ready.workers >= 1)
        const run = await coordinator.enqueue(parseAccounts(`${PHONES.join('\n')}\n`, { format: 'phones' }))
        const following = coordinator.follow(run, { timeoutMs: 90_000 })
        const answers = await Promise.all(
          PHONES.map(async (phone) => {
            const code = await waitFor(`the code of ${phone}`, () => sent.get(phone), 60_000, 50)
            const jobId = loginJobId('user', phone)
            // The login waits for its code (moved to the delayed set at wait_code).
            await waitFor(
              `${phone} waiting`,
              async () => {
                const job = await coordinator.queue.getJob(jobId)
                return job?.data.step === 'wait_code' && (await job.getState()) === 'delayed'
              },
              60_000,
              50,
            )
            return post('/v1/codes', { phone, code, jobId })
          }),
        )
        for (const a of answers)
          assert.deepEqual([a.status, a.json.status, a.json.waiting], [200, 'stored', true], JSON.stringify(a.json))
        const outcome = await following
        assert.deepEqual(
          outcome.results.map((r) => r.state),
          PHONES.map(() => 'authorized'),
        )
        // The login is over: the same code again finds none waiting.
        const again = await post('/v1/codes', { phone: PHONES[0], code: sent.get(PHONES[0]!) })
        assert.deepEqual([again.status, again.json.waiting], [202, false], JSON.stringify(again.json))
      } finally {
        await coordinator.close()
        await worker.close()
      }
    },
  )

  it('sees workers by their heartbeats (threads, jobs, version); one that closes is gone at once', async () => {
    const worker = await farm.startWorker({ threads: 2 })
    let closed = false
    try {
      // Seen as soon as startFarmWorker returns: its first beat is written before.
      const res = await fetch(`${server.url}/readyz`)
      const body = (await res.json()) as { ready: boolean; workers: number; threads: number }
      assert.deepEqual([res.status, body.ready, body.workers, body.threads], [200, true, 1, 2])
      const beats = await readHeartbeats(farm.redis, new FarmRedisKeys(farm.prefix))
      assert.equal(beats.length, 1)
      const [beat] = beats
      assert.equal(beat!.id, worker.id)
      assert.deepEqual(
        [beat!.pid, beat!.threads, beat!.activeJobs, beat!.running, beat!.host === hostname()],
        [process.pid, 2, 0, true, true],
      )
      assert.match(beat!.version, /^\d+\.\d+\.\d+/)
      const ttl = await farm.redis.pttl(new FarmRedisKeys(farm.prefix).worker(worker.id))
      assert.ok(ttl > 0 && ttl <= 15_000, `a short TTL (${ttl} ms)`)
      await worker.close()
      closed = true
      const after = (await (await fetch(`${server.url}/readyz`)).json()) as { ready: boolean; workers: number }
      assert.deepEqual([after.ready, after.workers], [false, 0])
    } finally {
      if (!closed) await worker.close()
    }
    // A worker that died without a word: its heartbeat expires, and readers drop its id from the index.
    const keys = new FarmRedisKeys(farm.prefix)
    await writeHeartbeat(
      farm.redis,
      keys,
      {
        id: 'gone:1:abc',
        host: 'gone',
        pid: 1,
        threads: 4,
        concurrency: 8,
        activeJobs: 0,
        running: true,
        startedAt: Date.now(),
        beatAt: Date.now(),
        version: '0.0.0',
      },
      300,
    )
    assert.equal((await readHeartbeats(farm.redis, keys)).length, 1)
    await sleep(500)
    assert.deepEqual(await readHeartbeats(farm.redis, keys), [])
    assert.deepEqual(await farm.redis.smembers(keys.workers), [])
  })

  it('delivers an SMS service webhook to the phone of its activation', async () => {
    const phone = '9996621397'
    await farm.redis.hset(new FarmRedisKeys(farm.prefix).smsActivations, 'act-77', phone)
    const url = `/v1/webhooks/handler-api?token=${WEBHOOK_TOKEN}`
    const r = await post(
      url,
      { activationId: 'act-77', service: 'tg', text: 'Telegram code: 67890. Do not give it to anyone' },
      null,
    )
    assert.deepEqual([r.status, r.json.status], [202, 'pending'])
    assert.equal(await farm.redis.get(new CodeChannelNames(farm.prefix).pendingCode(phone)), '67890')
    const none = await post(url, { activationId: 'act-77', text: 'no digits here' }, null)
    assert.deepEqual([none.status, none.json.error], [400, 'no-code'])
  })

  it('shows bull-board read-only to anyone and with its job actions to an admin only', async () => {
    const readOnly = await fetch(`${server.url}/queues/api/queues`)
    assert.equal(readOnly.status, 200)
    const ro = (await readOnly.json()) as { queues: { readOnlyMode: boolean }[] }
    assert.deepEqual(
      ro.queues.map((q) => q.readOnlyMode),
      [true],
    )
    for (const path of ['/queues/admin', '/queues/admin/api/queues', `/queues/admin?token=${CODES_TOKEN}`]) {
      const r = await fetch(`${server.url}${path}`)
      assert.equal(r.status, 401, path)
      assert.equal(((await r.json()) as { error: string }).error, 'unauthorized')
    }
    const page = await fetch(`${server.url}/queues/admin?token=${ADMIN_TOKEN}`)
    assert.equal(page.status, 200)
    const cookie = page.headers.get('set-cookie') ?? ''
    assert.match(cookie, /^gramfarm_admin=[^;]+; Path=\/queues\/admin; HttpOnly; SameSite=Strict$/)
    const api = await fetch(`${server.url}/queues/admin/api/queues`, { headers: { cookie: cookie.split(';')[0]! } })
    assert.equal(api.status, 200)
    assert.deepEqual(
      ((await api.json()) as { queues: { readOnlyMode: boolean }[] }).queues.map((q) => q.readOnlyMode),
      [false],
    )
  })

  it("limits each client's rate (429 with Retry-After)", async () => {
    const limited = await startOperatorServer({
      redis: farm.redis,
      prefix: farm.prefix,
      tokens: { codes: [CODES_TOKEN], admin: [], webhook: [] },
      rateLimit: { perMinute: 60, burst: 3 },
    })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 4; i++)
        statuses.push((await post('/v1/codes', { phone: 'bad' }, CODES_TOKEN, undefined, limited)).status)
      assert.deepEqual(statuses, [400, 400, 400, 429])
      const res = await fetch(`${limited.url}/v1/codes`, { method: 'POST' })
      assert.equal(res.headers.get('retry-after'), '1')
      assert.equal(((await res.json()) as { error: string }).error, 'rate-limited')
      assert.equal((await fetch(`${limited.url}/healthz`)).status, 200, 'health checks are not limited')
    } finally {
      await limited.close()
    }
  })
})

describe('gramfarm serve (the command)', () => {
  it(
    'listens on 127.0.0.1 with tokens from the environment and the config file, refuses short ones, and stops on SIGTERM',
    { timeout: 60_000 },
    async () => {
      const env = { ...process.env, GRAMFARM_CODE_TOKENS: CODES_TOKEN }
      const config = join(farm.dir, 'serve-config.json')
      writeFileSync(config, JSON.stringify({ serve: { tokens: [CONFIG_TOKEN], adminTokens: [CONFIG_ADMIN_TOKEN] } }))
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          CLI,
          '--config',
          config,
          '--redis-url',
          REDIS_URL,
          '--prefix',
          farm.prefix,
          '--log-level',
          'info',
          'serve',
          '--port',
          '0',
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
      try {
        const url = await waitFor(
          'serve ready',
          () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1],
          30_000,
          100,
        )
        const r = await fetch(`${url}/v1/codes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CODES_TOKEN}`, 'content-type': 'application/json' },
          body: '{"phone":"1"}',
        })
        assert.equal(r.status, 400)
        // The config file's tokens count too (the admin's for codes as well), an unknown one does not.
        for (const [token, status] of [
          [CONFIG_TOKEN, 400],
          [CONFIG_ADMIN_TOKEN, 400],
          [`${CONFIG_TOKEN}x`, 401],
        ] as const) {
          const t = await fetch(`${url}/v1/codes`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{"phone":"1"}',
          })
          assert.equal(t.status, status, token)
        }
        const admin = await fetch(`${url}/dashboard.json`, {
          headers: { authorization: `Bearer ${CONFIG_ADMIN_TOKEN}` },
        })
        assert.equal(((await admin.json()) as { phonesMasked: boolean }).phonesMasked, false)
        for (const t of [CODES_TOKEN, CONFIG_TOKEN, CONFIG_ADMIN_TOKEN])
          assert.ok(!out.includes(t), 'no token is logged')
      } finally {
        child.kill('SIGTERM')
      }
      assert.equal(await exited, 0, out)
      const short = spawn(process.execPath, ['--import', 'tsx', CLI, '--redis-url', REDIS_URL, 'serve'], {
        env: { ...process.env, GRAMFARM_CODE_TOKENS: 'short' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let err = ''
      short.stderr!.on('data', (d: Buffer) => (err += d.toString()))
      assert.equal(await new Promise((resolve) => short.once('exit', resolve)), 2)
      assert.match(err, /GRAMFARM_CODE_TOKENS: every token must be at least 16 characters/)
      // A short token in the config file is refused the same way, named by where it is, never shown.
      writeFileSync(config, JSON.stringify({ serve: { adminTokens: ['short-secret'] } }))
      const fromFile = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, '--config', config, '--redis-url', REDIS_URL, 'serve'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let fileErr = ''
      fromFile.stderr!.on('data', (d: Buffer) => (fileErr += d.toString()))
      assert.equal(await new Promise((resolve) => fromFile.once('exit', resolve)), 2)
      assert.match(fileErr, /serve\.adminTokens: every token must be at least 16 characters/)
      assert.ok(!fileErr.includes('short-secret'))
    },
  )
})

describe('serve parts', () => {
  it('finds Telegram codes in SMS texts', () => {
    assert.equal(codeInText('Telegram code: 12345'), '12345')
    assert.equal(codeInText('Your code 123-456 for login'), '123456')
    assert.equal(codeInText('Telegram code 82931\nYou can also tap'), '82931')
    assert.equal(codeInText('call +79001234567'), undefined)
  })

  it('compares tokens of each role; admin tokens are good everywhere', () => {
    const t = new TokenChecker({ codes: [CODES_TOKEN], admin: [ADMIN_TOKEN], webhook: [] })
    assert.ok(t.allows('codes', CODES_TOKEN) && t.allows('codes', ADMIN_TOKEN) && t.allows('admin', ADMIN_TOKEN))
    assert.ok(
      !t.allows('admin', CODES_TOKEN) &&
        !t.allows('webhook', CODES_TOKEN) &&
        !t.allows('codes', undefined) &&
        !t.allows('codes', `${CODES_TOKEN}x`),
    )
  })

  it("refills a client's budget over time", () => {
    const l = new RequestRateLimit({ perMinute: 60, burst: 2 })
    assert.deepEqual(
      [l.take('a', 0), l.take('a', 0), l.take('a', 0) > 0, l.take('b', 0), l.take('a', 1000)],
      [0, 0, true, 0, 0],
    )
  })
})
