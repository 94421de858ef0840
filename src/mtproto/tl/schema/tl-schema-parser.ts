// Parses TL schema text into a small typed model that the code generator, the tests and the test DC share.
// Every constructor id is checked against the CRC32 of its normalised definition: a schema that was typed or
// imported wrong fails here, loudly, instead of producing bytes Telegram would reject.
import { crc32 } from 'node:zlib'

/** A type as written in a field: primitives, vectors, boxed/bare references, and the generic `!X`. */
export type TlTypeRef =
  | { kind: 'int' | 'long' | 'int128' | 'int256' | 'double' | 'string' | 'bytes' | 'Bool' | 'true' }
  | { kind: 'vector'; bare: boolean; of: TlTypeRef }
  | { kind: 'boxed'; name: string }
  | { kind: 'bare'; name: string }
  | { kind: 'generic'; name: string }
  | { kind: 'object' }

export interface TlArg {
  name: string
  /** `#`: a flags word whose bits say which later fields are present. */
  isFlags: boolean
  type: TlTypeRef
  /** Present when the field is conditional: `flags2.3?string` → { field: 'flags2', bit: 3 }. */
  cond?: { field: string; bit: number }
}

export interface TlEntry {
  kind: 'class' | 'method'
  name: string
  id: number
  args: TlArg[]
  /** Result type for methods, the union type for classes (e.g. `auth.SentCode`, `Vector<long>`, `X`). */
  type: string
  typeRef: TlTypeRef
  generics: string[]
  /** Set on lines the codec handles itself (rpc_result, msg_container, gzip_packed): no generated code. */
  special: boolean
  line: string
}

export interface TlSchema {
  layer: number | null
  entries: TlEntry[]
}

export class TlSchemaError extends Error {
  constructor(
    message: string,
    readonly lineNumber: number,
  ) {
    super(`${message} (line ${lineNumber})`)
    this.name = 'TlSchemaError'
  }
}

const PRIMITIVES = new Set(['int', 'long', 'int128', 'int256', 'double', 'string', 'bytes', 'Bool', 'true'])
// Built into every TL runtime and never generated: vector is how Vector<T> is framed.
const BUILTIN_NAMES = new Set(['vector'])

