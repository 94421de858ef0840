// Emits the TypeScript types of a schema: one interface per constructor (`_` is the discriminant), a union
// per type, request interfaces per method, and the method → result map that makes `invoke` typed.
import type { TlEntry, TlSchema, TlTypeRef } from '../../src/mtproto/tl/schema/tl-schema-parser.ts'
import { fieldName, splitNamespace, upperFirst } from '../../src/mtproto/tl/tl-names.ts'

export interface TypesOptions {
  source: string
  /** The namespace everything is emitted into (`tl` for the API, `mt` for MTProto service types). */
  root: string
}

const pascal = (s: string): string => upperFirst(fieldName(s))

export function emitTypes(schema: TlSchema, opts: TypesOptions): string {
  const { root } = opts
  const entries = schema.entries.filter((e) => !e.special)
  const ctorsOfType = new Map<string, TlEntry[]>()
  const classByName = new Map<string, TlEntry>()
  for (const e of entries) {
    if (e.kind !== 'class') continue
    classByName.set(e.name, e)
    ctorsOfType.set(e.type, [...(ctorsOfType.get(e.type) ?? []), e])
  }
  const qualified = (ns: string | null, name: string): string => `${root}.${ns ? `${ns}.` : ''}${name}`
  const rawName = (e: TlEntry): { ns: string | null; name: string } => {
    const { ns, name } = splitNamespace(e.name)
    return { ns, name: `Raw${pascal(name)}${e.kind === 'method' ? 'Request' : ''}` }
  }
  const typeName = (t: string): { ns: string | null; name: string } => {
    const { ns, name } = splitNamespace(t)
    return { ns, name: `Type${pascal(name)}` }
  }

  const tsType = (t: TlTypeRef): string => {
    switch (t.kind) {
      case 'int':
      case 'double':
        return 'number'
      case 'long':
        return 'bigint'
      case 'int128':
      case 'int256':
      case 'bytes':
        return 'Uint8Array'
      case 'string':
        return 'string'
      case 'Bool':
      case 'true':
        return 'boolean'
      case 'generic':
        return `${root}.TlMethod`
      case 'object':
        return 'TlValue'
      case 'vector': {
        const inner = tsType(t.of)
        return /[ |]/.test(inner) ? `(${inner})[]` : `${inner}[]`
      }
      case 'boxed': {
        const n = typeName(t.name)
        return qualified(n.ns, n.name)
      }
      case 'bare': {
        const c = classByName.get(t.name) ?? ctorsOfType.get(t.name)?.[0]
        if (!c) throw new Error(`bare type ${t.name} unknown`)
        const n = rawName(c)
        return qualified(n.ns, n.name)
      }
    }
  }

  // namespace → lines
  const spaces = new Map<string | null, string[]>()
  const emit = (ns: string | null, text: string): void => {
    spaces.set(ns, [...(spaces.get(ns) ?? []), text])
  }
  const seen = new Map<string, string>()
  const claim = (ns: string | null, name: string, by: string): void => {
    const key = `${ns}.${name}`
    const other = seen.get(key)
    if (other) throw new Error(`TS name ${key} is used by both ${other} and ${by}`)
    seen.set(key, by)
  }

  for (const e of entries) {
    const n = rawName(e)
    claim(n.ns, n.name, e.name)
    const fields: string[] = [`_: '${e.name}'`]
    const props = new Set<string>()
    for (const a of e.args) {
      if (a.isFlags) continue
      const prop = fieldName(a.name)
      if (props.has(prop)) throw new Error(`${e.name}: two fields named ${prop}`)
      props.add(prop)
      fields.push(`${prop}${a.cond ? '?' : ''}: ${tsType(a.type)}`)
    }
    emit(
      n.ns,
      `/** ${e.kind === 'method' ? 'Method' : 'Constructor'} \`${e.line.replace(/\*\//g, '* /')}\` */\nexport interface ${n.name} {\n  ${fields.join('\n  ')}\n}`,
    )
  }
  for (const [type, ctors] of ctorsOfType) {
    const n = typeName(type)
    claim(n.ns, n.name, type)
    emit(
      n.ns,
      `export type ${n.name} = ${ctors
        .map((c) => {
          const r = rawName(c)
          return qualified(r.ns, r.name)
        })
        .join(' | ')}`,
    )
  }

  const methods = entries.filter((e) => e.kind === 'method')
  const classes = entries.filter((e) => e.kind === 'class')
  const q = (e: TlEntry): string => {
    const r = rawName(e)
    return qualified(r.ns, r.name)
  }
  emit(
    null,
    `/** Every constructor of the schema. */\nexport type TlObject = ${classes.map(q).join('\n  | ') || 'never'}`,
  )
  emit(
    null,
    `/** Every method of the schema, as a request object. */\nexport type TlMethod = ${methods.map(q).join('\n  | ') || 'never'}`,
  )
  emit(
    null,
    `/** Method name → its request and result types; generic methods (\`!X\`) resolve through RpcResultOf. */
export interface RpcMethods {
${methods.map((m) => `  '${m.name}': { request: ${q(m)}; result: ${m.typeRef.kind === 'generic' ? 'unknown' : tsType(m.typeRef)} }`).join('\n')}
}`,
  )
  const generic = methods.filter((m) => m.typeRef.kind === 'generic').map((m) => `'${m.name}'`)
  emit(
    null,
    `/** The result type of a request, following wrappers such as invokeWithLayer(initConnection(query)). */
export type RpcResultOf<T extends TlMethod> = T extends { _: ${generic.join(' | ') || 'never'}; query: infer Q extends TlMethod }
  ? RpcResultOf<Q>
  : RpcMethods[T['_']]['result']`,
  )

  const blocks: string[] = []
  for (const [ns, lines] of [...spaces].sort(([a], [b]) => (a === null ? -1 : b === null ? 1 : a.localeCompare(b)))) {
    const body = lines.join('\n\n')
    blocks.push(ns === null ? body : `export namespace ${ns} {\n${body.replace(/^/gm, '  ')}\n}`)
  }
  return `// GENERATED by tools/tl-codegen/gen-tl.ts from ${opts.source}. Do not edit: change the schema or the generator.
/* eslint-disable */
import type { TlValue } from '../../runtime/tl-value.ts'

export namespace ${root} {
${blocks.join('\n\n').replace(/^(?=.)/gm, '  ')}
}
`
}
