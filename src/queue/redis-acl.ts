// The least-privilege Redis ACL of a farm, per role (docs/redis-acl.md explains it; test/redis-tls-acl.test.ts runs an
// onboarding with each process on its own user). Every key and channel of a farm is under its prefix (redis-keys.ts),
// BullMQ's included, so a user is confined to `~<prefix>*` / `&<prefix>*`. Scripts (BullMQ's, ours) run with the
// caller's permissions in Redis 7, so the data commands they call are granted too; admin commands are not.
import { QueueError } from './queue-error.ts'

export type FarmRole = 'coordinator' | 'worker' | 'serve' | 'provider'

/** What every role runs: data commands on the farm's keys, scripts, transactions, pub/sub, its own connection. */
const BASE = [
  '-@all',
  '+@connection', // AUTH, HELLO, PING, SELECT, CLIENT SETNAME/GETNAME/ID/INFO (ioredis' connectionName, BullMQ)
  '+@read',
  '+@write',
  '+@keyspace', // EXISTS, DEL, UNLINK, EXPIRE, TYPE, SCAN …
  '+@scripting', // EVALSHA/EVAL/SCRIPT LOAD: BullMQ's and our Lua scripts
  '+@transaction', // MULTI/EXEC (pipelines with atomic steps)
  '+@pubsub', // SUBSCRIBE/PUBLISH on the farm's channels (codes delivered, password requests, QR scans)
  '+@blocking', // BZPOPMIN/XREAD BLOCK (BullMQ's workers and QueueEvents, the provider's request stream)
  '-@dangerous', // KEYS, FLUSHALL, CONFIG, DEBUG, MONITOR, CLIENT KILL …
  '+info', // BullMQ reads the server version and maxmemory-policy at start
  '+time', // our Lua scripts take the server's clock (token buckets, deadlines)
]

/** CLIENT LIST: BullMQ counts connected workers by their connection names (`status`, `/readyz`, metrics). */
const LISTS_WORKERS = ['+client|list']

/** The ACL rules of a role (everything after `ACL SETUSER <name> on >password`), for the farm under `prefix`. */
export function farmAclRules(role: FarmRole, prefix: string): string[] {
  const scope = ['resetkeys', `~${prefix}*`, 'resetchannels', `&${prefix}*`]
  switch (role) {
    case 'worker':
    case 'provider':
      return [...scope, ...BASE]
    case 'coordinator':
    case 'serve':
      return [...scope, ...BASE, ...LISTS_WORKERS]
  }
}

/** The `ACL SETUSER` arguments creating `user` with `password` for a role (a users-file line is the same words). */
export function aclSetUserArgs(role: FarmRole, user: string, password: string, prefix: string): string[] {
  return [user, 'reset', 'on', `>${password}`, ...farmAclRules(role, prefix)]
}

/**
 * Redis refused a command to this ACL user (NOPERM): what is missing, said plainly. The reply names the command
 * (or the key / channel) the user may not touch.
 */
export class RedisPermissionError extends QueueError {
  override readonly name = 'RedisPermissionError'
  constructor(
    readonly reply: string,
    readonly what: string,
  ) {
    super(
      `Redis permission denied (NOPERM) for ${what}: the ACL user lacks it (see docs/redis-acl.md for what each farm role needs)`,
    )
  }
}

/** A NOPERM reply as a RedisPermissionError (undefined for any other error). */
export function redisPermissionError(err: unknown): RedisPermissionError | undefined {
  const message = typeof (err as Error | undefined)?.message === 'string' ? (err as Error).message : ''
  if (!/^NOPERM\b/.test(message)) return undefined
  const command = /run the '([^']+)' command/.exec(message)?.[1]
  const key = /access one of the keys|access to one of the keys/i.test(message)
  const channel = /channel/i.test(message)
  const what =
    command !== undefined
      ? `the '${command}' command`
      : key
        ? 'a key outside its key patterns'
        : channel
          ? 'a channel outside its channel patterns'
          : message.replace(/^NOPERM\s*/, '')
  return new RedisPermissionError(message, what)
}
