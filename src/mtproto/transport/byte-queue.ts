/**
 * A FIFO of received chunks. Reassembles frames that arrive split across many chunks without quadratic copying:
 * chunks are kept by reference and copied once, when a whole frame is taken out. Holds nothing while idle, so a
 * connection costs no buffer memory between frames.
 *
 * Chunks are kept by reference: the caller must not modify a chunk after pushing it.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = []
  /** Index of the first live chunk in `chunks` (consumed chunks before it are dropped lazily). */
  private head = 0
  /** Bytes already consumed from `chunks[head]`. */
  private offset = 0
  private total = 0

  /** Number of buffered bytes. */
  get length(): number {
    return this.total
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.total += chunk.length
  }

  /** The byte at `index` (0 = the next unread byte). The caller guarantees `index < length`. */
  byteAt(index: number): number {
    let i = this.head
    let at = index + this.offset
    for (;;) {
      const chunk = this.chunks[i]
      if (at < chunk.length) return chunk[at]
      at -= chunk.length
      i++
    }
  }

  /** Little-endian uint32 at `index`; the caller guarantees `index + 4 <= length`. */
  uint32LE(index: number): number {
    return (
      (this.byteAt(index) |
        (this.byteAt(index + 1) << 8) |
        (this.byteAt(index + 2) << 16) |
        (this.byteAt(index + 3) << 24)) >>>
      0
    )
  }

  /**
   * Removes and returns the first `n` bytes (`n <= length`): a view when they lie in one chunk, else one copy.
   */
  read(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0)
    const first = this.chunks[this.head]
    if (first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n)
      this.skip(n)
      return view
    }
    const out = new Uint8Array(n)
    let written = 0
    let i = this.head
    let from = this.offset
    while (written < n) {
      const chunk = this.chunks[i]
      const count = Math.min(chunk.length - from, n - written)
      out.set(chunk.subarray(from, from + count), written)
      written += count
      i++
      from = 0
    }
    this.skip(n)
    return out
  }

  /** Drops the first `n` bytes. */
  skip(n: number): void {
    this.total -= n
    while (n > 0) {
      const chunk = this.chunks[this.head]
      const left = chunk.length - this.offset
      if (n < left) {
        this.offset += n
        return
      }
      n -= left
      this.dropHead()
    }
  }

  /** Removes and returns everything buffered. */
  readAll(): Uint8Array {
    return this.read(this.total)
  }

  clear(): void {
    this.chunks = []
    this.head = 0
    this.offset = 0
    this.total = 0
  }

  private dropHead(): void {
    this.head++
    this.offset = 0
    if (this.head === this.chunks.length) {
      this.chunks = []
      this.head = 0
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      // Compact now and then so a long run of tiny chunks does not keep a big dead prefix alive.
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }
}
