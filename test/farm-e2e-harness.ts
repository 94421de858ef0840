// Shared by the farm end-to-end tests: a unique Redis prefix per test file (every key under it removed at the
// end), a local test DC with a seed, a simulated code provider, workers in this process or as `gramfarm worker`
// child processes, and small helpers to wait on things.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after } from 'node:test'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { LOGIN_QUEUE } from '../src/queue/login-job.ts'
import { writeTestDcEndpoint } from '../src/testdc/testdc-endpoint.ts'
import { startLocalTestDc, type LocalTestDc, type LocalTestDcOptions } from '../src/demo/local-test-dc.ts'
import { SimulatedCodeProvider, type SimulatedProviderOptions } from '../src/demo/simulated-code-provider.ts'
import { parseTestDcSeed, type TestDcSeed } from '../src/demo/testdc-seed.ts'
import { deleteKeysUnder } from '../src/cli/redis-access.ts'
import { startFarmWorker, type FarmWorker, type FarmWorkerOptions } from '../src/worker/farm-worker.ts'
import { openRedis, type RedisClient, type RedisEndpoint } from '../src/queue/redis-connection.ts'

export const REDIS_URL = 'redis://127.0.0.1:6379'
export const API = { apiId: 2040, apiHash: '0123456789abcdef0123456789abcdef' }
/** The test DC takes whatever we send: no pacing in tests. */
export const FAST_RATE = { globalPerSec: 1000, globalBurst: 1000, perDcPerSec: 1000, perDcBurst: 1000 }

/** A fresh farm prefix, hash-tagged as every farm prefix is (`{gramfarm-test:…}:`, one Cluster slot). */
export function uniquePrefix(tag: string): string {
  return `{gramfarm-test:${tag}:${process.pid}-${randomBytes(4).toString('hex')}}:`
}

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * A test file's own Redis prefix, connection and temporary directory; after the file's tests, the login queue
 * under the prefix, every key under it and the directory are removed, and the connection closed.
 */
export function scratchScope(tag: string): { prefix: string; redis: Redis; dir: string } {
  const scope = {
    prefix: uniquePrefix(tag),
    redis: redisClient(),
    dir: mkdtempSync(join(tmpdir(), `gramfarm-${tag}-`)),
  }
  after(async () => {
    await new Queue(LOGIN_QUEUE, { connection: scope.redis, prefix: `${scope.prefix}bull` })
      .obliterate({ force: true })
      .catch(() => undefined)
    await deleteKeysUnder(scope.redis, scope.prefix)
    scope.redis.disconnect()
    rmSync(scope.dir, { recursive: true, force: true })
  })
  return scope
}

/** Polls `check` until it is truthy (or throws after `timeoutMs`). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v as T
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** A stream that swallows output (or keeps it, to look at). */
export function sink(): Writable & { text(): string } {
  const chunks: string[] = []
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString())
      done()
    },
  }) as Writable & { text(): string }
  w.text = () => chunks.join('')
  return w
}

export interface Farm {
  readonly prefix: string
  /** Where the farm's Redis is (the machine's, or a cluster a test started). */
  readonly endpoint: RedisEndpoint
  readonly redis: RedisClient
  readonly testDc: LocalTestDc
  readonly provider: SimulatedCodeProvider
  /** The endpoint file for `gramfarm … --testdc`. */
  readonly endpointFile: string
  readonly dir: string
  /** Another connection to the farm's Redis (a second coordinator's), closed by the caller. */
  connect(): RedisClient
  startWorker(extra?: Partial<FarmWorkerOptions>): Promise<FarmWorker>
  spawnWorker(args?: string[]): Promise<WorkerProcess>
  stop(): Promise<void>
}

export interface FarmOptions {
  readonly tag: string
  readonly seed?: unknown
  readonly testDc?: Omit<LocalTestDcOptions, 'seed'>
  readonly provider?: Partial<Omit<SimulatedProviderOptions, 'redis' | 'prefix' | 'seed'>>
  /** The farm's Redis; default the machine's ({ url: REDIS_URL }). */
  readonly redis?: RedisEndpoint
}

