// A piscina thread of a farm worker: it runs login steps for many jobs concurrently (each step is async
// network I/O; the CPU-heavy parts — key exchange modexps, SRP's PBKDF2 — are short or on libuv's pool).
// Its Redis connections and caches live as long as the thread.
import { setPriority } from 'node:os'
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads'
import { openRedis } from '../queue/redis-connection.ts'
import { CodeInbox } from '../queue/code-channel.ts'
import { ExceptIdsRegistry } from '../queue/except-ids-registry.ts'
import { SendCodeRateLimiter } from '../queue/send-code-rate-limiter.ts'
import { RedisEpoch } from '../queue/redis-epoch.ts'
import { SecretVault } from '../queue/secret-vault.ts'
import { keyringFromSpec } from '../foundation/master-key-source.ts'
import type { LoginJobData } from '../queue/login-job.ts'
import { parseRsaPublicKey } from '../mtproto/crypto/rsa-keys.ts'
import { LoginStepRunner, type StepOutcome, type StepRunnerConfig } from './login-step-runner.ts'
import type { FarmWorkerConfig } from './worker-config.ts'
import { transientFailureReason, type TransientFailureReason } from './failure-reason.ts'
import type { LoginNetwork } from './login-client-cache.ts'
import { parseIdentityChoice } from '../auth/device-identity.ts'
import { failureCauses, maskedMessage } from './failure-description.ts'
import {
  createSessionRunner,
  runOnThread,
  type SessionTask,
  type SessionThreadOutcome,
  type SessionThreadRunner,
} from './session-jobs/session-thread.ts'
import { setPhoneMaskKey } from '../foundation/logger.ts'

/**
 * What a step hands back across the thread boundary. An error becomes data: a structured clone keeps only the
 * names of built-in errors (an RpcError would arrive as "Error"), and its message leaves with phones masked.
 */
export type ThreadOutcome =
  | (StepOutcome & {
      /** The account connected with the library's default identity (the worker warns once). */ defaultIdentity?: true
    })
  | {
      kind: 'error'
      name: string
      message: string
      /** For the final state, should this have been the last attempt: a DC that could not be reached or went silent. */
      reason?: TransientFailureReason
      /** The error and its causes, outermost first (`Name: message [code]`, phones masked). */
      causes?: string[]
      /** The thread's stack of the error (phones masked): logged when it ends the login. */
      stack?: string
    }

/**
 * What a thread runs: `start` — first steps (key exchange, sendCode), whose client is closed once the step is
 * over (the login's next step runs on a finishing thread, from the key saved in Redis); `finish` — the steps
 * after it.
 */
export type LoginThreadRole = 'start' | 'finish'

/**
 * The nice value of a start thread: with 10, a CFS scheduler gives a busy nice-0 thread about nine tenths of a
 * core it shares with one (weights 1024 : 110), so a code's step is not held behind key exchanges.
 */
const START_THREAD_NICE = 10

export interface LoginTask {
  jobId: string
  data: LoginJobData
  startedAt: number
}

/** Builds a step runner (and its Redis-backed collaborators) from a worker config. */
export function createStepRunner(cfg: FarmWorkerConfig): { runner: LoginStepRunner; close(): Promise<void> } {
  // ioredis reconnects by itself; a failed command fails its step
  // Auto-pipelined: the thread's many logins issue short commands side by side (no blocking or subscribing here:
  // the code inbox subscribes on its own duplicate), and each would otherwise be a socket write of its own.
  const redis = openRedis(cfg.redis, { purpose: 'worker-thread', maxRetriesPerRequest: null, autoPipelining: true })
  const keyring = keyringFromSpec(cfg.keyring)
  const inbox = new CodeInbox({ redis, prefix: cfg.prefix, subscriberName: 'gramfarm-thread', sealer: keyring })
  const rate = cfg.sendCodeRate
  const timeouts = {
    ...(cfg.connectTimeoutMs !== undefined ? { connectTimeoutMs: cfg.connectTimeoutMs } : {}),
    ...(cfg.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: cfg.handshakeTimeoutMs } : {}),
    ...(cfg.requestTimeoutMs !== undefined ? { requestTimeoutMs: cfg.requestTimeoutMs } : {}),
  }
  const network: LoginNetwork = cfg.testDc
    ? { testMode: true, dcs: cfg.testDc.dcs, rsaKeys: [parseRsaPublicKey(cfg.testDc.publicKeyPem)], timeouts }
    : { testMode: false, timeouts }
  const runnerConfig: StepRunnerConfig = {
    redis,
    inbox,
    registry: new ExceptIdsRegistry({ redis, prefix: cfg.prefix }),
    limiter: new SendCodeRateLimiter({
      redis,
      prefix: cfg.prefix,
      ...(rate
        ? {
            global: { ratePerSec: rate.globalPerSec, burst: rate.globalBurst },
            perDc: { ratePerSec: rate.perDcPerSec, burst: rate.perDcBurst },
          }
        : {}),
    }),
    vault: new SecretVault(redis, cfg.prefix, keyring),
    epoch: new RedisEpoch(redis),
    sealer: keyring,
    network,
    apiId: cfg.apiId,
    apiHash: cfg.apiHash,
    prefix: cfg.prefix,
    ...(cfg.codeTimeoutMs !== undefined ? { codeTimeoutMs: cfg.codeTimeoutMs } : {}),
    ...(cfg.recheckMs !== undefined ? { recheckMs: cfg.recheckMs } : {}),
    ...(cfg.waitSliceMs !== undefined ? { waitSliceMs: cfg.waitSliceMs } : {}),
    ...(cfg.maxFloodWaitSeconds !== undefined ? { maxFloodWaitSeconds: cfg.maxFloodWaitSeconds } : {}),
    ...(cfg.maxCachedClients !== undefined ? { maxCachedClients: cfg.maxCachedClients } : {}),
    ...(cfg.clientIdleMs !== undefined ? { clientIdleMs: cfg.clientIdleMs } : {}),
    ...(cfg.sessionTtlSeconds !== undefined ? { sessionTtlSeconds: cfg.sessionTtlSeconds } : {}),
    ...(cfg.identity !== undefined ? { identity: parseIdentityChoice(cfg.identity) } : {}),
  }
  const runner = new LoginStepRunner(runnerConfig)
  return {
    runner,
    close: async () => {
      await runner.close()
      await inbox.close()
      redis.disconnect()
    },
  }
}

