// What a fuzz run counts and prints: frames sent, crashes (the target died or threw where it must not), hangs (the
// target stopped answering within the deadline), and the target's RSS over time, with a verdict on memory.

export interface FuzzOptions {
  /** Frames to send before stopping. */
  frames: number
  /** Wall-clock budget in seconds; the run stops at whichever of frames or seconds comes first. */
  seconds: number
  /** Seed of the run's PRNG: the same seed replays the same choices. */
  seed: number
  /** A probe that gets neither its answer nor a close within this many ms is a hang. */
  hangMs: number
  /** Print progress lines. */
  verbose: boolean
}

export interface RssSample {
  /** Seconds since the run started. */
  t: number
  frames: number
  rss: number
  heapUsed: number
}

export interface FuzzIncident {
  kind: 'crash' | 'hang'
  /** The frame count when it was seen. */
  atFrame: number
  what: string
  /** The last inputs before it (hex, truncated), so it can be replayed by hand. */
  recent: string[]
}

/** Incidents kept in full; past this only counted. */
const MAX_KEPT_INCIDENTS = 20
/**
 * RSS growth over the second half of a run that still counts as bounded: the allocator's and V8's reserves move
 * by tens of MB, while a leak grows with the frames sent (as much in the second half as in the first).
 */
const BOUNDED_GROWTH_BYTES = 64 * 1024 * 1024

export class FuzzReport {
  readonly started = Date.now()
  frames = 0
  crashes = 0
  hangs = 0
  readonly incidents: FuzzIncident[] = []
  readonly rss: RssSample[] = []
  /** The target's heap right after a forced GC, halfway through and at the end: what it really keeps. */
  readonly heapAfterGc: { middle?: number; end?: number } = {}
  /** Per kind of input, how many were sent. */
  readonly kinds = new Map<string, number>()
  /** Free-form counters a mode adds (answers, closes, transport errors...). */
  readonly counters = new Map<string, number>()
  private readonly recent: string[] = []

  constructor(
    readonly mode: string,
    readonly opts: FuzzOptions,
  ) {}

  get elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000
  }

  /** Whether the run should stop (frame budget or time budget used up). */
  get done(): boolean {
    return this.frames >= this.opts.frames || this.elapsedSeconds >= this.opts.seconds
  }

  /** Records one input sent to the target. */
  sent(kind: string, bytes: Uint8Array): void {
    this.frames++
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1)
    this.recent.push(`${kind}:${hexPrefix(bytes)}`)
    if (this.recent.length > 8) this.recent.shift()
  }

  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n)
  }

  /** Keeps the largest value seen under `name` (e.g. a worst latency). */
  peak(name: string, value: number): void {
    this.counters.set(name, Math.max(this.counters.get(name) ?? 0, value))
  }

  crash(what: string): void {
    this.crashes++
    this.keep({ kind: 'crash', atFrame: this.frames, what, recent: [...this.recent] })
  }

  hang(what: string): void {
    this.hangs++
    this.keep({ kind: 'hang', atFrame: this.frames, what, recent: [...this.recent] })
  }

  sampleRss(rss: number, heapUsed: number): void {
    this.rss.push({ t: Math.round(this.elapsedSeconds * 10) / 10, frames: this.frames, rss, heapUsed })
  }

  private keep(incident: FuzzIncident): void {
    if (this.incidents.length < MAX_KEPT_INCIDENTS) this.incidents.push(incident)
    if (this.opts.verbose) console.error(`[fuzz] ${incident.kind} at frame ${incident.atFrame}: ${incident.what}`)
  }

  /**
   * Memory verdict: bounded when what the target keeps at the end is within BOUNDED_GROWTH_BYTES of what it kept
   * halfway through (by then its bounded caches — sessions, keys — have filled up). What it keeps is its heap after
   * a forced GC when the mode measured that (RSS also moves with garbage not yet collected), else its RSS.
   */
  memory(): { start: number; middle: number; peak: number; end: number; bounded: boolean } {
    if (this.rss.length === 0) return { start: 0, middle: 0, peak: 0, end: 0, bounded: true }
    const start = this.rss[0]!.rss
    const end = this.rss[this.rss.length - 1]!.rss
    const peak = Math.max(...this.rss.map((s) => s.rss))
    const middle = (this.rss.find((s) => s.frames >= this.frames / 2) ?? this.rss[0]!).rss
    const { middle: heapMiddle, end: heapEnd } = this.heapAfterGc
    const bounded =
      heapMiddle !== undefined && heapEnd !== undefined
        ? heapEnd - heapMiddle <= BOUNDED_GROWTH_BYTES
        : end - middle <= BOUNDED_GROWTH_BYTES
    return { start, middle, peak, end, bounded }
  }

  get ok(): boolean {
    return this.crashes === 0 && this.hangs === 0 && this.memory().bounded
  }

  summary(): Record<string, unknown> {
    const m = this.memory()
    const mb = (n: number): number => Math.round((n / 1024 / 1024) * 10) / 10
    return {
      mode: this.mode,
      seed: this.opts.seed,
      frames: this.frames,
      seconds: Math.round(this.elapsedSeconds * 10) / 10,
      crashes: this.crashes,
      hangs: this.hangs,
      rssMb: { start: mb(m.start), middle: mb(m.middle), peak: mb(m.peak), end: mb(m.end), bounded: m.bounded },
      heapAfterGcMb: {
        middle: this.heapAfterGc.middle === undefined ? null : mb(this.heapAfterGc.middle),
        end: this.heapAfterGc.end === undefined ? null : mb(this.heapAfterGc.end),
      },
      kinds: Object.fromEntries(this.kinds),
      counters: Object.fromEntries(this.counters),
      rssTimeline: thin(this.rss, 12).map((s) => ({
        t: s.t,
        frames: s.frames,
        rssMb: mb(s.rss),
        heapMb: mb(s.heapUsed),
      })),
      incidents: this.incidents,
      ok: this.ok,
    }
  }
}

function hexPrefix(bytes: Uint8Array): string {
  const n = Math.min(bytes.length, 48)
  let s = ''
  for (let i = 0; i < n; i++) s += bytes[i]!.toString(16).padStart(2, '0')
  return `${s}${bytes.length > n ? `…(${bytes.length} B)` : ''}`
}

/** At most `n` samples, evenly spaced, always with the first and the last. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (n - 1))]!)
  return out
}
