// Joins generated codec modules (MTProto service schema + one API layer) into one encoder/decoder with a
// shared id table, so `Object` and `!X` fields (rpc_result, invokeWithLayer) find constructors of either.
import { TlReader, GZIP_PACKED_ID, type TlDecoder, type TlAnyDecoder } from './runtime/tl-reader.ts'
import { TlWriter, type TlEncoder, type TlAnyEncoder } from './runtime/tl-writer.ts'
import { TlDecodeError, TlEncodeError } from './runtime/tl-errors.ts'
import type { DecodeBudget } from './runtime/decode-budget.ts'
import type { TlValue } from './runtime/tl-value.ts'

/** The exports of one generated `codec.ts`. */
export interface TlCodecModule {
  LAYER: number | null
  decoders: ReadonlyMap<number, TlDecoder>
  encoders: ReadonlyMap<string, TlEncoder>
  resultReaders: ReadonlyMap<string, TlAnyDecoder | null>
  resultWriters: ReadonlyMap<string, TlAnyEncoder | null>
  typeReaders: ReadonlyMap<string, TlDecoder>
  typeWriters: ReadonlyMap<string, TlEncoder>
}

function joinMaps<K, V>(maps: ReadonlyMap<K, V>[]): Map<K, V> {
  const out = new Map<K, V>()
  for (const m of maps) for (const [k, v] of m) if (!out.has(k)) out.set(k, v)
  return out
}

export class TlCodec {
  /** The API layer of this codec (the first module that has one). */
  readonly layer: number
  readonly decoders: ReadonlyMap<number, TlDecoder>
  readonly encoders: ReadonlyMap<string, TlEncoder>
  private readonly resultReaders: ReadonlyMap<string, TlAnyDecoder | null>
  private readonly resultWriters: ReadonlyMap<string, TlAnyEncoder | null>
  private readonly typeReaders: ReadonlyMap<string, TlDecoder>
  private readonly typeWriters: ReadonlyMap<string, TlEncoder>
  private readonly writer: TlWriter

  constructor(...modules: TlCodecModule[]) {
    this.layer = modules.find((m) => m.LAYER !== null)?.LAYER ?? 0
    this.decoders = joinMaps(modules.map((m) => m.decoders))
    this.encoders = joinMaps(modules.map((m) => m.encoders))
    this.resultReaders = joinMaps(modules.map((m) => m.resultReaders))
    this.resultWriters = joinMaps(modules.map((m) => m.resultWriters))
    this.typeReaders = joinMaps(modules.map((m) => m.typeReaders))
    this.typeWriters = joinMaps(modules.map((m) => m.typeWriters))
    this.writer = new TlWriter(this.encoders)
  }

  /** Serializes one boxed object or request. */
  encode(obj: TlValue): Uint8Array {
    const w = this.writer
    w.pos = 0
    w.object(obj)
    return w.take()
  }

  /** Writes into a caller's writer (e.g. a message being assembled). */
  writeObject(w: TlWriter, obj: TlValue): void {
    w.object(obj)
  }

  /** A writer of this codec, for callers that assemble several objects into one buffer. */
  newWriter(capacity?: number): TlWriter {
    return new TlWriter(this.encoders, capacity)
  }

  /** `budget`: what the packet `bytes` belong to may still inflate (one per received packet); a new one if absent. */
  reader(bytes: Uint8Array, start = 0, end = bytes.length, budget?: DecodeBudget): TlReader {
    return new TlReader(this.decoders, bytes, start, end, 0, budget)
  }

  /** Deserializes a buffer that holds exactly one boxed object (gzip_packed is unpacked). */
  decode(bytes: Uint8Array, budget?: DecodeBudget): TlValue {
    const r = this.reader(bytes, 0, bytes.length, budget)
    const v = r.object()
    r.expectEnd()
    return v
  }

  /** Reads one boxed value of a named type (`auth.SentCode`), checking the constructor belongs to it. */
  decodeType(typeName: string, bytes: Uint8Array): TlValue {
    const read = this.typeReaders.get(typeName)
    if (!read) throw new TlDecodeError('unknown-constructor', 0, `type ${typeName} is not in layer ${this.layer}`)
    const r = this.reader(bytes)
    const v = read(r)
    r.expectEnd()
    return v
  }

  encodeType(typeName: string, obj: TlValue): Uint8Array {
    const write = this.typeWriters.get(typeName)
    if (!write) throw new TlEncodeError(typeName, `type is not in layer ${this.layer}`)
    const w = this.writer
    w.pos = 0
    write(w, obj)
    return w.take()
  }

  /** Whether this codec knows a method (so an unknown one can be answered with an error, not a crash). */
  hasMethod(name: string): boolean {
    return this.resultReaders.has(name)
  }

  /** The innermost request of wrappers like invokeWithLayer(initConnection(query)). */
  innerRequest(request: TlValue): TlValue {
    let req = request
    while (this.resultReaders.get(req._) === null) req = req['query'] as TlValue
    return req
  }

  /** Reads the result of `request` (e.g. the body of an rpc_result), unpacking gzip_packed. */
  readResult(request: TlValue, r: TlReader): unknown {
    const inner = this.innerRequest(request)
    const read = this.resultReaders.get(inner._)
    if (!read) throw new TlDecodeError('unknown-constructor', r.pos, `no result reader for method ${inner._}`)
    if (r.peekUint() === GZIP_PACKED_ID) {
      r.uint()
      return r.gunzipped(read)
    }
    return read(r)
  }

  decodeResult(request: TlValue, bytes: Uint8Array): unknown {
    const r = this.reader(bytes)
    const v = this.readResult(request, r)
    r.expectEnd()
    return v
  }

  /** Writes the result of `request` (what a server puts in rpc_result). */
  encodeResult(request: TlValue, result: unknown): Uint8Array {
    const inner = this.innerRequest(request)
    const write = this.resultWriters.get(inner._)
    if (!write) throw new TlEncodeError(inner._, 'no result writer for this method')
    const w = this.writer
    w.pos = 0
    write(w, result)
    return w.take()
  }
}
