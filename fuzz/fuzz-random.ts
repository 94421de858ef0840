// The fuzzer's seeded choices (the same seed replays a run) and the byte mutations it applies to valid inputs.

export class FuzzRandom {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9
  }

  /** mulberry32: a uniform uint32. */
  uint32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.uint32() % n
  }

  chance(p: number): boolean {
    return this.uint32() / 4294967296 < p
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!
  }

  /** Picks a key by weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][]
    let total = 0
    for (const [, w] of entries) total += w
    let r = this.below(total)
    for (const [k, w] of entries) {
      if (r < w) return k
      r -= w
    }
    return entries[0]![0]
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      const v = this.uint32()
      out[i] = v & 0xff
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff
      if (i + 3 < n) out[i + 3] = v >>> 24
    }
    return out
  }

  /** A length that is usually small and sometimes large (up to `max`). */
  size(max: number): number {
    const r = this.below(100)
    if (r < 60) return this.below(Math.min(64, max) + 1)
    if (r < 90) return this.below(Math.min(1024, max) + 1)
    return this.below(max + 1)
  }
}

/** int32 values that break length and count checks. */
const INTERESTING_INT32 = [
  0, 1, -1, 2, 3, 4, 0x7f, 0x80, 0xff, 0xfe, 0x100, 0xffff, 0x10000, 0x7fffffff, -0x80000000, 1024, 1025, 0x1cb5c415,
  0x3072cfa1, 0x73f1f8dc,
]

/** One random mutation of `input` (a copy; the input is not changed). */
export function mutate(rnd: FuzzRandom, input: Uint8Array): Uint8Array {
  const out = Uint8Array.from(input)
  switch (rnd.below(8)) {
    case 0: {
      // flip a few bits
      if (out.length === 0) return rnd.bytes(4)
      const flips = 1 + rnd.below(4)
      for (let i = 0; i < flips; i++) out[rnd.below(out.length)]! ^= 1 << rnd.below(8)
      return out
    }
    case 1: {
      // overwrite an aligned int32 with an interesting value
      if (out.length < 4) return rnd.bytes(4)
      const at = rnd.below(out.length >> 2) << 2
      new DataView(out.buffer).setInt32(at, rnd.pick(INTERESTING_INT32), true)
      return out
    }
    case 2: // truncate (to a multiple of 4 most of the time)
      return out.subarray(0, rnd.chance(0.8) ? rnd.below((out.length >> 2) + 1) << 2 : rnd.below(out.length + 1))
    case 3: {
      // append random bytes
      const extra = rnd.bytes(rnd.size(256))
      const grown = new Uint8Array(out.length + extra.length)
      grown.set(out)
      grown.set(extra, out.length)
      return grown
    }
    case 4: {
      // random bytes over a range
      if (out.length === 0) return rnd.bytes(4)
      const at = rnd.below(out.length)
      out.set(rnd.bytes(Math.min(out.length - at, 1 + rnd.below(16))), at)
      return out
    }
    case 5: {
      // duplicate a slice in place of another
      if (out.length < 8) return out
      const from = rnd.below(out.length - 4)
      const len = 4 + rnd.below(Math.min(32, out.length - from - 4) + 1)
      const to = rnd.below(out.length - len + 1)
      out.copyWithin(to, from, from + len)
      return out
    }
    case 6: {
      // insert an interesting int32 at an aligned offset
      const at = rnd.below((out.length >> 2) + 1) << 2
      const grown = new Uint8Array(out.length + 4)
      grown.set(out.subarray(0, at))
      new DataView(grown.buffer).setInt32(at, rnd.pick(INTERESTING_INT32), true)
      grown.set(out.subarray(at), at + 4)
      return grown
    }
    default: // several at once
      return mutate(rnd, mutate(rnd, out))
  }
}
