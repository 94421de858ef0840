// A sliding-window counter per key: how the test DC decides FLOOD_WAIT for sendCode and wrong passwords.

export interface RateLimit {
  /** Events allowed within the window; the next one must wait. */
  max: number
  windowSeconds: number
}

export class RateWindow {
  private readonly events = new Map<string, number[]>()

  constructor(private readonly limit: RateLimit) {}

  /** Seconds until another event for `key` is allowed (0: allowed now). */
  waitSeconds(key: string, nowMs: number): number {
    const recent = this.recent(key, nowMs)
    if (recent.length < this.limit.max) return 0
    return Math.max(1, Math.ceil((recent[0] + this.limit.windowSeconds * 1000 - nowMs) / 1000))
  }

  record(key: string, nowMs: number): void {
    const recent = this.recent(key, nowMs)
    recent.push(nowMs)
    this.events.set(key, recent)
  }

  private recent(key: string, nowMs: number): number[] {
    const since = nowMs - this.limit.windowSeconds * 1000
    return (this.events.get(key) ?? []).filter((t) => t > since)
  }
}
