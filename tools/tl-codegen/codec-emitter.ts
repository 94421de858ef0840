// Emits one specialised decoder and encoder per constructor of a schema, per-type readers/writers that
// switch on the constructor id/name, and result readers for methods. Nothing of the schema is interpreted
// at run time: the emitted code is straight-line reads and writes.
import type { TlArg, TlEntry, TlSchema, TlTypeRef } from '../../src/mtproto/tl/schema/tl-schema-parser.ts'
import { fieldName, identOf } from '../../src/mtproto/tl/tl-names.ts'

const hex = (id: number): string => `0x${id.toString(16).padStart(8, '0')}`
const str = (s: string): string => JSON.stringify(s)
/** Types with more constructors than this are written through a Map lookup instead of a string switch. */
const SWITCH_MAX = 12

export interface EmitOptions {
  /** File name of the schema, for the header. */
  source: string
  /** Import path of the runtime folder from the generated file. */
  runtimeImport: string
}

export function emitCodec(schema: TlSchema, opts: EmitOptions): string {
  const entries = schema.entries.filter((e) => !e.special)
  const byName = new Map(entries.map((e) => [e.name, e]))
  const ctorsOfType = new Map<string, TlEntry[]>()
  for (const e of entries) {
    if (e.kind !== 'class') continue
    const list = ctorsOfType.get(e.type) ?? []
    list.push(e)
    ctorsOfType.set(e.type, list)
  }
  const out: string[] = []
  const helpers = new Map<string, string>() // helper name → code
  const bareWriters = new Set<string>()

  const ctorOfBare = (name: string): TlEntry => {
    const direct = byName.get(name)
    if (direct && direct.kind === 'class') return direct
    const ofType = ctorsOfType.get(name)
    if (ofType?.length === 1) return ofType[0]!
    throw new Error(`bare type ${name} is not a single constructor`)
  }

  const minSize = (t: TlTypeRef, seen = new Set<string>()): number => {
    switch (t.kind) {
      case 'int':
      case 'string':
      case 'bytes':
      case 'Bool':
      case 'vector':
      case 'boxed':
      case 'generic':
      case 'object':
        return 4
      case 'long':
      case 'double':
        return 8
      case 'int128':
        return 16
      case 'int256':
        return 32
      case 'true':
        return 0
      case 'bare': {
        const c = ctorOfBare(t.name)
        if (seen.has(c.name)) return 0
        seen.add(c.name)
        return c.args.reduce((n, a) => n + (a.cond ? 0 : a.isFlags ? 4 : minSize(a.type, seen)), 0)
      }
    }
  }

  // Only types that can contain themselves (directly, or through other types) can nest without bound, so
  // only their readers count depth. Every cycle of the type graph passes through the boxed reader of a type
  // on it (a cycle of bare references only would be an infinite value, and is refused below); `Object` and
  // `!X` fields go through TlReader.object(), which counts depth itself.
  const refsOf = (t: TlTypeRef, out: { ctor: TlEntry | null; type: string }[]): void => {
    if (t.kind === 'vector') refsOf(t.of, out)
    else if (t.kind === 'boxed') out.push({ ctor: null, type: t.name })
    else if (t.kind === 'bare') {
      const c = ctorOfBare(t.name)
      out.push({ ctor: c, type: c.type })
    }
  }
  const refs = new Map<TlEntry, { ctor: TlEntry | null; type: string }[]>()
  for (const ctors of ctorsOfType.values()) {
    for (const c of ctors) {
      const out: { ctor: TlEntry | null; type: string }[] = []
      for (const a of c.args) refsOf(a.type, out)
      refs.set(c, out)
    }
  }
  const isCycle = <T>(scc: T[], next: (n: T) => T[]): boolean => scc.length > 1 || next(scc[0]!).includes(scc[0]!)
  const typeEdges = (type: string): string[] =>
    ctorsOfType.get(type)!.flatMap((c) =>
      refs
        .get(c)!
        .map((x) => x.type)
        .filter((t) => ctorsOfType.has(t)),
    )
  const cyclicTypes = new Set<string>()
  for (const scc of stronglyConnected([...ctorsOfType.keys()], typeEdges)) {
    if (isCycle(scc, typeEdges)) for (const t of scc) cyclicTypes.add(t)
  }
  const bareEdges = (c: TlEntry): TlEntry[] => refs.get(c)!.flatMap((x) => (x.ctor ? [x.ctor] : []))
  for (const scc of stronglyConnected([...refs.keys()], bareEdges)) {
    if (isCycle(scc, bareEdges))
      throw new Error(`${scc.map((c) => c.name).join(', ')} contain themselves through bare fields only`)
  }

  const typeKey = (t: TlTypeRef): string => {
    switch (t.kind) {
      case 'vector':
        return `${t.bare ? 'v' : 'V'}_${typeKey(t.of)}`
      case 'boxed':
      case 'bare':
        return `${t.kind === 'bare' ? 'b' : 'T'}_${identOf(t.name)}`
      case 'generic':
      case 'object':
        return 'obj'
      default:
        return t.kind
    }
  }

  const readExpr = (t: TlTypeRef): string => {
    switch (t.kind) {
      case 'int':
      case 'long':
      case 'double':
      case 'int128':
      case 'int256':
      case 'string':
      case 'bytes':
        return `r.${t.kind}()`
      case 'Bool':
        return 'r.bool()'
      case 'true':
        throw new Error('true is never read')
      case 'generic':
      case 'object':
        return 'r.object()'
      case 'boxed':
        if (!ctorsOfType.has(t.name)) throw new Error(`type ${t.name} has no constructors in ${opts.source}`)
        return `t_${identOf(t.name)}(r)`
      case 'bare':
        return `c_${identOf(ctorOfBare(t.name).name)}(r)`
      case 'vector': {
        const name = `rv_${typeKey(t)}`
        if (!helpers.has(name)) {
          helpers.set(name, '') // reserve first: element readers may need helpers of their own
          const fixed =
            t.of.kind === 'int'
              ? { size: 4, read: (p: string) => `r.dv.getInt32(${p}, true)` }
              : t.of.kind === 'long'
                ? { size: 8, read: (p: string) => `r.longAt(${p})` }
                : t.of.kind === 'double'
                  ? { size: 8, read: (p: string) => `r.dv.getFloat64(${p}, true)` }
                  : null
          // vectorLength checked that n elements of the minimum size fit, which for these is their size.
          if (fixed) {
            helpers.set(
              name,
              `function ${name}(r: TlReader): unknown[] {
  const n = r.vectorLength(${!t.bare}, ${fixed.size})
  const p = r.pos
  const a = new Array<unknown>(n)
  for (let i = 0; i < n; i++) a[i] = ${fixed.read(`p + ${fixed.size} * i`)}
  r.pos = p + ${fixed.size} * n
  return a
}`,
            )
            return `${name}(r)`
          }
          const elem = readExpr(t.of)
          helpers.set(
            name,
            `function ${name}(r: TlReader): unknown[] {
  const n = r.vectorLength(${!t.bare}, ${minSize(t.of)})
  const a = new Array<unknown>(n)
  for (let i = 0; i < n; i++) a[i] = ${elem}
  return a
}`,
          )
        }
        return `${name}(r)`
      }
    }
  }

  const writeStmt = (t: TlTypeRef, x: string, ctor: string): string => {
    switch (t.kind) {
      case 'int':
        return `w.int(${x} as number)`
      case 'long':
        return `w.long(${x} as bigint)`
      case 'double':
        return `w.double(${x} as number)`
      case 'int128':
        return `w.fixed(${x} as Uint8Array, 16, ${str(ctor)})`
      case 'int256':
        return `w.fixed(${x} as Uint8Array, 32, ${str(ctor)})`
      case 'string':
        return `w.string(${x} as string)`
      case 'bytes':
        return `w.bytes(${x} as Uint8Array)`
      case 'Bool':
        return `w.bool(${x} as boolean)`
      case 'true':
        throw new Error('true is never written')
      case 'generic':
      case 'object':
        return `w.object(${x} as TlValue)`
      case 'boxed':
        if (!ctorsOfType.has(t.name)) throw new Error(`type ${t.name} has no constructors in ${opts.source}`)
        return `w_${identOf(t.name)}(w, ${x} as TlValue)`
      case 'bare': {
        const c = ctorOfBare(t.name)
        bareWriters.add(c.name)
        return `eb_${identOf(c.name)}(w, ${x} as TlValue)`
      }
      case 'vector': {
        const name = `wv_${typeKey(t)}`
        if (!helpers.has(name)) {
          helpers.set(name, '')
          const elem = writeStmt(t.of, 'a[i]', ctor)
          helpers.set(
            name,
            `function ${name}(w: TlWriter, a: unknown): void {
  if (!Array.isArray(a)) wrongConstructor(a, 'Vector')
  ${t.bare ? '' : `w.uint(${hex(0x1cb5c415)}) // vector\n  `}w.int(a.length)
  for (let i = 0; i < a.length; i++) ${elem}
}`,
          )
        }
        return `${name}(w, ${x})`
      }
    }
  }

  const local = (a: TlArg): string => `$${fieldName(a.name)}`

  /**
   * How a field is read straight from the buffer inside a run of fixed-size fields (see decoderBody), or null
   * for a field that ends the run. `true` flags take no bytes, so they do not end one.
   */
  const fixedRead = (a: TlArg): { size: number; dv: boolean; read: (p: string) => string } | null => {
    if (a.type.kind === 'true') return { size: 0, dv: false, read: () => '' }
    if (a.cond) return null
    if (a.isFlags || a.type.kind === 'int') return { size: 4, dv: true, read: (p) => `dv.getInt32(${p}, true)` }
    if (a.type.kind === 'long') return { size: 8, dv: false, read: (p) => `r.longAt(${p})` }
    if (a.type.kind === 'double') return { size: 8, dv: true, read: (p) => `dv.getFloat64(${p}, true)` }
    if (a.type.kind === 'Bool') return { size: 4, dv: false, read: (p) => `r.boolAt(${p})` }
    return null
  }
  const flagProp = (a: TlArg): string =>
    `${fieldName(a.name)}: (${local({ ...a, name: a.cond!.field })} & ${hex(2 ** a.cond!.bit)}) !== 0`

  const decoderBody = (e: TlEntry): string => {
    const lines: string[] = []
    const props: string[] = [`_: ${str(e.name)}`]
    // Runs of two or more fixed-size fields are read with one bounds check and one update of r.pos.
    const runAt = new Map<number, TlArg[]>()
    for (let i = 0; i < e.args.length;) {
      let j = i
      while (j < e.args.length && fixedRead(e.args[j]!)) j++
      // A run starts and ends at a field that is read (leading and trailing `true` flags stay outside).
      let start = i
      while (start < j && e.args[start]!.type.kind === 'true') start++
      let end = j
      while (end > start && e.args[end - 1]!.type.kind === 'true') end--
      const run = e.args.slice(start, end)
      if (run.filter((b) => fixedRead(b)!.size > 0).length >= 2) runAt.set(start, run)
      i = j > i ? j : i + 1
    }
    let runs = 0
    let hasDv = false
    for (let i = 0; i < e.args.length; i++) {
      const a = e.args[i]!
      const run = runAt.get(i)
      if (run) {
        const p = `p${runs++}`
        if (!hasDv && run.some((b) => fixedRead(b)!.dv)) {
          lines.push('  const dv = r.dv')
          hasDv = true
        }
        const size = run.reduce((n, b) => n + fixedRead(b)!.size, 0)
        lines.push(`  const ${p} = r.pos`)
        lines.push(`  if (${p} + ${size} > r.end) r.truncated(${size})`)
        let off = 0
        for (const b of run) {
          if (b.type.kind === 'true') {
            props.push(flagProp(b))
            continue
          }
          const f = fixedRead(b)!
          lines.push(`  const ${local(b)} = ${f.read(off ? `${p} + ${off}` : p)}`)
          if (!b.isFlags) props.push(`${fieldName(b.name)}: ${local(b)}`)
          off += f.size
        }
        lines.push(`  r.pos = ${p} + ${size}`)
        i += run.length - 1
        continue
      }
      if (a.isFlags) {
        lines.push(`  const ${local(a)} = r.int()`)
        continue
      }
      const prop = fieldName(a.name)
      if (a.type.kind === 'true') {
        props.push(flagProp(a))
        continue
      }
      const read = readExpr(a.type)
      lines.push(
        a.cond
          ? `  const ${local(a)} = (${local({ ...a, name: a.cond.field })} & ${hex(2 ** a.cond.bit)}) !== 0 ? ${read} : undefined`
          : `  const ${local(a)} = ${read}`,
      )
      props.push(`${prop}: ${local(a)}`)
    }
    return `${lines.join('\n')}${lines.length ? '\n' : ''}  return { ${props.join(', ')} }`
  }

  const encoderBody = (e: TlEntry): string => {
    const lines: string[] = []
    for (const a of e.args) {
      const prop = `v.${fieldName(a.name)}`
      if (a.isFlags) {
        // Fields that share one bit are present together or not at all; anything else cannot be decoded.
        const groups = new Map<number, string[]>()
        for (const b of e.args) {
          if (b.cond?.field !== a.name || b.type.kind === 'true') continue
          groups.set(b.cond.bit, [...(groups.get(b.cond.bit) ?? []), fieldName(b.name)])
        }
        for (const names of groups.values()) {
          if (names.length < 2) continue
          const present = names.map((n) => `(v.${n} != null)`)
          lines.push(
            `  if (${present
              .slice(1)
              .map((p) => `${present[0]} !== ${p}`)
              .join(' || ')}) partialFlagGroup(${str(e.name)}, ${str(names.join(', '))})`,
          )
        }
        const parts = e.args
          .filter((b) => b.cond?.field === a.name)
          .map((b) => {
            const p = `v.${fieldName(b.name)}`
            return b.type.kind === 'true'
              ? `(${p} ? ${hex(2 ** b.cond!.bit)} : 0)`
              : `(${p} != null ? ${hex(2 ** b.cond!.bit)} : 0)`
          })
        lines.push(`  w.int(${parts.length ? parts.join(' | ') : '0'})`)
        continue
      }
      if (a.type.kind === 'true') continue
      if (a.cond) lines.push(`  if (${prop} != null) ${writeStmt(a.type, prop, e.name)}`)
      else
        lines.push(
          `  ${writeStmt(a.type, `(${prop} ?? missingField(${str(e.name)}, ${str(fieldName(a.name))}))`, e.name)}`,
        )
    }
    return lines.join('\n')
  }

  const ctorCode: string[] = []
  for (const e of entries) {
    const id = identOf(e.name)
    ctorCode.push(`function c_${id}(${e.args.length ? 'r' : '_r'}: TlReader): TlValue {\n${decoderBody(e)}\n}`)
    ctorCode.push(
      `function e_${id}(w: TlWriter, ${e.args.length ? 'v' : '_v'}: TlValue): void {\n  w.uint(${hex(e.id)}) // ${e.name}\n${encoderBody(e)}\n}`,
    )
  }
  // Bare writers are known only once every encoder body has been emitted.
  for (const name of bareWriters) {
    const e = byName.get(name)!
    ctorCode.push(`function eb_${identOf(name)}(w: TlWriter, v: TlValue): void {\n${encoderBody(e)}\n}`)
  }

  const typeCode: string[] = []
  for (const [type, ctors] of ctorsOfType) {
    const id = identOf(type)
    if (cyclicTypes.has(type)) {
      typeCode.push(`function t_${id}(r: TlReader): TlValue {
  r.enter()
  const id = r.uint()
  let v: TlValue
  switch (id) {
${ctors.map((c) => `    case ${hex(c.id)}: v = c_${identOf(c.name)}(r); break`).join('\n')}
    default: v = r.unexpected(id, ${str(type)}, t_${id})
  }
  r.depth--
  return v
}`)
    } else {
      typeCode.push(`function t_${id}(r: TlReader): TlValue {
  const id = r.uint()
  switch (id) {
${ctors.map((c) => `    case ${hex(c.id)}: return c_${identOf(c.name)}(r)`).join('\n')}
    default: return r.unexpected(id, ${str(type)}, t_${id})
  }
}`)
    }
    if (ctors.length === 1) {
      const c = ctors[0]!
      typeCode.push(`function w_${id}(w: TlWriter, v: TlValue): void {
  if (v?._ !== ${str(c.name)}) wrongConstructor(v, ${str(type)})
  e_${identOf(c.name)}(w, v)
}`)
    } else if (ctors.length <= SWITCH_MAX) {
      typeCode.push(`function w_${id}(w: TlWriter, v: TlValue): void {
  switch (v?._) {
${ctors.map((c) => `    case ${str(c.name)}: return e_${identOf(c.name)}(w, v)`).join('\n')}
    default: wrongConstructor(v, ${str(type)})
  }
}`)
    } else {
      typeCode.push(`const W_${id} = new Map<string, TlEncoder>([
${ctors.map((c) => `  [${str(c.name)}, e_${identOf(c.name)}],`).join('\n')}
])
function w_${id}(w: TlWriter, v: TlValue): void {
  const e = W_${id}.get(v?._)
  if (e === undefined) wrongConstructor(v, ${str(type)})
  e(w, v)
}`)
    }
  }

  const resultReader = (e: TlEntry): string | null => {
    if (e.typeRef.kind === 'generic') return null
    if (e.typeRef.kind === 'boxed') return `t_${identOf(e.typeRef.name)}`
    return `(r: TlReader) => ${readExpr(e.typeRef)}`
  }

  const resultWriter = (e: TlEntry): string | null => {
    if (e.typeRef.kind === 'generic') return null
    return `(w: TlWriter, v: unknown) => ${writeStmt(e.typeRef, 'v', e.name)}`
  }
  const methods = entries.filter((e) => e.kind === 'method')
  const resultTables = `/** Method name → reader of its result; null for generic methods, whose result is the inner query's. */
export const resultReaders: ReadonlyMap<string, TlAnyDecoder | null> = new Map<string, TlAnyDecoder | null>([
${methods.map((e) => `  [${str(e.name)}, ${resultReader(e)}],`).join('\n')}
])

/** Method name → writer of its result (used by the test DC); null for generic methods. */
export const resultWriters: ReadonlyMap<string, TlAnyEncoder | null> = new Map<string, TlAnyEncoder | null>([
${methods.map((e) => `  [${str(e.name)}, ${resultWriter(e)}],`).join('\n')}
])`

  out.push(
    `// GENERATED by tools/tl-codegen/gen-tl.ts from ${opts.source}. Do not edit: change the schema or the generator.`,
  )
  out.push(`/* eslint-disable */`)
  out.push(`import type { TlReader, TlAnyDecoder, TlDecoder } from '${opts.runtimeImport}/tl-reader.ts'`)
  out.push(
    `import { type TlWriter, type TlEncoder, type TlAnyEncoder, missingField, wrongConstructor, partialFlagGroup } from '${opts.runtimeImport}/tl-writer.ts'`,
  )
  out.push(`import type { TlValue } from '${opts.runtimeImport}/tl-value.ts'`)
  out.push('')
  out.push(`export const LAYER: number | null = ${schema.layer}`)
  out.push('')
  out.push(ctorCode.join('\n\n'))
  out.push('')
  out.push(typeCode.join('\n\n'))
  out.push('')
  out.push([...helpers.values()].join('\n\n'))
  out.push('')
  out.push(`/** Constructor and method id → decoder (the id already read). */
export const decoders: ReadonlyMap<number, TlDecoder> = new Map<number, TlDecoder>([
${entries.map((e) => `  [${hex(e.id)}, c_${identOf(e.name)}],`).join('\n')}
])

/** Constructor and method name → encoder (writes the id too). */
export const encoders: ReadonlyMap<string, TlEncoder> = new Map<string, TlEncoder>([
${entries.map((e) => `  [${str(e.name)}, e_${identOf(e.name)}],`).join('\n')}
])

${resultTables}

/** Type name → reader of one boxed value of that type. */
export const typeReaders: ReadonlyMap<string, TlDecoder> = new Map<string, TlDecoder>([
${[...ctorsOfType.keys()].map((t) => `  [${str(t)}, t_${identOf(t)}],`).join('\n')}
])

/** Type name → writer of one boxed value of that type (checks the constructor belongs to it). */
export const typeWriters: ReadonlyMap<string, TlEncoder> = new Map<string, TlEncoder>([
${[...ctorsOfType.keys()].map((t) => `  [${str(t)}, w_${identOf(t)}],`).join('\n')}
])
`)
  return out.join('\n')
}

/** Tarjan's strongly connected components, iteratively (a schema's type graph is deep enough to matter). */
function stronglyConnected<T>(nodes: T[], next: (n: T) => T[]): T[][] {
  const index = new Map<T, number>()
  const low = new Map<T, number>()
  const onStack = new Set<T>()
  const stack: T[] = []
  const out: T[][] = []
  let counter = 0
  for (const root of nodes) {
    if (index.has(root)) continue
    const work: { node: T; succ: T[]; i: number }[] = []
    const open = (n: T): void => {
      index.set(n, counter)
      low.set(n, counter++)
      stack.push(n)
      onStack.add(n)
      work.push({ node: n, succ: next(n), i: 0 })
    }
    open(root)
    while (work.length) {
      const top = work[work.length - 1]!
      if (top.i < top.succ.length) {
        const m = top.succ[top.i++]!
        if (!index.has(m)) open(m)
        else if (onStack.has(m)) low.set(top.node, Math.min(low.get(top.node)!, index.get(m)!))
        continue
      }
      work.pop()
      if (work.length) {
        const parent = work[work.length - 1]!.node
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!))
      }
      if (low.get(top.node) === index.get(top.node)) {
        const scc: T[] = []
        let m: T
        do {
          m = stack.pop()!
          onStack.delete(m)
          scc.push(m)
        } while (m !== top.node)
        out.push(scc)
      }
    }
  }
  return out
}
