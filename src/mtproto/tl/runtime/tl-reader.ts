// Reads TL primitives from a buffer for the generated decoders. Every read is bounds-checked (generated
// readers check a run of fixed-size fields at once, then read it with the *At methods) and every length or
// count is checked against what is left, so hostile input ends in a TlDecodeError.
import { TlDecodeError } from './tl-errors.ts'
import { DecodeBudget } from './decode-budget.ts'
import type { TlValue } from './tl-value.ts'

export type TlDecoder = (r: TlReader) => TlValue
export type TlAnyDecoder = (r: TlReader) => unknown

/** vector#1cb5c415: the boxed vector constructor. */
export const VECTOR_ID = 0x1cb5c415
/** gzip_packed#3072cfa1 packed_data:bytes = Object. */
export const GZIP_PACKED_ID = 0x3072cfa1
const BOOL_TRUE_ID = 0x997275b5
const BOOL_FALSE_ID = 0xbc799737
/** Deeper than any real Telegram object (page blocks nest ~20), far below V8's stack limit. */
export const MAX_DEPTH = 128
/** A gzip_packed body may not inflate past this; all of one packet's together neither (DecodeBudget). */
export const MAX_GZIP_OUTPUT = 64 * 1024 * 1024
/**
 * Short ASCII strings (names, usernames, lang codes) are cheaper to build in JS than to cross into C++ for a
 * UTF-8 slice: measured on node 20, ~66 ns vs ~115 ns per string of 2–16 chars. string() tests them as four
 * 32-bit words, so this is 16.
 */
const ASCII_FAST_PATH_MAX = 16
const fromCharCode = String.fromCharCode
/** ASCII_MASKS[n * 4 + k]: the bits of the k-th little-endian word of a string that hold its first n bytes. */
const ASCII_MASKS = new Int32Array((ASCII_FAST_PATH_MAX + 1) * 4)
for (let n = 0; n <= ASCII_FAST_PATH_MAX; n++) {
  for (let k = 0; k < 4; k++) {
    const used = Math.max(0, Math.min(4, n - 4 * k))
    ASCII_MASKS[n * 4 + k] = used === 4 ? -1 : (1 << (8 * used)) - 1
  }
}

/**
 * Builds an ASCII string of n ≤ 16 bytes with a single fromCharCode call. Joining pieces of 8 and 4 chars cost
 * a call and a concatenation each, for the 9–16 chars usual in usernames, phones and IPs: ~8% of a whole decode.
 */
function asciiString(b: Uint8Array, s: number, n: number): string {
  switch (n) {
    case 0:
      return ''
    case 1:
      return fromCharCode(b[s]!)
    case 2:
      return fromCharCode(b[s]!, b[s + 1]!)
    case 3:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!)
    case 4:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!)
    case 5:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!)
    case 6:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!)
    case 7:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!)
    case 8:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!)
    case 9:
      return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!)
    case 10:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
      )
    case 11:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
        b[s + 10]!,
      )
    case 12:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
        b[s + 10]!,
        b[s + 11]!,
      )
    case 13:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
        b[s + 10]!,
        b[s + 11]!,
        b[s + 12]!,
      )
    case 14:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
        b[s + 10]!,
        b[s + 11]!,
        b[s + 12]!,
        b[s + 13]!,
      )
    case 15:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
        b[s + 10]!,
        b[s + 11]!,
        b[s + 12]!,
        b[s + 13]!,
        b[s + 14]!,
      )
    case 16:
      return fromCharCode(
        b[s]!,
        b[s + 1]!,
        b[s + 2]!,
        b[s + 3]!,
        b[s + 4]!,
        b[s + 5]!,
        b[s + 6]!,
        b[s + 7]!,
        b[s + 8]!,
        b[s + 9]!,
        b[s + 10]!,
        b[s + 11]!,
        b[s + 12]!,
        b[s + 13]!,
        b[s + 14]!,
        b[s + 15]!,
      )
    default:
      throw new Error(`asciiString: ${n} > ASCII_FAST_PATH_MAX`)
  }
}

/** The scratch of TlReader#longAt; its halves are in platform order. */
const scratch = new ArrayBuffer(8)
const scratch32 = new Int32Array(scratch)
const scratch64 = new BigInt64Array(scratch)
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1
const HI = 1 - LO

/** Buffer's own UTF-8 slice, called directly: `toString('utf8', …)` adds ~70 ns of argument handling per call. */
interface NodeUtf8Buffer extends Buffer {
  utf8Slice(start: number, end: number): string
}

export class TlReader {
  readonly dv: DataView
  pos: number
  depth: number
  private nodeBuffer: NodeUtf8Buffer | undefined

