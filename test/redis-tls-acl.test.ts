// The farm on a Redis that speaks only TLS (certificates made here with openssl, our CA given in the endpoint, no
// NODE_EXTRA_CA_CERTS) and whose users are the least-privilege ACL of docs/redis-acl.md (src/queue/redis-acl.ts):
// an onboarding with the coordinator, the worker process and the code provider each on its own ACL user; a wrong
// CA is a TLS error (exit 7), a wrong password "authentication failed" (exit 7), a missing permission NOPERM (exit 7).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { AccountSpec } from '../src/farm/accounts-file.ts'
import { Coordinator } from '../src/farm/coordinator.ts'
import { SimulatedCodeProvider } from '../src/demo/simulated-code-provider.ts'
import { aclSetUserArgs, type FarmRole } from '../src/queue/redis-acl.ts'
import { openRedis, type RedisClient, type RedisEndpoint } from '../src/queue/redis-connection.ts'
import { runCli, spawnWorker, startFarm, type Farm, type WorkerProcess } from './farm-e2e-harness.ts'
import { startRedisServer, freeLoopbackPort, type RedisServer } from './support/redis-servers.ts'
import { makeTestCertificates, type TestCertificates } from './support/tls-certificates.ts'

/** Every farm prefix this file makes starts so (uniquePrefix('tls-acl')): the ACL users are confined to it. */
const PREFIX_FAMILY = '{gramfarm-test:tls-acl:'
const ROLES: readonly FarmRole[] = ['coordinator', 'worker', 'provider', 'serve']
const passwords = Object.fromEntries(ROLES.map((r) => [r, randomBytes(12).toString('hex')])) as Record<FarmRole, string>
const ADMIN_PASSWORD = randomBytes(12).toString('hex')

function phones(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `99966${1 + ((from + i) % 5)}${5000 + from + i}`)
}

function users(list: readonly string[]): AccountSpec[] {
  return list.map((phone, i) => ({ kind: 'user', phone, source: { file: 'tls-acl.txt', line: i + 1 } }))
}

