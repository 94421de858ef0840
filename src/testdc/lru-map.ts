// A Map that holds at most `capacity` entries and forgets the least recently used one to make room. Map keeps
// insertion order, so "used" means re-inserted: use() and set() move an entry to the end, O(1) each.

export class LruMap<K, V> extends Map<K, V> {
  constructor(
    readonly capacity: number,
    /** Called for each entry forgotten to make room (not for delete() or clear()). */
    private readonly onEvict: (key: K, value: V) => void = () => {},
  ) {
    super()
    if (!(capacity >= 1)) throw new RangeError(`LruMap capacity must be at least 1, got ${capacity}`)
  }

  /** The value under `key`, which becomes the most recently used; get() reads without touching. */
  use(key: K): V | undefined {
    const value = super.get(key)
    if (value !== undefined) {
      super.delete(key)
      super.set(key, value)
    }
    return value
  }

  override set(key: K, value: V): this {
    super.delete(key)
    super.set(key, value)
    while (this.size > this.capacity) {
      const oldest = this.entries().next().value as [K, V]
      super.delete(oldest[0])
      this.onEvict(oldest[0], oldest[1])
    }
    return this
  }
}