/** The text a constructor id is the CRC32 of (core.telegram.org/mtproto/TL-abstract-types, "crc32 of the combinator"). */
export function normalizeForCrc(line: string): string {
  return line
    .replace(/#[0-9a-f]{1,8}(?=\s|$)/i, '')
    .replace(/;\s*$/, '')
    .replace(/(:|\?)bytes\b/g, '$1string')
    .replace(/</g, ' ')
    .replace(/[>{}]/g, '')
    .replace(/ \w+:flags\d*\.\d+\?true\b/g, '')
    .replace(/\s+/g, ' ')
    .trim()
}

export function parseTypeRef(text: string, generics: readonly string[]): TlTypeRef {
  if (text.startsWith('!')) {
    const name = text.slice(1)
    if (!generics.includes(name)) throw new Error(`unknown generic ${text}`)
    return { kind: 'generic', name }
  }
  if (generics.includes(text)) return { kind: 'generic', name: text }
  const vec = /^(Vector|vector)<(.+)>$/.exec(text)
  if (vec) return { kind: 'vector', bare: vec[1] === 'vector', of: parseTypeRef(vec[2]!, generics) }
  if (PRIMITIVES.has(text)) return { kind: text } as TlTypeRef
  if (text === 'Object') return { kind: 'object' }
  if (text.startsWith('%')) return { kind: 'bare', name: text.slice(1) }
  const last = text.slice(text.lastIndexOf('.') + 1)
  // A lowercase type name is a bare constructor (e.g. `vector<future_salt>`).
  if (last[0] === last[0]!.toLowerCase()) return { kind: 'bare', name: text }
  return { kind: 'boxed', name: text }
}

const LINE_RE = /^([\w.]+)#([0-9a-f]{1,8})((?:\s+\{\w+:Type\})*)((?:\s+[\w]+:[\w.<>!#?%]+)*)\s*=\s*([\w.<>% ]+);$/i

export function parseTlSchema(text: string): TlSchema {
  const entries: TlEntry[] = []
  let kind: TlEntry['kind'] = 'class'
  let layer: number | null = null
  let special = false
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim()
    const lineNumber = i + 1
    if (raw === '') continue
    if (raw.startsWith('//')) {
      const layerMatch = /^\/\/\s*LAYER\s+(\d+)/.exec(raw)
      if (layerMatch) layer = Number(layerMatch[1])
      if (/^\/\/\s*special\b/.test(raw)) special = true
      continue
    }
    if (raw === '---functions---') { kind = 'method'; continue }
    if (raw === '---types---') { kind = 'class'; continue }
    const m = LINE_RE.exec(raw)
    if (!m) {
      // The vector combinator and id-less helper lines are not constructors we generate code for.
      if (raw.startsWith('vector#') || !/#[0-9a-f]+\s/i.test(raw)) { special = false; continue }
      throw new TlSchemaError(`cannot parse TL line: ${raw.slice(0, 80)}`, lineNumber)
    }
    const [, name, hexId, genericText, argText, resultText] = m as unknown as [string, string, string, string, string, string]
    const id = parseInt(hexId, 16) >>> 0
    const expected = crc32(normalizeForCrc(raw)) >>> 0
    // Special lines use notation (`%Message`) that is not part of their CRC; they are checked by their tests.
    if (id !== expected && !special) {
      throw new TlSchemaError(
        `constructor id mismatch for ${name}: schema says ${hexId}, CRC32 of the definition is ${expected.toString(16).padStart(8, '0')}`,
        lineNumber,
      )
    }
    if (BUILTIN_NAMES.has(name)) { special = false; continue }
    const generics = [...genericText.matchAll(/\{(\w+):Type\}/g)].map((g) => g[1]!)
    const args: TlArg[] = []
    for (const token of argText.trim().split(/\s+/).filter(Boolean)) {
      const colon = token.indexOf(':')
      const argName = token.slice(0, colon)
      let typeText = token.slice(colon + 1)
      if (typeText === '#') { args.push({ name: argName, isFlags: true, type: { kind: 'int' } }); continue }
      let cond: TlArg['cond']
      const condMatch = /^(\w+)\.(\d+)\?(.+)$/.exec(typeText)
      if (condMatch) {
        const field = condMatch[1]!
        if (!args.some((a) => a.isFlags && a.name === field)) throw new TlSchemaError(`${name}.${argName} uses unknown flags field ${field}`, lineNumber)
        cond = { field, bit: Number(condMatch[2]) }
        typeText = condMatch[3]!
      }
      let type: TlTypeRef
      try { type = parseTypeRef(typeText, generics) } catch (err) { throw new TlSchemaError(`${name}.${argName}: ${(err as Error).message}`, lineNumber) }
      if (type.kind === 'true' && !cond) throw new TlSchemaError(`${name}.${argName}: a true field must be conditional`, lineNumber)
      args.push({ name: argName, isFlags: false, type, ...(cond ? { cond } : {}) })
    }
    const type = resultText.trim()
    entries.push({
      kind, name, id, args, type, generics, special, line: raw,
      typeRef: parseTypeRef(type.replace(/^Vector (.+)$/, 'Vector<$1>'), generics),
    })
    special = false
  }
  return { layer, entries }
}

/** Merges schemas (mtproto + api layer); a name or id defined twice with different ids is an error. */
export function mergeSchemas(...schemas: TlSchema[]): TlSchema {
  const byName = new Map<string, TlEntry>()
  const byId = new Map<number, TlEntry>()
  let layer: number | null = null
  for (const s of schemas) {
    layer ??= s.layer
    for (const e of s.entries) {
      const sameId = byId.get(e.id)
      if (sameId && sameId.name !== e.name) throw new Error(`constructor id ${e.id.toString(16)} is both ${sameId.name} and ${e.name}`)
      if (byName.has(e.name)) continue
      byName.set(e.name, e)
      byId.set(e.id, e)
    }
  }
  return { layer, entries: [...byName.values()] }
}