  constructor(
    /** Constructor id → decoder, for `Object` and `!X` fields; shared by every reader of one codec. */
    readonly objects: ReadonlyMap<number, TlDecoder>,
    readonly buf: Uint8Array,
    pos = 0,
    readonly end = buf.length,
    depth = 0,
    /** What the packet being read may still inflate, shared with the readers of its gzip_packed objects. */
    private budget: DecodeBudget | undefined = undefined,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.pos = pos
    this.depth = depth
  }

  private need(n: number): number {
    const p = this.pos
    if (p + n > this.end) throw new TlDecodeError('truncated', p, `need ${n} bytes, ${this.end - p} left`)
    this.pos = p + n
    return p
  }

  /** For generated readers that check a run of fixed-size fields at once: the run of n bytes does not fit. */
  truncated(n: number): never {
    throw new TlDecodeError('truncated', this.pos, `need ${n} bytes, ${this.end - this.pos} left`)
  }

  int(): number {
    return this.dv.getInt32(this.need(4), true)
  }

  uint(): number {
    return this.dv.getUint32(this.need(4), true)
  }

  peekUint(): number {
    if (this.pos + 4 > this.end) throw new TlDecodeError('truncated', this.pos, 'need 4 bytes for a constructor id')
    return this.dv.getUint32(this.pos, true)
  }

  long(): bigint {
    return this.longAt(this.need(8))
  }

  /**
   * A long at a position already bounds-checked. Node 20's optimizing compiler does not inline
   * DataView#getBigInt64, but it does inline 32-bit reads and BigInt64Array loads: going through an 8-byte
   * scratch is ~3% of a whole decode faster.
   */
  longAt(p: number): bigint {
    const dv = this.dv
    scratch32[LO] = dv.getInt32(p, true)
    scratch32[HI] = dv.getInt32(p + 4, true)
    return scratch64[0]!
  }

  double(): number {
    return this.dv.getFloat64(this.need(8), true)
  }

  int128(): Uint8Array {
    const p = this.need(16)
    return this.buf.slice(p, p + 16)
  }

  int256(): Uint8Array {
    const p = this.need(32)
    return this.buf.slice(p, p + 32)
  }

  raw(n: number): Uint8Array {
    const p = this.need(n)
    return this.buf.slice(p, p + n)
  }

  bool(): boolean {
    const id = this.uint()
    if (id === BOOL_TRUE_ID) return true
    if (id === BOOL_FALSE_ID) return false
    throw new TlDecodeError('bad-bool', this.pos - 4, `0x${id.toString(16)} is not a Bool`)
  }

  /** A Bool at a position a generated reader has already bounds-checked. */
  boolAt(at: number): boolean {
    const id = this.dv.getUint32(at, true)
    if (id === BOOL_TRUE_ID) return true
    if (id === BOOL_FALSE_ID) return false
    throw new TlDecodeError('bad-bool', at, `0x${id.toString(16)} is not a Bool`)
  }

  /** Start and length of a TL byte string (1- or 4-byte length prefix, padded to 4). */
  private bytesSpan(): number {
    const start = this.pos
    if (start >= this.end) throw new TlDecodeError('truncated', start, 'need a length prefix')
    const b = this.buf
    let len = b[start]!
    let header = 1
    if (len === 254) {
      if (start + 4 > this.end) throw new TlDecodeError('truncated', start, 'need a 4-byte length prefix')
      len = b[start + 1]! | (b[start + 2]! << 8) | (b[start + 3]! << 16)
      header = 4
    } else if (len === 255) {
      throw new TlDecodeError('bad-length', start, 'length prefix 0xff is not used by TL')
    }
    const total = (header + len + 3) & ~3
    if (start + total > this.end)
      throw new TlDecodeError(
        'bad-length',
        start,
        `length ${len} runs past the end (${this.end - start - header} left)`,
      )
    this.pos = start + total
    this.spanLength = len
    return start + header
  }
  private spanLength = 0

  /**
   * A view into the buffer being read, not a copy: allocating a new ArrayBuffer per field was the largest
   * single cost of decoding. Decoded objects therefore keep their input alive; inputs are never reused.
   */
  bytes(): Uint8Array {
    const s = this.bytesSpan()
    return this.buf.subarray(s, s + this.spanLength)
  }

