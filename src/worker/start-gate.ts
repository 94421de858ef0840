// How many logins a worker process starts at once. A login's first step is its key exchange (CPU-bound, here and
// on the DC) and sendCode; a few at a time keep the threads busy, hundreds only make every other step — a code
// that arrived, a password — wait its turn on the same event loops behind their modexps.

/**
 * A counting semaphore with a FIFO queue of waiters, which also says when the process holds as many first steps
 * as it should (running, or waiting their turn): the worker then takes no more from the queue, so that its free
 * slots stay for the steps that finish logins.
 */
export class StartGate {
  private running = 0
  private holding = 0
  private readonly waiters: (() => void)[] = []
  /** Called when a step lets go of the gate, so that the worker may take new jobs again. */
  onRelease: (() => void) | undefined

  constructor(
    readonly limit: number,
    /** First steps held at most (running + waiting); default twice the limit, so a freed slot is taken at once. */
    readonly maxHeld = limit * 2,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`start gate limit must be a positive integer`)
  }

  /** Steps holding the gate now, and steps waiting for it. */
  get inFlight(): number {
    return this.running
  }
  get waiting(): number {
    return this.waiters.length
  }
  /** As many first steps are held as should be: another one is better left in the queue for now. */
  get full(): boolean {
    return this.holding >= this.maxHeld
  }

  /** Runs `fn` once fewer than `limit` others hold the gate. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.holding++
    try {
      if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve))
      else this.running++
      try {
        return await fn()
      } finally {
        // The slot passes straight to the next waiter (running stays as it is), or is freed.
        const next = this.waiters.shift()
        if (next) next()
        else this.running--
      }
    } finally {
      this.holding--
      this.onRelease?.()
    }
  }
}

/** Logins started at once per piscina thread by default: enough to cover their round trips, few enough to keep queues short. */
export const STARTS_PER_THREAD = 8
