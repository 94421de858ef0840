// Scratch redis-server processes for tests that need a Redis other than the machine's own on 6379: one with an AOF,
// a replica, a Sentinel, a cluster node, a TLS or ACL server. Debian's redis-server (and redis-sentinel) on free
// loopback ports, each in its own temporary directory, killed and removed when the test file ends.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { Redis, type RedisOptions } from 'ioredis'

/** A loopback port nobody listens on now (redis-server cannot be given port 0). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
  })
}

export interface RedisServerOptions {
  /** redis-server (default) or redis-sentinel. */
  readonly binary?: 'redis-server' | 'redis-sentinel'
  /** Extra arguments after the port, dir and bind (e.g. ['--appendonly', 'yes']). */
  readonly args?: readonly string[]
  /** A config file's text, written into the server's directory and passed first (Sentinel needs one). */
  readonly configText?: string
  /** How to reach it for the readiness probe (a password, TLS…); default: plain TCP. */
  readonly probe?: Partial<RedisOptions>
  /** Default 127.0.0.1. */
  readonly host?: string
  /** A port chosen beforehand (a cluster or Sentinel config that names it); default: a free one. */
  readonly port?: number
  /**
   * false: not stopped by node:test's `after` (a benchmark, outside any test, stops it and removes `dir` itself;
   * calling `after` there would make node print a test report). Default true.
   */
  readonly stopAfterTest?: boolean
}

export interface RedisServer {
  readonly host: string
  readonly port: number
  readonly url: string
  /** Its working directory (AOF, cluster config, certificates go here). */
  readonly dir: string
  readonly process: ChildProcess
  /** The last 8 KiB of what it printed, for a failing test's message. */
  output(): string
  /** Stops it (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port and directory (after stop), and waits until it answers. */
  restart(): Promise<void>
}

/**
 * Starts a redis-server (or redis-sentinel) on a free port in a fresh directory and waits until it answers PING.
 * It is killed and its directory removed when the test that started it ends — and node:test ends a `before` hook
 * like a test, so a server started inside one is gone when the hook returns: start it at the top level of the file or
 * inside the test, or pass `stopAfterTest: false` and stop() it yourself.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? (await freeLoopbackPort())
  const dir = mkdtempSync(join(tmpdir(), 'gramfarm-redis-'))
  const binary = opts.binary ?? 'redis-server'
  let log = ''
  let child!: ChildProcess

  const launch = async (): Promise<void> => {
    const args: string[] = []
    if (opts.configText !== undefined) {
      const file = join(dir, `${binary}.conf`)
      // Sentinel rewrites its config file (the monitored primary, its peers): write it once, keep it on restart.
      if (!child) writeFileSync(file, opts.configText)
      args.push(file)
    }
    args.push('--port', String(port), '--bind', host, '--dir', dir, ...(opts.args ?? []))
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (b: Buffer): void => {
      log = (log + b.toString()).slice(-8192)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    await waitUntilAnswers()
  }

  const waitUntilAnswers = async (): Promise<void> => {
    const deadline = Date.now() + 15_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${binary} on port ${port} exited (${child.exitCode}): ${log}`)
      const probe = new Redis({ host, port, lazyConnect: true, retryStrategy: () => null, ...opts.probe })
      probe.on('error', () => undefined)
      try {
        await probe.connect()
        if ((await probe.ping()) === 'PONG') return
      } catch {
        // not up yet
      } finally {
        probe.disconnect()
      }
      if (Date.now() > deadline) throw new Error(`${binary} on port ${port} did not answer in 15 s: ${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  const stopOnly = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill(signal)
    await exited
  }

  await launch()
  const server: RedisServer = {
    host,
    port,
    url: `redis://${host}:${port}`,
    dir,
    get process() {
      return child
    },
    output: () => log,
    stop: async (signal = 'SIGTERM') => {
      await stopOnly(signal)
    },
    restart: async () => {
      await stopOnly('SIGTERM')
      await launch()
    },
  }
  if (opts.stopAfterTest !== false) {
    after(async () => {
      await stopOnly('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    })
  }
  return server
}
