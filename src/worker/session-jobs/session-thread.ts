// The session jobs' side of a worker thread: a SessionJobRunner built from the worker config, made on the first
// session job (a worker that only logs accounts in never builds it), and what a run hands back across the thread
// boundary (an error as data: a structured clone would keep only built-in errors' names).
import { openRedis } from '../../queue/redis-connection.ts'
import { keyringFromSpec } from '../../foundation/master-key-source.ts'
import { parseRsaPublicKey } from '../../mtproto/crypto/rsa-keys.ts'
import { SecretVault } from '../../queue/secret-vault.ts'
import { SessionSecretStore } from '../../queue/session-secrets.ts'
import type { SessionJobData } from '../../queue/session-job.ts'
import { failureCauses, maskedMessage } from '../failure-description.ts'
import { transientFailureReason, type TransientFailureReason } from '../failure-reason.ts'
import type { LoginNetwork } from '../login-client-cache.ts'
import type { FarmWorkerConfig } from '../worker-config.ts'
import { SessionJobRunner, type SessionJobOutcome } from './session-job-runner.ts'

export interface SessionTask {
  jobId: string
  data: SessionJobData
  startedAt: number
}

export type SessionThreadOutcome =
  | SessionJobOutcome
  | { kind: 'error'; name: string; message: string; reason?: TransientFailureReason; causes?: string[] }

export interface SessionThreadRunner {
  readonly runner: SessionJobRunner
  close(): Promise<void>
}

export function createSessionRunner(cfg: FarmWorkerConfig): SessionThreadRunner {
  // ioredis reconnects by itself; a failed command fails its job (retried)
  const redis = openRedis(cfg.redis, { purpose: 'worker-session-thread', maxRetriesPerRequest: null })
  const keyring = keyringFromSpec(cfg.keyring)
  const timeouts = {
    ...(cfg.connectTimeoutMs !== undefined ? { connectTimeoutMs: cfg.connectTimeoutMs } : {}),
    ...(cfg.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: cfg.handshakeTimeoutMs } : {}),
    ...(cfg.requestTimeoutMs !== undefined ? { requestTimeoutMs: cfg.requestTimeoutMs } : {}),
  }
  const network: LoginNetwork = cfg.testDc
    ? { testMode: true, dcs: cfg.testDc.dcs, rsaKeys: [parseRsaPublicKey(cfg.testDc.publicKeyPem)], timeouts }
    : { testMode: false, timeouts }
  const runner = new SessionJobRunner({
    redis,
    prefix: cfg.prefix,
    sealer: keyring,
    network,
    apiId: cfg.apiId,
    secrets: new SessionSecretStore(redis, cfg.prefix, keyring),
    vault: new SecretVault(redis, cfg.prefix, keyring),
  })
  return { runner, close: async () => redis.disconnect() }
}

/** One session job on a thread's runner; an error comes back as data, phones masked. */
export async function runOnThread(runner: SessionJobRunner, task: SessionTask): Promise<SessionThreadOutcome> {
  try {
    return await runner.run(task.jobId, task.data, task.startedAt)
  } catch (err) {
    const e = err as { name?: unknown; message?: unknown } | null
    const reason = transientFailureReason(err)
    return {
      kind: 'error',
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: maskedMessage(typeof e?.message === 'string' ? e.message : String(err)),
      ...(reason ? { reason } : {}),
      causes: failureCauses(err),
    }
  }
}
