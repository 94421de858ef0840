// Converts decoded TL values between layers by constructor name, driven by the target layer's schema: the
// target constructor of the same name takes the fields it has (by name), fields it lacks are dropped, fields
// the value lacks are left out when optional and defaulted when required (0, '', empty, false, the type's
// empty constructor), and ids change width where the layers differ (int in old layers, long since 133).
// Flags are not values: the encoder computes them from the fields present. A constructor the target layer does
// not have becomes the constructor of the expected type that shares most of its fields (a newer code type
// becomes an older one, as Telegram answers clients that cannot parse the new one).
import type { TlValue } from './runtime/tl-value.ts'
import type { TlEntry, TlTypeRef } from './schema/tl-schema-parser.ts'
import type { SchemaIndex } from './schema-codec.ts'
import { fieldName } from './tl-names.ts'

export class LayerConversionError extends Error {
  override readonly name = 'LayerConversionError'
}

/**
 * What Telegram sends a client whose layer lacks a constructor, where sharing fields is not enough to tell: code
 * deliveries a client cannot handle arrive as a plain SMS.
 */
const OLDER_FORM: Readonly<Record<string, string>> = {
  'auth.sentCodeTypeFragmentSms': 'auth.sentCodeTypeSms',
  'auth.sentCodeTypeFirebaseSms': 'auth.sentCodeTypeSms',
  'auth.sentCodeTypeSmsWord': 'auth.sentCodeTypeSms',
  'auth.sentCodeTypeSmsPhrase': 'auth.sentCodeTypeSms',
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

export class LayerConverter {
  private readonly defaults = new Map<string, TlEntry | null>()

  constructor(
    /** The schema values are converted into. */
    readonly target: SchemaIndex,
  ) {}

  /** A request (a method call, wrappers included) in the target layer's form. */
  request(req: TlValue): TlValue {
    return this.object(req)
  }

  /** The result of `method` (a method name of the target layer) in the target layer's form. */
  result(method: string, value: unknown): unknown {
    const e = this.target.byName.get(method)
    if (!e || e.kind !== 'method')
      throw new LayerConversionError(`no method ${method} in layer ${this.target.schema.layer}`)
    if (e.typeRef.kind === 'generic') return value
    return this.value(value, e.typeRef)
  }

  /** Any boxed object, converted by its own name (`Object` and `!X` fields, pushed updates). */
  object(v: TlValue): TlValue {
    const e = this.target.byName.get(v._)
    if (!e) return v // not in this schema at all (an MTProto service object, or a method the layer lacks)
    return this.fields(v, e)
  }

  value(v: unknown, t: TlTypeRef): unknown {
    switch (t.kind) {
      case 'int':
        return typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : v
      case 'long':
        return typeof v === 'number' ? BigInt(v) : v
      case 'string':
        return v instanceof Uint8Array ? utf8Decoder.decode(v) : v
      case 'bytes':
        return typeof v === 'string' ? utf8.encode(v) : v
      case 'true':
        return v === true
      case 'generic':
      case 'object':
        return v !== null && typeof v === 'object' && '_' in v ? this.object(v as TlValue) : v
      case 'vector':
        return Array.isArray(v) ? v.map((x) => this.value(x, t.of)) : v
      case 'boxed':
        return this.ofType(v as TlValue, t.name)
      case 'bare':
        return this.fields(v as TlValue, this.target.ctorOfBare(t.name))
      default:
        return v
    }
  }

  private ofType(v: TlValue, type: string): TlValue {
    if (v === null || typeof v !== 'object') return v
    const ctors = this.target.ctorsOfType.get(type)
    if (!ctors) return v
    const same = ctors.find((c) => c.name === v._)
    const older = OLDER_FORM[v._]
    return this.fields(v, same ?? ctors.find((c) => c.name === older) ?? this.closest(v, ctors))
  }

  /** The constructor that keeps most of v's set fields (ties: the one that needs the fewest others). */
  private closest(v: TlValue, ctors: TlEntry[]): TlEntry {
    const have = new Set(Object.keys(v).filter((k) => k !== '_' && v[k] != null && v[k] !== false))
    let best = ctors[0]!
    let bestScore = -Infinity
    for (const c of ctors) {
      const props = c.args.filter((a) => !a.isFlags)
      const kept = props.filter((a) => have.has(fieldName(a.name))).length
      const missing = props.filter((a) => !a.cond && !have.has(fieldName(a.name))).length
      const score = kept * 2 - missing
      if (score > bestScore) {
        best = c
        bestScore = score
      }
    }
    return best
  }

  private fields(v: TlValue, e: TlEntry): TlValue {
    const out: Record<string, unknown> = { _: e.name }
    for (const a of e.args) {
      if (a.isFlags) continue
      const prop = fieldName(a.name)
      const x = v[prop]
      if (x === undefined || x === null) {
        if (a.type.kind === 'true') out[prop] = false
        else if (!a.cond) out[prop] = this.defaultOf(a.type, new Set())
        continue
      }
      out[prop] = this.value(x, a.type)
    }
    return out as TlValue
  }

  /** What a required field holds when the value's layer had no such field. */
  private defaultOf(t: TlTypeRef, seen: Set<string>): unknown {
    switch (t.kind) {
      case 'int':
      case 'double':
        return 0
      case 'long':
        return 0n
      case 'string':
        return ''
      case 'bytes':
        return new Uint8Array(0)
      case 'int128':
        return new Uint8Array(16)
      case 'int256':
        return new Uint8Array(32)
      case 'Bool':
      case 'true':
        return false
      case 'vector':
        return []
      case 'boxed':
      case 'bare': {
        const c = t.kind === 'bare' ? this.target.ctorOfBare(t.name) : this.emptyCtor(t.name)
        if (!c || seen.has(c.name))
          throw new LayerConversionError(`no default for ${t.name} in layer ${this.target.schema.layer}`)
        seen.add(c.name)
        const out: Record<string, unknown> = { _: c.name }
        for (const a of c.args) {
          if (a.isFlags) continue
          if (a.type.kind === 'true') out[fieldName(a.name)] = false
          else if (!a.cond) out[fieldName(a.name)] = this.defaultOf(a.type, seen)
        }
        seen.delete(c.name)
        return out
      }
      default:
        throw new LayerConversionError(`no default for a ${t.kind} field`)
    }
  }

  /** A type's empty constructor (`…Empty`), else the one with the fewest required fields. */
  private emptyCtor(type: string): TlEntry | null {
    if (this.defaults.has(type)) return this.defaults.get(type)!
    const ctors = this.target.ctorsOfType.get(type) ?? []
    const required = (c: TlEntry): number => c.args.filter((a) => !a.isFlags && !a.cond).length
    const pick =
      ctors.find((c) => c.name.endsWith('Empty')) ?? [...ctors].sort((a, b) => required(a) - required(b))[0] ?? null
    this.defaults.set(type, pick)
    return pick
  }
}