let shared: ReturnType<typeof createStepRunner> | undefined
/** The session jobs' runner (`sessions check|harden`), made on the first such job. */
let sessionShared: SessionThreadRunner | undefined

// Loaded by piscina when the thread starts: build the runner now and say so, so the worker is ready (modules
// compiled, Redis connected) before it takes its first job rather than during it.
const startup = workerData as FarmWorkerConfig & {
  readyChannel?: string
  closeChannel?: string
  maskKey?: string
  role?: LoginThreadRole
}
// Phones in this thread's errors and logs are masked as the worker masks them (the farm's key).
if (startup?.maskKey) setPhoneMaskKey(startup.maskKey)
// A start thread is all key-exchange arithmetic: it yields the CPU to the steps that finish logins (and to the
// worker's own thread, Redis and the DC) when they want it, and takes whatever is left. On Linux the nice value
// of pid 0 is the calling thread's own, not the process's.
if (startup?.role === 'start') {
  try {
    setPriority(START_THREAD_NICE)
  } catch {
    // Not allowed here (some containers): the thread runs at the process's priority.
  }
}
if (startup?.readyChannel) {
  shared = createStepRunner(startup)
  const channel = new BroadcastChannel(startup.readyChannel)
  channel.postMessage({ threadId })
  channel.close()
}
// Before the pool is destroyed, the worker asks every thread to close its runner: cached clients flush their
// keys and close their sockets, rather than being cut when the thread is terminated.
if (startup?.closeChannel) {
  const closing = new BroadcastChannel(startup.closeChannel)
  closing.unref()
  closing.onmessage = (m) => {
    if ((m as { data?: { close?: unknown } }).data?.close !== true) return // another thread's answer
    const runner = shared
    const sessions = sessionShared
    shared = undefined
    sessionShared = undefined
    void Promise.all([runner?.close(), sessions?.close()])
      .catch(() => undefined)
      .finally(() => {
        closing.postMessage({ threadId, closed: true })
        closing.close()
      })
  }
}

function sharedRunner(): ReturnType<typeof createStepRunner> {
  return (shared ??= createStepRunner(workerData as FarmWorkerConfig))
}

/** piscina's entry point: one step of one job. */
export default async function runLoginStep(task: LoginTask): Promise<ThreadOutcome> {
  try {
    const { runner } = sharedRunner()
    const outcome = await runner.run(task.jobId, task.data, task.startedAt)
    // A phone login goes on on a finishing thread: a client kept here would only hold a socket nobody uses. A QR
    // login's stays: its connection hears the scan (updateLoginToken) and wakes the job.
    // Not awaited: the outcome goes back now (a code may be waiting on it) and the socket closes meanwhile.
    if (startup?.role === 'start' && outcome.kind === 'wait' && task.data.kind === 'user')
      void runner.releaseClient(task.jobId).catch(() => undefined)
    return runner.takeDefaultIdentity(task.data.accountKey) ? { ...outcome, defaultIdentity: true } : outcome
  } catch (err) {
    const e = err as { name?: unknown; message?: unknown; stack?: unknown } | null
    const reason = transientFailureReason(err)
    return {
      kind: 'error',
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: maskedMessage(typeof e?.message === 'string' ? e.message : String(err)),
      ...(reason ? { reason } : {}),
      causes: failureCauses(err),
      ...(typeof e?.stack === 'string' ? { stack: maskedMessage(e.stack) } : {}),
    }
  }
}

/** `pool.run(task, { name: 'cleanupLogin' })`: the bookkeeping of a job that ended without the runner. */
export async function cleanupLogin(task: LoginTask): Promise<void> {
  await sharedRunner().runner.cleanup(task.jobId, task.data)
}

/** `pool.run(task, { name: 'runSessionJob' })`: one session job (check or harden). */
export async function runSessionJob(task: SessionTask): Promise<SessionThreadOutcome> {
  sessionShared ??= createSessionRunner(workerData as FarmWorkerConfig)
  return runOnThread(sessionShared.runner, task)
}