describe('Redis over TLS with the least-privilege ACL', () => {
  let dir: string
  let certs: TestCertificates
  let server: RedisServer
  let url: string
  const endpointOf = (role: FarmRole | 'admin', overrides: Partial<RedisEndpoint> = {}): RedisEndpoint => ({
    url,
    username: role === 'admin' ? 'gf-admin' : `gf-${role}`,
    password: role === 'admin' ? ADMIN_PASSWORD : passwords[role],
    tls: { caFile: certs.caFile },
    ...overrides,
  })

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gramfarm-tls-acl-'))
    // A CA made now: only the endpoint's caFile can make it trusted (NODE_EXTRA_CA_CERTS, if set, cannot hold it).
    certs = makeTestCertificates(dir)
    const extra = process.env['NODE_EXTRA_CA_CERTS']
    if (extra) assert.ok(!readFileSync(extra, 'utf8').includes(readFileSync(certs.caFile, 'utf8').trim()))
    const port = await freeLoopbackPort()
    // Stopped by our own `after` (started inside a suite's hook, the helper's would stop it when the hook ends).
    server = await startRedisServer({
      port,
      stopAfterTest: false,
      configText: [
        'user default off',
        `user gf-admin on >${ADMIN_PASSWORD} ~* &* +@all`,
        ...ROLES.map((r) => `user ${aclSetUserArgs(r, `gf-${r}`, passwords[r], PREFIX_FAMILY).join(' ')}`),
      ].join('\n'),
      args: [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        certs.serverCertFile,
        '--tls-key-file',
        certs.serverKeyFile,
        '--tls-ca-cert-file',
        certs.caFile,
        '--tls-auth-clients',
        'no',
        '--save',
        '',
      ],
      probe: { tls: { ca: readFileSync(certs.caFile) }, username: 'gf-admin', password: ADMIN_PASSWORD },
    })
    url = `rediss://127.0.0.1:${port}`
  })

  after(async () => {
    await server?.stop()
    rmSync(server?.dir ?? '', { recursive: true, force: true })
    rmSync(dir, { recursive: true, force: true })
  })

  describe('an onboarding, each process on its own ACL user', () => {
    let farm: Farm
    let provider: SimulatedCodeProvider
    let providerRedis: RedisClient
    let worker: WorkerProcess | undefined

    before(async () => {
      farm = await startFarm({ tag: 'tls-acl', redis: endpointOf('coordinator') })
      assert.ok(farm.prefix.startsWith(PREFIX_FAMILY))
      // The code provider on its own user (the farm's own provider, on the coordinator's, stops).
      await farm.provider.stop()
      provider = new SimulatedCodeProvider({
        redis: (providerRedis = openRedis(endpointOf('provider'), { purpose: 'test-provider' })),
        prefix: farm.prefix,
        delayMs: [10, 60],
      })
      provider.attach(farm.testDc.accounts)
      await provider.start()
    })

    after(async () => {
      await worker?.stop('SIGTERM')
      await provider.stop()
      providerRedis.disconnect()
      await farm.stop()
    })

    it(
      'a `gramfarm worker` process (worker user, CA from GRAMFARM_REDIS_TLS_CA) authorizes every account',
      {
        timeout: 120_000,
      },
      async () => {
        worker = await spawnWorker(
          [
            '--prefix',
            farm.prefix,
            '--testdc',
            farm.endpointFile,
            'worker',
            '--threads',
            '1',
            '--send-code-rate',
            '1000:1000,1000:1000',
          ],
          {
            REDIS_URL: url,
            GRAMFARM_REDIS_USERNAME: 'gf-worker',
            GRAMFARM_REDIS_PASSWORD: passwords.worker,
            GRAMFARM_REDIS_TLS_CA: certs.caFile,
          },
        )
        const list = phones(0, 6)
        const coordinator = new Coordinator({ redis: farm.redis, prefix: farm.prefix })
        try {
          const run = await coordinator.enqueue(users(list))
          const outcome = await coordinator.follow(run, { timeoutMs: 60_000 })
          assert.deepEqual(
            Object.fromEntries(outcome.results.map((r) => [r.account, r.state])),
            Object.fromEntries(list.map((p) => [p, 'authorized'])),
            worker.output(),
          )
        } finally {
          await coordinator.close()
        }
      },
    )

    it('`gramfarm status` as the coordinator and as serve, over TLS', { timeout: 60_000 }, async () => {
      for (const role of ['coordinator', 'serve'] as const) {
        const r = await runCli(['--prefix', farm.prefix, 'status', '--json'], {
          env: {
            REDIS_URL: url,
            GRAMFARM_REDIS_USERNAME: `gf-${role}`,
            GRAMFARM_REDIS_PASSWORD: passwords[role],
            GRAMFARM_REDIS_TLS_CA: certs.caFile,
          },
        })
        assert.equal(r.code, 0, `${role}: ${r.stderr}`)
      }
    })
  })

  it('a CA that did not sign the server is a TLS error (exit 7), not "unreachable"', { timeout: 60_000 }, async () => {
    const r = await runCli(['status'], {
      env: {
        REDIS_URL: url,
        GRAMFARM_REDIS_USERNAME: 'gf-coordinator',
        GRAMFARM_REDIS_PASSWORD: passwords.coordinator,
        GRAMFARM_REDIS_TLS_CA: certs.otherCaFile,
      },
    })
    assert.equal(r.code, 7, r.stderr)
    assert.match(
      r.stderr,
      /TLS handshake with Redis at rediss:\/\/127\.0\.0\.1:\d+ as gf-coordinator failed: .*certificate/,
    )
    assert.doesNotMatch(r.stderr, /unreachable/)
  })

  it(
    'a wrong password of an ACL user is "authentication failed" (exit 7), the password not shown',
    {
      timeout: 60_000,
    },
    async () => {
      const r = await runCli(['status'], {
        env: {
          REDIS_URL: url,
          GRAMFARM_REDIS_USERNAME: 'gf-coordinator',
          GRAMFARM_REDIS_PASSWORD: 'not-the-password',
          GRAMFARM_REDIS_TLS_CA: certs.caFile,
        },
      })
      assert.equal(r.code, 7, r.stderr)
      assert.match(r.stderr, /Redis authentication failed at .* \(wrong password or ACL user\)/)
      assert.doesNotMatch(r.stderr, /not-the-password/)
    },
  )

  it(
    'a user lacking a permission gets "permission denied (NOPERM)" naming the command (exit 7)',
    {
      timeout: 60_000,
    },
    async () => {
      // The worker's user may not list clients: `status` (which counts connected workers) needs CLIENT LIST.
      const r = await runCli(['--prefix', `${PREFIX_FAMILY}noperm}:`, 'status'], {
        env: {
          REDIS_URL: url,
          GRAMFARM_REDIS_USERNAME: 'gf-worker',
          GRAMFARM_REDIS_PASSWORD: passwords.worker,
          GRAMFARM_REDIS_TLS_CA: certs.caFile,
        },
      })
      assert.equal(r.code, 7, r.stderr)
      assert.match(r.stderr, /Redis permission denied \(NOPERM\) for the 'client\|list' command/)
      // And Redis logged it against that user.
      const admin = openRedis(endpointOf('admin'), { purpose: 'test-admin' })
      try {
        const log = JSON.stringify(await admin.call('ACL', 'LOG'))
        assert.match(log, /gf-worker/)
      } finally {
        admin.disconnect()
      }
    },
  )
})
