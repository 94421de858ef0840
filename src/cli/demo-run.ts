// `npm start` / `gramfarm demo`: the whole farm on one machine. A local test DC seeded with the demo's accounts, a
// simulated code provider receiving what the DC "sends" (delivered 50–800 ms later through Redis), simulated
// phones scanning the QR codes, a worker with 2 threads, and the coordinator onboarding config/demo-accounts.json:
// ~200 users (2FA passwords from the file or from the provider, several DCs, invalid/banned/unregistered numbers,
// a lost SMS), 20 bots and 3 QR logins. Everything lives under a Redis prefix of its own, removed at the end.
import { keyringFromSpec } from '../foundation/master-key-source.ts'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describeRedisEndpoint, type RedisClient, type RedisEndpoint } from '../queue/redis-connection.ts'
import { loadAccountsFile } from '../farm/accounts-file.ts'
import { interruptSignal, serverOfEndpoint } from './cli-context.ts'
import { mismatches } from '../demo/demo-expectations.ts'
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.ts'
import type { FarmConfig } from './farm-config.ts'
import { startLocalTestDc, type LocalTestDc } from '../demo/local-test-dc.ts'
import type { Logger } from '../foundation/logger.ts'
import { runOnboarding } from './onboarding.ts'
import { QrScanDevices } from '../demo/qr-scan-device.ts'
import {
  deleteKeysUnder,
  openCliRedis,
  probeRedis,
  REDIS_HINT,
  RedisAuthError,
  RedisTlsError,
  redisServerAvailable,
  startLocalRedisServer,
  type LocalRedisServer,
} from './redis-access.ts'
import { SimulatedCodeProvider } from '../demo/simulated-code-provider.ts'
import { loadTestDcSeed } from '../demo/testdc-seed.ts'
import { startFarmWorker, type FarmWorker } from '../worker/farm-worker.ts'

export const DEMO_ACCOUNTS_FILE = 'config/demo-accounts.json'
export const DEMO_SEED_FILE = 'config/demo-accounts.testdc.json'

export interface DemoOptions {
  readonly config: FarmConfig
  readonly logger: Logger
  readonly accountsFile?: string
  readonly seedFile?: string
  readonly threads?: number
  /** Where sessions and the report go (default out/demo-<time>). */
  readonly outDir?: string
  /** Leave the demo's Redis keys in place (to look at them). */
  readonly keepKeys?: boolean
  /** How long a login waits for a code or password before it gives up (default 8 s). */
  readonly codeTimeoutMs?: number
  readonly stdout?: NodeJS.WritableStream
  readonly stderr?: NodeJS.WritableStream
}

/** Sends as fast as the test DC takes them: the default farm pacing (1 sendCode/s) is for Telegram. */
const DEMO_SEND_CODE_RATE = { globalPerSec: 500, globalBurst: 500, perDcPerSec: 250, perDcBurst: 250 }

async function demoRedis(
  config: FarmConfig,
  say: (line: string) => void,
): Promise<{ endpoint: RedisEndpoint; local?: LocalRedisServer }> {
  try {
    await probeRedis(config.redis, 1500)
    return { endpoint: config.redis }
  } catch (err) {
    // A Redis that refuses our password or certificate is there: starting another one would hide the mistake.
    if (err instanceof RedisAuthError || err instanceof RedisTlsError) throw err
    if (!(err instanceof CliError) || !redisServerAvailable()) {
      throw new CliError(
        `the demo needs Redis: nothing answers at ${describeRedisEndpoint(config.redis)} and redis-server is not installed. ${REDIS_HINT}`,
        ExitCode.redisUnreachable,
      )
    }
    const local = await startLocalRedisServer()
    say(
      `no Redis at ${describeRedisEndpoint(config.redis)}: started a private redis-server on port ${local.port} (memory only, stopped at the end)`,
    )
    return { endpoint: { url: local.url }, local }
  }
}

