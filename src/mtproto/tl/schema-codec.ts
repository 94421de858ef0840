// A codec built at run time from a parsed schema: one closure per constructor, per type and per field type,
// with the same tables a generated codec.ts exports, so TlCodec joins it with the MTProto module the same way.
// Used for the bundled layers other than the pinned one: ~40 generated codecs would be ~80 MB of TypeScript,
// while building one of these from the schema takes a few milliseconds on first use.
import { VECTOR_ID, type TlReader, type TlAnyDecoder, type TlDecoder } from './runtime/tl-reader.ts'
import {
  missingField,
  partialFlagGroup,
  wrongConstructor,
  type TlAnyEncoder,
  type TlEncoder,
  type TlWriter,
} from './runtime/tl-writer.ts'
import type { TlValue } from './runtime/tl-value.ts'
import type { TlArg, TlEntry, TlSchema, TlTypeRef } from './schema/tl-schema-parser.ts'
import type { TlCodecModule } from './tl-codec.ts'
import { fieldName } from './tl-names.ts'

type Read = (r: TlReader) => unknown
const EMPTY: number[] = []
type Write = (w: TlWriter, v: unknown) => void

interface FieldPlan {
  prop: string
  arg: TlArg
  /** Index of the flags word this field depends on (its own index for a flags field). */
  flagsIndex: number
  mask: number
  read: Read
  write: Write
}

export class SchemaIndex {
  readonly byName = new Map<string, TlEntry>()
  readonly ctorsOfType = new Map<string, TlEntry[]>()

  constructor(readonly schema: TlSchema) {
    for (const e of schema.entries) {
      if (e.special) continue
      this.byName.set(e.name, e)
      if (e.kind === 'class') this.ctorsOfType.set(e.type, [...(this.ctorsOfType.get(e.type) ?? []), e])
    }
  }

  /** The constructor a bare reference names (`%Message`, `future_salt`, or a type with one constructor). */
  ctorOfBare(name: string): TlEntry {
    const direct = this.byName.get(name)
    if (direct?.kind === 'class') return direct
    const ofType = this.ctorsOfType.get(name)
    if (ofType?.length === 1) return ofType[0]!
    throw new Error(`bare type ${name} is not a single constructor`)
  }
}

