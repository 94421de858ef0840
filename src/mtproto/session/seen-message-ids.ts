// The replay window of an encrypted session: the last N msg_ids received. A msg_id at or below the lowest
// one kept, or equal to any kept, is a replay and is dropped (tdlib keeps 1000).
export const MAX_SEEN_MESSAGE_IDS = 1000

/** Room for this many ids at first; doubled as needed up to the window (8 ids fit inside the typed array). */
const INITIAL_CAPACITY = 8

/**
 * The ids are kept in ascending order in a ring buffer of int64s that grows with the window: 8 bytes an id, instead
 * of a heap bigint, an array slot and a Set entry each (about 56 bytes), which matters with thousands of sessions.
 */
export class SeenMessageIds {
  /** `count` ids in ascending order from `start`, wrapping around; the capacity is a power of two. */
  private ids = new BigInt64Array(INITIAL_CAPACITY)
  private start = 0
  private count = 0

  /** Records `id` (an int64); false when it is a replay or older than the window. */
  accept(msgId: bigint): boolean {
    const id = BigInt.asIntN(64, msgId)
    // ids arrive mostly in order: look for the place from the end
    let i = this.count
    while (i > 0 && this.at(i - 1) > id) i--
    if (i > 0 && this.at(i - 1) === id) return false
    if (this.count >= MAX_SEEN_MESSAGE_IDS) {
      if (i === 0) return false // below the lowest one kept
      this.start = (this.start + 1) & (this.ids.length - 1)
      this.count--
      i--
    }
    if (this.count === this.ids.length) this.grow()
    const mask = this.ids.length - 1
    for (let j = this.count; j > i; j--) this.ids[(this.start + j) & mask] = this.ids[(this.start + j - 1) & mask]!
    this.ids[(this.start + i) & mask] = id
    this.count++
    return true
  }

  has(msgId: bigint): boolean {
    const id = BigInt.asIntN(64, msgId)
    let lo = 0
    let hi = this.count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const v = this.at(mid)
      if (v === id) return true
      if (v < id) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }

  clear(): void {
    this.ids = new BigInt64Array(INITIAL_CAPACITY)
    this.start = 0
    this.count = 0
  }

  /** The i-th lowest id kept. */
  private at(i: number): bigint {
    return this.ids[(this.start + i) & (this.ids.length - 1)]!
  }

  private grow(): void {
    const bigger = new BigInt64Array(this.ids.length * 2)
    for (let i = 0; i < this.count; i++) bigger[i] = this.at(i)
    this.ids = bigger
    this.start = 0
  }
}
