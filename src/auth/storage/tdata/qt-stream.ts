// The bits of Qt's QDataStream that tdata uses: big-endian integers and QByteArray (uint32 BE length, then the
// bytes; 0xffffffff is a null array).
import { TdataError } from './tdata-error.ts'

const NULL_ARRAY = 0xffffffff

export class QtReader {
  private offset = 0
  constructor(
    private readonly bytes: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new TdataError('format', `${this.what}: ends early`)
  }

  int32(): number {
    this.need(4)
    const v = this.bytes.readInt32BE(this.offset)
    this.offset += 4
    return v
  }

  uint32(): number {
    this.need(4)
    const v = this.bytes.readUInt32BE(this.offset)
    this.offset += 4
    return v
  }

  uint64(): bigint {
    this.need(8)
    const v = this.bytes.readBigUInt64BE(this.offset)
    this.offset += 8
    return v
  }

  raw(n: number): Buffer {
    this.need(n)
    const v = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return Buffer.from(v)
  }

  byteArray(): Buffer {
    const length = this.uint32()
    return length === NULL_ARRAY ? Buffer.alloc(0) : this.raw(length)
  }
}

export class QtWriter {
  private readonly parts: Buffer[] = []

  int32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeInt32BE(v)
    this.parts.push(b)
    return this
  }

  uint32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(v)
    this.parts.push(b)
    return this
  }

  uint64(v: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(v)
    this.parts.push(b)
    return this
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes))
    return this
  }

  byteArray(bytes: Uint8Array): this {
    return this.uint32(bytes.length).raw(bytes)
  }

  result(): Buffer {
    return Buffer.concat(this.parts)
  }
}
