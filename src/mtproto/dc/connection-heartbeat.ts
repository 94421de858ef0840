// One timer for every DC connection of the process: keep-alive pings and delayed acks are checked once a
// second here instead of by a pair of timers per connection (10,000 clients would mean 20,000 timers).

export interface HeartbeatTarget {
  /** Called about once a second with the current time (ms). */
  onHeartbeat(now: number): void
}

/** Granularity of pings and ack flushes. */
const TICK_MS = 1000

class ConnectionHeartbeat {
  private readonly targets = new Set<HeartbeatTarget>()
  private timer: NodeJS.Timeout | undefined

  add(t: HeartbeatTarget): void {
    this.targets.add(t)
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS)
      this.timer.unref()
    }
  }

  delete(t: HeartbeatTarget): void {
    this.targets.delete(t)
    if (this.targets.size === 0 && this.timer) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private tick(): void {
    const now = Date.now()
    for (const t of this.targets) t.onHeartbeat(now)
  }
}

export const connectionHeartbeat = new ConnectionHeartbeat()
