// Whether Redis still answers while a run is enqueued and followed. The coordinator's connection waits out
// outages (its commands queue up until ioredis reconnects), which keeps a short outage harmless but makes a dead
// Redis look like a run that simply makes no progress. A PING at a time tells the two apart: no answer for a few
// seconds is said once (and so is the answer when it comes back); no answer for the limit ends the wait.
import type { RedisClient } from '../queue/redis-connection.ts'
import { CliError, ExitCode } from './exit-codes.ts'

export interface RedisWatchOptions {
  /** Silence after which onDown is called (default 5 s). */
  readonly warnAfterMs?: number
  /** Silence after which `lost` rejects. */
  readonly giveUpAfterMs: number
  /** How often Redis is asked (default 1 s; one PING in flight at most). */
  readonly pingEveryMs?: number
  readonly onDown?: (silentMs: number) => void
  readonly onBack?: (silentMs: number) => void
  /** The message of the CliError `lost` rejects with. */
  readonly lostMessage?: (silentMs: number) => string
}

export class RedisWatch {
  /** Rejects with a CliError (exit 3) once Redis has not answered for giveUpAfterMs; never resolves. */
  readonly lost: Promise<never>
  private lastAnswer = Date.now()
  private pinging = false
  private warned = false
  private gaveUp = false
  private readonly timer: NodeJS.Timeout
  private reject: ((err: CliError) => void) | undefined

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: RedisWatchOptions,
  ) {
    this.lost = new Promise<never>((_, reject) => (this.reject = reject))
    this.lost.catch(() => undefined) // whoever races it sees the rejection; nobody racing it is fine too
    this.timer = setInterval(() => this.tick(), opts.pingEveryMs ?? 1000)
    this.timer.unref()
  }

  /** Whether the watch gave up on Redis (work still running should not carry on as if it had not). */
  get hasGivenUp(): boolean {
    return this.gaveUp
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private tick(): void {
    if (this.gaveUp) return
    if (!this.pinging) {
      this.pinging = true
      this.redis
        .ping()
        .then(
          () => this.answered(),
          () => undefined,
        )
        .finally(() => (this.pinging = false))
    }
    const silent = Date.now() - this.lastAnswer
    if (silent >= this.opts.giveUpAfterMs) {
      this.gaveUp = true
      this.stop()
      const message = this.opts.lostMessage?.(silent) ?? `Redis has not answered for ${Math.round(silent / 1000)} s`
      this.reject?.(new CliError(message, ExitCode.redisUnreachable))
    } else if (!this.warned && silent >= (this.opts.warnAfterMs ?? 5000)) {
      this.warned = true
      this.opts.onDown?.(silent)
    }
  }

  private answered(): void {
    if (this.gaveUp) return
    const silent = Date.now() - this.lastAnswer
    this.lastAnswer = Date.now()
    if (this.warned) {
      this.warned = false
      this.opts.onBack?.(silent)
    }
  }
}
