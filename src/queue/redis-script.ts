// A Lua script the farm runs often: sent by its SHA1 (EVALSHA), not as its whole text on every call (EVAL), so a
// call costs the bytes of its keys and arguments only. A server that does not have it cached (a restart, a
// failover to a replica that never saw it, SCRIPT FLUSH, another Cluster node) answers NOSCRIPT: then the call
// goes once more as EVAL, which caches it there. Keys of one script stay in one hash slot, as with EVAL.
import { createHash } from 'node:crypto'
import type { RedisClient } from './redis-connection.ts'

export type RedisScriptArg = string | number | Buffer

/** NOSCRIPT: the server has no script with that SHA1 (ioredis' ReplyError keeps Redis' message). */
function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}

export class RedisScript {
  /** The script's SHA1, as SCRIPT LOAD and EVALSHA name it. */
  readonly sha: string

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex')
  }

  /** Runs the script with these keys (one hash slot on a Cluster) and arguments; the script's reply as is. */
  async run(
    redis: RedisClient,
    keys: readonly RedisScriptArg[],
    args: readonly RedisScriptArg[] = [],
  ): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!isNoScript(err)) throw err
      return redis.eval(this.lua, keys.length, ...keys, ...args)
    }
  }
}