export async function runDemo(opts: DemoOptions): Promise<ExitCodeValue> {
  const t0 = performance.now()
  const stdout = opts.stdout ?? process.stdout
  const stderr = opts.stderr ?? process.stderr
  const say = (line: string): void => void stderr.write(`${line}\n`)
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
  const prefix = `gramfarm-demo-${stamp}-${randomBytes(3).toString('hex')}:`
  const outDir = opts.outDir ?? join('out', `demo-${stamp}`)
  const specs = await loadAccountsFile(opts.accountsFile ?? DEMO_ACCOUNTS_FILE)
  const seed = await loadTestDcSeed(opts.seedFile ?? DEMO_SEED_FILE)
  const { endpoint: redisEndpoint, local } = await demoRedis(opts.config, say)

  let redis: RedisClient | undefined
  let testDc: LocalTestDc | undefined
  let provider: SimulatedCodeProvider | undefined
  let devices: QrScanDevices | undefined
  let worker: FarmWorker | undefined
  const interrupt = interruptSignal()
  const keyring = keyringFromSpec(opts.config.keyring)
  try {
    testDc = await startLocalTestDc({ seed })
    say(
      `test DC: ${testDc.dc.dcs.map((d) => `DC${d.id}:${d.port}`).join(' ')} (loopback), seeded with ${seed.accounts.users.length} users and ${seed.accounts.bots.length} bots`,
    )
    redis = openCliRedis(redisEndpoint, { name: 'gramfarm-demo' })
    const endpoint = testDc.endpoint
    // The worker's threads warm up while the simulated phones log in (before the provider listens: their own
    // codes are not the farm's business).
    const starting = startFarmWorker({
      redis: redisEndpoint,
      prefix,
      apiId: opts.config.apiId ?? 2040,
      apiHash: opts.config.apiHash ?? '0123456789abcdef0123456789abcdef',
      testDc: { dcs: endpoint.dcs, publicKeyPem: endpoint.publicKeyPem },
      threads: opts.threads ?? 2,
      concurrency: 256,
      codeTimeoutMs: opts.codeTimeoutMs ?? 8_000,
      recheckMs: 2_000,
      sendCodeRate: DEMO_SEND_CODE_RATE,
      logger: opts.logger,
      // A demo run with a master key seals what it stores as a farm does (and says once, without one, that it does not).
      keyring: opts.config.keyring,
      ...(opts.config.sessionTtlSeconds !== undefined ? { sessionTtlSeconds: opts.config.sessionTtlSeconds } : {}),
    })
    starting.then(
      (w) => (worker = w),
      () => undefined,
    )
    devices = await QrScanDevices.start({ redis, prefix, endpoint, owners: seed.qrDevices, logger: opts.logger })
    provider = new SimulatedCodeProvider({
      redis,
      prefix,
      delayMs: [50, 800],
      seed,
      logger: opts.logger,
      sealer: keyring,
    })
    provider.attach(testDc.accounts)
    await provider.start()
    worker = await starting
    say(
      `redis ${describeRedisEndpoint(redisEndpoint)} prefix ${prefix}; worker: ${opts.threads ?? 2} threads; code provider: 50–800 ms; ${seed.qrDevices.length} phones ready to scan QR codes`,
    )
    say(`onboarding ${specs.length} accounts from ${opts.accountsFile ?? DEMO_ACCOUNTS_FILE}`)

    const { outcome } = await runOnboarding(
      redis,
      prefix,
      specs,
      {
        label: 'demo',
        sessionsDir: join(outDir, 'sessions'),
        sessionsJson: join(outDir, 'session-strings.json'),
        report: join(outDir, 'report'),
        serverOf: serverOfEndpoint(testDc.endpoint)!,
        summary: { rows: 'problems', maxRows: 30 },
        timeoutMs: 120_000,
        signal: interrupt.signal,
        stdout,
        stderr,
        sealer: keyring,
      },
      opts.logger,
    )

    const wrong = mismatches(specs, outcome.results, seed)
    const wall = (performance.now() - t0) / 1000
    stdout.write(
      `\ncode provider: ${provider.stats.codesDelivered} codes and ${provider.stats.passwordsDelivered} 2FA passwords delivered, ${provider.stats.codesDropped} SMS lost on purpose; QR codes scanned: ${devices.accepted.size}\n`,
    )
    if (outcome.interrupted) return ExitCode.interrupted
    if (outcome.timedOut) return ExitCode.timedOut
    if (wrong.length === 0)
      stdout.write(
        `every account ended as the test DC's seed implies (${specs.length}/${specs.length}). demo wall time ${wall.toFixed(1)} s\n`,
      )
    else {
      stdout.write(
        `${wrong.length} accounts did NOT end as expected:\n${wrong
          .slice(0, 20)
          .map((m) => `  ${m.account}: expected ${m.expected}, got ${m.got}`)
          .join('\n')}\ndemo wall time ${wall.toFixed(1)} s\n`,
      )
    }
    return wrong.length === 0 ? ExitCode.ok : ExitCode.accountsFailed
  } finally {
    interrupt.dispose()
    await worker?.close().catch(() => undefined)
    await devices?.stop().catch(() => undefined)
    await provider?.stop().catch(() => undefined)
    await testDc?.stop().catch(() => undefined)
    if (redis) {
      if (opts.keepKeys) say(`kept the demo's Redis keys under ${prefix}`)
      else {
        const removed = await deleteKeysUnder(redis, prefix).catch(() => 0)
        say(`removed the demo's ${removed} Redis keys (prefix ${prefix})`)
      }
      redis.disconnect()
    }
    await local?.stop()
  }
}
