// What the sessions of one DC remember about past messages — bodies sent (for msg_resend_req), states of received
// msg_ids (msgs_state_req), where each answer went (msg_detailed_info) — under one byte budget for the whole DC.
// Each session also caps its own maps by count, but a count per session times maxSessions is still gigabytes, so
// past the budget the DC's oldest entries go first, whichever session holds them (a forgotten entry is answered
// as Telegram answers an id it no longer knows).

/** What one entry costs besides its payload: the map slot, the value object, this ledger's record (measured ~150 B). */
const ENTRY_OVERHEAD = 160
/** Drop consumed records from the front of the queue once this many have piled up. */
const COMPACT_AFTER = 4096

interface Kept {
  map: Map<bigint, unknown>
  key: bigint
  value: unknown
  bytes: number
}

export class SessionHistory {
  /** Bytes counted for the records in the queue; what is really kept is never more. */
  private total = 0
  private queue: (Kept | undefined)[] = []
  private head = 0

  constructor(readonly maxBytes: number) {}

  /** No budget: for sessions made outside a DC (their own per-map counts still apply). */
  static unbounded(): SessionHistory {
    return new SessionHistory(Number.POSITIVE_INFINITY)
  }

  get bytes(): number {
    return this.total
  }

  /**
   * Sets map[key] = value as the map's newest entry; the map's oldest goes past `limit` entries, and the DC's oldest
   * entries go while the budget is exceeded. `bytes` is the size of what the value holds beyond its fixed fields.
   */
  remember<V>(map: Map<bigint, V>, key: bigint, value: V, limit: number, bytes = 0): void {
    map.delete(key)
    map.set(key, value)
    if (map.size > limit) map.delete(map.keys().next().value!)
    if (this.maxBytes === Number.POSITIVE_INFINITY) return
    const kept: Kept = { map: map as Map<bigint, unknown>, key, value, bytes: bytes + ENTRY_OVERHEAD }
    this.queue.push(kept)
    this.total += kept.bytes
    while (this.total > this.maxBytes && this.head < this.queue.length) {
      const old = this.queue[this.head]!
      this.queue[this.head++] = undefined
      this.total -= old.bytes
      // still the entry this record made (not replaced by a newer value, not dropped by its map's own limit)
      if (old.map.get(old.key) === old.value) old.map.delete(old.key)
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}
