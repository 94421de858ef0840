// The replay window of an encrypted session: the last N msg_ids received. A msg_id at or below the lowest
// one kept, or equal to any kept, is a replay and is dropped (tdlib keeps 1000).
export const MAX_SEEN_MESSAGE_IDS = 1000

export class SeenMessageIds {
  private readonly ids: bigint[] = []
  private readonly set = new Set<bigint>()

  /** Records `id`; false when it is a replay or older than the window. */
  accept(id: bigint): boolean {
    if (this.set.has(id)) return false
    if (this.ids.length >= MAX_SEEN_MESSAGE_IDS && id <= this.ids[0]!) return false
    // ids arrive mostly in order: insert from the end
    let i = this.ids.length
    while (i > 0 && this.ids[i - 1]! > id) i--
    this.ids.splice(i, 0, id)
    this.set.add(id)
    if (this.ids.length > MAX_SEEN_MESSAGE_IDS) this.set.delete(this.ids.shift()!)
    return true
  }

  has(id: bigint): boolean {
    return this.set.has(id)
  }

  clear(): void {
    this.ids.length = 0
    this.set.clear()
  }
}