export function schemaCodecModule(schema: TlSchema): TlCodecModule {
  const index = new SchemaIndex(schema)
  const decoders = new Map<number, TlDecoder>()
  const encoders = new Map<string, TlEncoder>()
  const bareEncoders = new Map<string, TlEncoder>()
  const typeReaders = new Map<string, TlDecoder>()
  const typeWriters = new Map<string, TlEncoder>()

  // Readers and writers refer to each other through these maps, looked up when first called, so
  // recursive types need no ordering.
  const typeReader = (name: string): TlDecoder => {
    let read = typeReaders.get(name)
    if (read) return read
    const byId = new Map<number, TlDecoder>()
    const ctors = index.ctorsOfType.get(name)
    if (!ctors) throw new Error(`type ${name} has no constructors in layer ${schema.layer}`)
    for (const c of ctors) byId.set(c.id, (r) => ctorDecoder(c)(r))
    read = (r) => {
      r.enter()
      const id = r.uint()
      const dec = byId.get(id)
      const v = dec ? dec(r) : r.unexpected(id, name, read!)
      r.depth--
      return v
    }
    typeReaders.set(name, read)
    return read
  }

  const typeWriter = (name: string): TlEncoder => {
    let write = typeWriters.get(name)
    if (write) return write
    const ctors = new Set((index.ctorsOfType.get(name) ?? []).map((c) => c.name))
    if (!ctors.size) throw new Error(`type ${name} has no constructors in layer ${schema.layer}`)
    write = (w, v) => {
      if (!ctors.has(v?._)) wrongConstructor(v, name)
      encoders.get(v._)!(w, v)
    }
    typeWriters.set(name, write)
    return write
  }

  const minSize = (t: TlTypeRef): number => {
    switch (t.kind) {
      case 'long':
      case 'double':
        return 8
      case 'int128':
        return 16
      case 'int256':
        return 32
      case 'true':
      case 'bare':
        return 0
      default:
        return 4
    }
  }

  const readerOf = (t: TlTypeRef): Read => {
    switch (t.kind) {
      case 'int':
        return (r) => r.int()
      case 'long':
        return (r) => r.long()
      case 'double':
        return (r) => r.double()
      case 'int128':
        return (r) => r.int128()
      case 'int256':
        return (r) => r.int256()
      case 'string':
        return (r) => r.string()
      case 'bytes':
        return (r) => r.bytes()
      case 'Bool':
        return (r) => r.bool()
      case 'true':
        return () => true
      case 'generic':
      case 'object':
        return (r) => r.object()
      case 'boxed': {
        let read: TlDecoder | undefined
        return (r) => (read ??= typeReader(t.name))(r)
      }
      case 'bare': {
        let read: TlDecoder | undefined
        return (r) => (read ??= ctorDecoder(index.ctorOfBare(t.name)))(r)
      }
      case 'vector': {
        const elem = readerOf(t.of)
        const boxed = !t.bare
        const size = minSize(t.of)
        return (r) => {
          const n = r.vectorLength(boxed, size)
          const a = new Array<unknown>(n)
          for (let i = 0; i < n; i++) a[i] = elem(r)
          return a
        }
      }
    }
  }

  const writerOf = (t: TlTypeRef): Write => {
    switch (t.kind) {
      case 'int':
        return (w, v) => w.int(v as number)
      case 'long':
        return (w, v) => w.long(v as bigint)
      case 'double':
        return (w, v) => w.double(v as number)
      case 'int128':
        return (w, v) => w.fixed(v as Uint8Array, 16, 'int128')
      case 'int256':
        return (w, v) => w.fixed(v as Uint8Array, 32, 'int256')
      case 'string':
        return (w, v) => w.string(v as string)
      case 'bytes':
        return (w, v) => w.bytes(v as Uint8Array)
      case 'Bool':
        return (w, v) => w.bool(v as boolean)
      case 'true':
        return () => {}
      case 'generic':
      case 'object':
        return (w, v) => w.object(v as TlValue)
      case 'boxed': {
        let write: TlEncoder | undefined
        return (w, v) => (write ??= typeWriter(t.name))(w, v as TlValue)
      }
      case 'bare': {
        let write: TlEncoder | undefined
        return (w, v) => (write ??= bareEncoder(index.ctorOfBare(t.name)))(w, v as TlValue)
      }
      case 'vector': {
        const elem = writerOf(t.of)
        const boxed = !t.bare
        return (w, a) => {
          if (!Array.isArray(a)) wrongConstructor(a, 'Vector')
          if (boxed) w.uint(VECTOR_ID)
          w.int(a.length)
          for (let i = 0; i < a.length; i++) elem(w, a[i])
        }
      }
    }
  }

  const plans = new Map<string, FieldPlan[]>()
  const planOf = (e: TlEntry): FieldPlan[] => {
    let plan = plans.get(e.name)
    if (plan) return plan
    plan = e.args.map((a, i) => ({
      prop: fieldName(a.name),
      arg: a,
      flagsIndex: a.isFlags ? i : a.cond ? e.args.findIndex((b) => b.isFlags && b.name === a.cond!.field) : -1,
      mask: a.cond ? 2 ** a.cond.bit : 0,
      read: a.isFlags ? (r) => r.int() : readerOf(a.type),
      write: a.isFlags ? () => {} : writerOf(a.type),
    }))
    plans.set(e.name, plan)
    return plan
  }

  const decoderCache = new Map<string, TlDecoder>()
  const ctorDecoder = (e: TlEntry): TlDecoder => {
    let dec = decoderCache.get(e.name)
    if (dec) return dec
    const plan = planOf(e)
    const hasFlags = plan.some((f) => f.arg.isFlags)
    dec = (r) => {
      const out: Record<string, unknown> = { _: e.name }
      // Per call: a constructor can contain itself (page blocks, replies), and the inner read must not clobber.
      const flags = hasFlags ? new Array<number>(plan.length) : EMPTY
      for (let i = 0; i < plan.length; i++) {
        const f = plan[i]!
        if (f.arg.isFlags) {
          flags[i] = r.int()
          continue
        }
        if (f.mask !== 0) {
          const on = (flags[f.flagsIndex]! & f.mask) !== 0
          if (f.arg.type.kind === 'true') {
            out[f.prop] = on
            continue
          }
          out[f.prop] = on ? f.read(r) : undefined
          continue
        }
        out[f.prop] = f.read(r)
      }
      return out as TlValue
    }
    decoderCache.set(e.name, dec)
    return dec
  }

  const writeFields = (e: TlEntry, plan: FieldPlan[], w: TlWriter, v: TlValue): void => {
    for (let i = 0; i < plan.length; i++) {
      const f = plan[i]!
      if (f.arg.isFlags) {
        let word = 0
        const groups = new Map<number, boolean>()
        for (const g of plan) {
          if (g.flagsIndex !== i || g.arg.isFlags) continue
          const present = g.arg.type.kind === 'true' ? v[g.prop] === true : v[g.prop] != null
          if (g.arg.type.kind !== 'true') {
            // Fields that share one bit are present together or not at all; anything else cannot be decoded.
            const seen = groups.get(g.mask)
            if (seen !== undefined && seen !== present) partialFlagGroup(e.name, g.prop)
            groups.set(g.mask, present)
          }
          if (present) word |= g.mask
        }
        w.int(word)
        continue
      }
      if (f.arg.type.kind === 'true') continue
      const x = v[f.prop]
      if (f.mask !== 0) {
        if (x != null) f.write(w, x)
        continue
      }
      f.write(w, x ?? missingField(e.name, f.prop))
    }
  }

  const bareEncoder = (e: TlEntry): TlEncoder => {
    let enc = bareEncoders.get(e.name)
    if (!enc) {
      const plan = planOf(e)
      enc = (w, v) => writeFields(e, plan, w, v)
      bareEncoders.set(e.name, enc)
    }
    return enc
  }

  const resultReaders = new Map<string, TlAnyDecoder | null>()
  const resultWriters = new Map<string, TlAnyEncoder | null>()
  for (const e of index.byName.values()) {
    decoders.set(e.id, (r) => ctorDecoder(e)(r))
    let plan: FieldPlan[] | undefined
    encoders.set(e.name, (w, v) => {
      w.uint(e.id)
      writeFields(e, (plan ??= planOf(e)), w, v)
    })
    if (e.kind !== 'method') continue
    if (e.typeRef.kind === 'generic') {
      resultReaders.set(e.name, null)
      resultWriters.set(e.name, null)
    } else {
      resultReaders.set(e.name, readerOf(e.typeRef))
      resultWriters.set(e.name, writerOf(e.typeRef))
    }
  }
  for (const type of index.ctorsOfType.keys()) {
    typeReader(type)
    typeWriter(type)
  }
  return { LAYER: schema.layer, decoders, encoders, resultReaders, resultWriters, typeReaders, typeWriters }
}