  string(): string {
    // The 1-byte length prefix (strings under 254 bytes) is read here; bytesSpan() does the rest.
    const b = this.buf
    const start = this.pos
    if (start >= this.end || b[start]! >= 254) return this.longString()
    const n = b[start]!
    const next = start + ((n + 4) & ~3)
    if (next > this.end)
      throw new TlDecodeError('bad-length', start, `length ${n} runs past the end (${this.end - start - 1} left)`)
    this.pos = next
    const s = start + 1
    if (n <= ASCII_FAST_PATH_MAX) {
      if (s + 16 <= this.end) {
        // Four masked words instead of a loop over the bytes: straight-line code, ~10% of a whole decode.
        const dv = this.dv
        const m = n << 2
        const or =
          (dv.getInt32(s, true) & ASCII_MASKS[m]!) |
          (dv.getInt32(s + 4, true) & ASCII_MASKS[m + 1]!) |
          (dv.getInt32(s + 8, true) & ASCII_MASKS[m + 2]!) |
          (dv.getInt32(s + 12, true) & ASCII_MASKS[m + 3]!)
        if ((or & 0x80808080) === 0) return asciiString(b, s, n)
      } else {
        let or = 0
        for (let i = 0; i < n; i++) or |= b[s + i]!
        if (or < 0x80) return asciiString(b, s, n)
      }
    }
    return this.utf8(s, n)
  }

  /** A string with a 4-byte length prefix, or an error for a missing or bad prefix. */
  private longString(): string {
    const s = this.bytesSpan()
    return this.utf8(s, this.spanLength)
  }

  private utf8(s: number, n: number): string {
    const b = this.buf
    this.nodeBuffer ??= Buffer.from(b.buffer, b.byteOffset, b.byteLength) as NodeUtf8Buffer
    return this.nodeBuffer.utf8Slice(s, s + n)
  }

  /** Reads a vector's count, boxed (with the vector id) or bare, refusing counts the buffer cannot hold. */
  vectorLength(boxed: boolean, minElementSize: number): number {
    if (boxed) {
      const id = this.uint()
      if (id !== VECTOR_ID)
        throw new TlDecodeError('unknown-constructor', this.pos - 4, `0x${id.toString(16)} where a Vector was expected`)
    }
    const at = this.pos
    const n = this.int()
    // Elements of 0 bytes do not occur in Telegram's schemas; count them as 1 so the check still bounds n.
    if (n < 0 || n * Math.max(minElementSize, 1) > this.end - this.pos) {
      throw new TlDecodeError('vector-too-long', at, `vector of ${n >>> 0} elements in ${this.end - this.pos} bytes`)
    }
    return n
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH)
      throw new TlDecodeError('too-deep', this.pos, `objects nested deeper than ${MAX_DEPTH}`)
  }

  /** Any boxed object (`Object`, `!X`): looked up in the codec's table. */
  object(): TlValue {
    this.enter()
    const id = this.uint()
    const dec = this.objects.get(id)
    let v: TlValue
    if (dec !== undefined) v = dec(this)
    else if (id === GZIP_PACKED_ID) v = this.gunzipped((r) => r.object())
    else
      throw new TlDecodeError(
        'unknown-constructor',
        this.pos - 4,
        `unknown constructor 0x${id.toString(16).padStart(8, '0')}`,
      )
    this.depth--
    return v
  }

  /**
   * Called by a generated type reader for an id that is not one of the type's constructors: gzip_packed is
   * unpacked and read as that type; anything else is an error naming the type.
   */
  unexpected<T>(id: number, typeName: string, read: (r: TlReader) => T): T {
    if (id === GZIP_PACKED_ID) return this.gunzipped(read)
    throw new TlDecodeError(
      'unknown-constructor',
      this.pos - 4,
      `0x${id.toString(16).padStart(8, '0')} is not a constructor of ${typeName}`,
    )
  }

  /**
   * Reads gzip_packed's body (the id was consumed), inflates it, and reads one whole value from it. Each
   * gzip_packed counts as a level of nesting: readers of types that cannot contain themselves count none, and
   * gzip_packed inside gzip_packed must still stop at MAX_DEPTH.
   */
  gunzipped<T>(read: (r: TlReader) => T): T {
    this.enter()
    const at = this.pos
    const packed = this.bytes()
    // A reader made without a budget starts one here: its gzip_packed objects (and theirs) share it.
    const budget = (this.budget ??= new DecodeBudget())
    budget.enter(at)
    const inflated = budget.inflate(packed, at)
    const inner = new TlReader(this.objects, inflated, 0, inflated.length, this.depth, budget)
    const v = read(inner)
    inner.expectEnd()
    budget.leave()
    this.depth--
    return v
  }

  expectEnd(): void {
    if (this.pos !== this.end)
      throw new TlDecodeError('trailing-bytes', this.pos, `${this.end - this.pos} bytes left after the object`)
  }
}
