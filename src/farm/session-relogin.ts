// `sessions check --relogin`: a user session that went bad (its key logs nobody in any more, or it was
// duplicated) is logged in again through the normal login jobs and the code provider, keeping its identity — the
// device, system, app version, languages and api_id saved with the session, its api_hash and proxy from its secret
// store — so Telegram sees the same client come back. The dead key is removed first (a revoked key refuses even
// auth.sendCode), and the registry forgets the account's authorization so the login may claim it again; the
// session's secrets (proxy, api_hash, 2FA password) stay and the 2FA password is handed to the login.
import type { RedisClient } from '../queue/redis-connection.ts'
import type { Logger } from 'pino'
import { Keyring, type Sealer } from '../foundation/sealed-value.ts'
import { RedisSessionStorage, type SessionRecord } from '../auth/storage/index.ts'
import { parseProxyUrl } from '../mtproto/transport/proxy-url.ts'
import { ExceptIdsRegistry } from '../queue/except-ids-registry.ts'
import { FarmRedisKeys, sessionKeyPrefix } from '../queue/redis-keys.ts'
import { RELOGIN_STATES, type SessionJobResult } from '../queue/session-job.ts'
import { SessionSecretStore } from '../queue/session-secrets.ts'
import type { UserAccountSpec } from './accounts-file.ts'
import { Coordinator, type AccountResult, type FollowOptions } from './coordinator.ts'

export interface ReloginOutcome {
  /** The login result of each session logged in again, by account. */
  readonly results: ReadonlyMap<string, AccountResult>
  /** Bad sessions that cannot be logged in again this way (bots, QR slots: no phone to send a code to). */
  readonly skipped: readonly string[]
  readonly runId?: string
}

/** The sessions of a check that `--relogin` logs in again: users in a state that says their key is dead. */
export function reloginCandidates(rows: readonly SessionJobResult[]): SessionJobResult[] {
  return rows.filter((r) => RELOGIN_STATES.has(r.state))
}

/** The login spec that brings the account back with the identity it had. */
export function reloginSpec(
  phone: string,
  record: SessionRecord | null,
  secrets: { proxy?: string; apiHash?: string; password?: string },
): UserAccountSpec {
  const d = record?.device
  const proxy = secrets.proxy !== undefined ? parseProxyUrl(secrets.proxy) : undefined
  return {
    kind: 'user',
    phone,
    source: { file: 'relogin', line: 0 },
    ...(proxy?.ok ? { proxy: proxy.value } : {}),
    ...(secrets.password !== undefined ? { password: secrets.password } : {}),
    identity: {
      ...(record?.apiId != null ? { apiId: record.apiId } : {}),
      ...(secrets.apiHash !== undefined ? { apiHash: secrets.apiHash } : {}),
      ...(d
        ? {
            deviceModel: d.deviceModel,
            systemVersion: d.systemVersion,
            appVersion: d.appVersion,
            langCode: d.langCode,
            systemLangCode: d.systemLangCode,
          }
        : {}),
    },
  }
}

export async function reloginSessions(
  redis: RedisClient,
  prefix: string,
  bad: readonly SessionJobResult[],
  opts: { sealer?: Sealer; logger?: Logger; follow?: FollowOptions; runId?: string } = {},
): Promise<ReloginOutcome> {
  const sealer = opts.sealer ?? Keyring.clear()
  const secretsStore = new SessionSecretStore(redis, prefix, sealer)
  const registry = new ExceptIdsRegistry({ redis, prefix })
  const skipped: string[] = []
  const specs: UserAccountSpec[] = []
  for (const row of bad) {
    if (row.kind !== 'user') {
      skipped.push(row.account)
      continue
    }
    const storage = new RedisSessionStorage({
      redis,
      name: row.session,
      keyPrefix: sessionKeyPrefix(prefix),
      sealer,
    })
    await storage.open()
    let record: SessionRecord | null
    try {
      record = await storage.load()
    } finally {
      await storage.close()
    }
    const secrets = await secretsStore.get(row.session)
    specs.push(reloginSpec(row.account, record, secrets))
    // The dead key goes; the registry forgets the authorization it held, so the login may claim the account.
    if (record?.userId != null) await registry.forgetAuthorized(record.userId)
    const owned = await registry.authorizedAs(row.account)
    if (owned !== null) await registry.forgetAuthorized(owned)
    await storage.delete()
    // The account's first login left its code request behind (it lives minutes past the login): a new code that
    // came before the new request is written would be filed under that old attempt and never reach the login.
    await redis.del(new FarmRedisKeys(prefix).codeChannel.request(row.account))
  }
  if (specs.length === 0) return { results: new Map(), skipped }
  const coordinator = new Coordinator({
    redis,
    prefix,
    sealer,
    ...(opts.logger ? { logger: opts.logger } : {}),
  })
  try {
    const run = await coordinator.enqueue(specs, {
      ...(opts.runId !== undefined ? { runId: opts.runId } : {}),
      label: 'sessions check --relogin',
    })
    const outcome = await coordinator.follow(run, opts.follow ?? {})
    return { results: new Map(outcome.results.map((r) => [r.account, r])), skipped, runId: run.runId }
  } finally {
    await coordinator.close()
  }
}
