// A per-client request budget for the operator's HTTP server: a token bucket per remote address, kept in memory
// (one server process; the budgets are a brake on guessing and floods, not an accounting). Buckets idle for a
// while are dropped so the map stays small.
export interface RateLimitOptions {
  /** Requests per minute a client may make on average. */
  readonly perMinute: number
  /** How many it may make at once (default: perMinute). */
  readonly burst?: number
  /** Most clients tracked at once; the oldest bucket goes first past it (default 10,000). */
  readonly maxClients?: number
}

interface Bucket {
  tokens: number
  at: number
}

export class RequestRateLimit {
  private readonly buckets = new Map<string, Bucket>()
  private readonly perMs: number
  private readonly burst: number
  private readonly maxClients: number

  constructor(opts: RateLimitOptions) {
    this.perMs = opts.perMinute / 60_000
    this.burst = opts.burst ?? opts.perMinute
    this.maxClients = opts.maxClients ?? 10_000
  }

  /** Takes one request from `client`'s budget: 0 when allowed, else the milliseconds until one is. */
  take(client: string, now = Date.now()): number {
    let b = this.buckets.get(client)
    if (b === undefined) {
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string)
      b = { tokens: this.burst, at: now }
    } else {
      this.buckets.delete(client) // re-inserted below: the map stays in order of last use
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs)
      b.at = now
    }
    this.buckets.set(client, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    return Math.ceil((1 - b.tokens) / this.perMs)
  }
}
