// Writes TL primitives for the generated encoders into one growing buffer.
// One writer is reused for every encode (encoding is synchronous), so a call costs one copy of the result.
import { TlEncodeError } from './tl-errors.ts'
import type { TlValue } from './tl-value.ts'

export type TlEncoder = (w: TlWriter, v: TlValue) => void
export type TlAnyEncoder = (w: TlWriter, v: unknown) => void

const BOOL_TRUE_ID = 0x997275b5
const BOOL_FALSE_ID = 0xbc799737
/** TL byte strings carry a 3-byte length: anything longer cannot be written. */
const MAX_TL_BYTES = 0xffffff
/** A reused writer that grew past this for one large object is shrunk back afterwards. */
const KEEP_CAPACITY = 1 << 20

const utf8 = new TextEncoder()

export class TlWriter {
  buf: Uint8Array
  dv: DataView
  pos = 0
  /** Name → encoder, for `Object` and `!X` fields; set by the codec that owns this writer. */
  encoders: ReadonlyMap<string, TlEncoder>

  constructor(encoders: ReadonlyMap<string, TlEncoder>, capacity = 4096) {
    this.encoders = encoders
    this.buf = new Uint8Array(capacity)
    this.dv = new DataView(this.buf.buffer)
  }

  private grow(n: number): void {
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.dv = new DataView(next.buffer)
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n)
  }

  int(v: number): void {
    if (this.pos + 4 > this.buf.length) this.grow(4)
    this.dv.setInt32(this.pos, v, true)
    this.pos += 4
  }

  uint(v: number): void {
    if (this.pos + 4 > this.buf.length) this.grow(4)
    this.dv.setUint32(this.pos, v, true)
    this.pos += 4
  }

  long(v: bigint): void {
    if (this.pos + 8 > this.buf.length) this.grow(8)
    // setBigInt64 wraps modulo 2^64, so signed and unsigned forms of one id write the same bytes.
    this.dv.setBigInt64(this.pos, typeof v === 'bigint' ? v : BigInt(v as number), true)
    this.pos += 8
  }

  double(v: number): void {
    if (this.pos + 8 > this.buf.length) this.grow(8)
    this.dv.setFloat64(this.pos, v, true)
    this.pos += 8
  }

  fixed(v: Uint8Array, size: 16 | 32, what: string): void {
    if (!(v instanceof Uint8Array) || v.length !== size)
      throw new TlEncodeError(what, `int${size * 8} must be a Uint8Array of ${size} bytes`)
    this.raw(v)
  }

  raw(v: Uint8Array): void {
    if (this.pos + v.length > this.buf.length) this.grow(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
  }

  bool(v: boolean): void {
    this.uint(v ? BOOL_TRUE_ID : BOOL_FALSE_ID)
  }

  private header(len: number): void {
    if (len > MAX_TL_BYTES) throw new TlEncodeError('bytes', `length ${len} exceeds TL's 3-byte length`)
    const b = this.buf
    const p = this.pos
    if (len <= 253) {
      b[p] = len
      this.pos = p + 1
    } else {
      b[p] = 254
      b[p + 1] = len & 0xff
      b[p + 2] = (len >> 8) & 0xff
      b[p + 3] = (len >> 16) & 0xff
      this.pos = p + 4
    }
  }

  private pad(len: number): void {
    const headerLen = len <= 253 ? 1 : 4
    let padding = (4 - ((headerLen + len) & 3)) & 3
    const b = this.buf
    while (padding-- > 0) b[this.pos++] = 0
  }

  bytes(v: Uint8Array): void {
    const len = v.length
    this.ensure(len + 8)
    this.header(len)
    this.buf.set(v, this.pos)
    this.pos += len
    this.pad(len)
  }

  string(v: string): void {
    const n = v.length
    this.ensure(n * 3 + 8)
    const b = this.buf
    const start = this.pos
    if (n <= 253) {
      // ASCII fast path: one length byte, characters copied in place.
      let i = 0
      for (; i < n; i++) {
        const c = v.charCodeAt(i)
        if (c > 0x7f) break
        b[start + 1 + i] = c
      }
      if (i === n) {
        b[start] = n
        this.pos = start + 1 + n
        this.pad(n)
        return
      }
    }
    // Encode after a 4-byte header slot, then move back when the short header fits.
    const { written } = utf8.encodeInto(v, b.subarray(start + 4))
    if (written <= 253) b.copyWithin(start + 1, start + 4, start + 4 + written)
    this.header(written)
    this.pos += written
    this.pad(written)
  }

  object(v: TlValue): void {
    const enc = v === null || typeof v !== 'object' ? undefined : this.encoders.get(v._)
    if (enc === undefined) throw new TlEncodeError(String((v as TlValue | null)?._), 'not a known constructor')
    enc(this, v)
  }

  /** A copy of what was written; the writer is reset for the next object. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos)
    this.pos = 0
    if (this.buf.length > KEEP_CAPACITY) {
      this.buf = new Uint8Array(KEEP_CAPACITY)
      this.dv = new DataView(this.buf.buffer)
    }
    return out
  }
}

/** Called by generated encoders for a required field that is missing. */
export function missingField(ctor: string, field: string): never {
  throw new TlEncodeError(ctor, `required field ${field} is missing`)
}

/** Called by generated encoders when only some of the fields guarded by one flag bit are set. */
export function partialFlagGroup(ctor: string, fields: string): never {
  throw new TlEncodeError(ctor, `fields ${fields} share one flag bit: set all of them or none`)
}

/** Called by generated type writers for an object of the wrong constructor. */
export function wrongConstructor(v: unknown, typeName: string): never {
  const name = v !== null && typeof v === 'object' ? String((v as TlValue)._) : typeof v
  throw new TlEncodeError(name, `not a constructor of ${typeName}`)
}