/** The `gramfarm` flags and environment that point a child process at `endpoint` (a URL or cluster nodes). */
function cliRedisOf(endpoint: RedisEndpoint): { args: string[]; env: NodeJS.ProcessEnv } {
  if (endpoint.cluster) {
    // '' is unset for gramfarm: a REDIS_URL of the surroundings must not compete with the cluster.
    return { args: [], env: { GRAMFARM_REDIS_CLUSTER: endpoint.cluster.nodes.join(','), REDIS_URL: '' } }
  }
  if (endpoint.url === undefined) throw new Error('the farm harness spawns workers for a URL or cluster nodes only')
  return { args: ['--redis-url', endpoint.url], env: {} }
}

export interface WorkerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly output: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Test DC + provider + Redis under a fresh prefix; workers on demand. stop() closes and cleans everything. */
export async function startFarm(opts: FarmOptions): Promise<Farm> {
  const prefix = uniquePrefix(opts.tag)
  const endpoint = opts.redis ?? { url: REDIS_URL }
  const connect = (): RedisClient => openRedis(endpoint, { purpose: 'test' })
  const redis = connect()
  const seed: TestDcSeed = parseTestDcSeed(opts.seed ?? {})
  const testDc = await startLocalTestDc({ seed, ...opts.testDc })
  const provider = new SimulatedCodeProvider({ redis, prefix, seed, delayMs: [10, 60], ...opts.provider })
  provider.attach(testDc.accounts)
  await provider.start()
  const dir = mkdtempSync(join(tmpdir(), 'gramfarm-e2e-'))
  const endpointFile = join(dir, 'testdc.json')
  writeTestDcEndpoint(endpointFile, testDc.dc)
  const workers: FarmWorker[] = []
  const processes: WorkerProcess[] = []
  return {
    prefix,
    endpoint,
    redis,
    testDc,
    provider,
    endpointFile,
    dir,
    connect,
    startWorker: async (extra = {}) => {
      const w = await startFarmWorker({
        redis: endpoint,
        prefix,
        ...API,
        testDc: { dcs: testDc.endpoint.dcs, publicKeyPem: testDc.endpoint.publicKeyPem },
        threads: 1,
        concurrency: 64,
        codeTimeoutMs: 20_000,
        recheckMs: 1_000,
        sendCodeRate: FAST_RATE,
        ...extra,
      })
      workers.push(w)
      return w
    },
    spawnWorker: async (args = []) => {
      const cli = cliRedisOf(endpoint)
      const p = await spawnWorker(
        [
          '--prefix',
          prefix,
          ...cli.args,
          '--testdc',
          endpointFile,
          '--log-level',
          'info',
          'worker',
          '--threads',
          '1',
          '--send-code-rate',
          '1000:1000,1000:1000',
          ...args,
        ],
        cli.env,
      )
      processes.push(p)
      return p
    },
    stop: async () => {
      for (const p of processes) await p.stop('SIGKILL')
      for (const w of workers) await w.close().catch(() => undefined)
      await provider.stop()
      await testDc.stop()
      await deleteKeysUnder(redis, prefix)
      redis.disconnect()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The `gramfarm` entry (run as `node --import tsx CLI …`). */
export const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')

/** `gramfarm <args>` as a child process; resolves once its log says "worker ready". */
export async function spawnWorker(args: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, ...env },
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  await Promise.race([
    waitFor('worker ready', () => out.includes('worker ready'), 60_000),
    exited.then((code) => {
      throw new Error(`worker exited with ${code}: ${out}`)
    }),
  ])
  return {
    child,
    pid: child.pid!,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      return exited
    },
  }
}

/** Runs `gramfarm <args>` to completion. */
export function runCli(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, ...opts.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gramfarm ${args.join(' ')} did not finish: ${stderr}`))
    }, opts.timeoutMs ?? 60_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(opts.input ?? '')
  })
}

/**
 * A TCP proxy in front of Redis, so a test can take Redis away from *its own* clients only (other tests sharing
 * the server are not disturbed, unlike DEBUG SLEEP or CLIENT PAUSE, which freeze everyone):
 * `freeze(ms)` stops forwarding (every command hangs, connections stay up); `outage(ms)` drops every connection
 * and refuses new ones (what a stopped Redis looks like), then lets clients reconnect.
 */
export interface RedisProxy {
  readonly url: string
  freeze(ms: number): Promise<void>
  outage(ms: number): Promise<void>
  close(): Promise<void>
}

export async function startRedisProxy(target = { host: '127.0.0.1', port: 6379 }): Promise<RedisProxy> {
  const { createServer, connect } = await import('node:net')
  const pairs = new Set<{ client: import('node:net').Socket; upstream: import('node:net').Socket }>()
  let refusing = false
  const server = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    const pair = { client, upstream }
    pairs.add(pair)
    client.pipe(upstream)
    upstream.pipe(client)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: async (ms) => {
      for (const p of pairs) {
        p.client.pause()
        p.upstream.pause()
      }
      await sleep(ms)
      for (const p of pairs) {
        p.client.resume()
        p.upstream.resume()
      }
    },
    outage: async (ms) => {
      refusing = true
      for (const p of [...pairs]) {
        p.client.destroy()
        p.upstream.destroy()
      }
      await sleep(ms)
      refusing = false
    },
    close: async () => {
      refusing = true
      for (const p of pairs) {
        p.client.destroy()
        p.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A SOCKS5 proxy (RFC 1928/1929) on loopback that wants one username and password; it counts its tunnels. */
export interface SocksProxy {
  readonly port: number
  readonly tunnels: () => number
  close(): Promise<void>
}

export async function startSocksProxy(auth: { username: string; password: string }): Promise<SocksProxy> {
  const { createServer, connect } = await import('node:net')
  const sockets = new Set<import('node:net').Socket>()
  let tunnels = 0
  const server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client)).on('error', () => client.destroy())
    let buf = Buffer.alloc(0)
    let phase: 'greeting' | 'auth' | 'connect' = 'greeting'
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk])
      if (phase === 'greeting') {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return
        const methods = buf.subarray(2, 2 + buf[1]!)
        buf = buf.subarray(2 + buf[1]!)
        if (!methods.includes(2)) return void client.end(Buffer.from([5, 0xff]))
        client.write(Buffer.from([5, 2]))
        phase = 'auth'
      }
      if (phase === 'auth') {
        const ul = buf[1]
        if (ul === undefined || buf.length < 3 + ul || buf.length < 3 + ul + buf[2 + ul]!) return
        const username = buf.subarray(2, 2 + ul).toString()
        const password = buf.subarray(3 + ul, 3 + ul + buf[2 + ul]!).toString()
        buf = buf.subarray(3 + ul + buf[2 + ul]!)
        const good = username === auth.username && password === auth.password
        if (!good) return void client.end(Buffer.from([1, 1]))
        client.write(Buffer.from([1, 0]))
        phase = 'connect'
      }
      if (phase === 'connect') {
        if (buf.length < 5) return
        const atyp = buf[3]
        const need = atyp === 1 ? 10 : atyp === 3 ? 7 + buf[4]! : 22
        if (buf.length < need) return
        const host =
          atyp === 1 ? [...buf.subarray(4, 8)].join('.') : atyp === 3 ? buf.subarray(5, 5 + buf[4]!).toString() : '::1'
        const port = buf.readUInt16BE(need - 2)
        const rest = buf.subarray(need)
        client.off('data', onData)
        const upstream = connect(port, host, () => {
          tunnels++
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]))
          if (rest.length > 0) upstream.write(rest)
          client.pipe(upstream)
          upstream.pipe(client)
        })
        sockets.add(upstream)
        upstream
          .on('close', () => {
            sockets.delete(upstream)
            client.destroy()
          })
          .on('error', () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])))
        client.on('close', () => upstream.destroy())
      }
    }
    client.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    tunnels: () => tunnels,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
