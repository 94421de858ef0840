// Builds sample values for any constructor of a parsed schema, deterministically, with every optional field
// set ('all') or unset ('none'). The shape matches what the decoder produces (every key present), so a
// round trip can be compared with deepStrictEqual.
import { existsSync, readFileSync } from 'node:fs'
import {
  parseTlSchema,
  type TlEntry,
  type TlSchema,
  type TlTypeRef,
} from '../../src/mtproto/tl/schema/tl-schema-parser.ts'
import { fieldName } from '../../src/mtproto/tl/tl-names.ts'
import { layerSchema, type TlValue } from '../../src/mtproto/tl/index.ts'

export type OptionalMode = 'all' | 'none'

/** A schema file of src/mtproto/tl/schema/, or `api-<N>.tl` of a bundled layer (from the ledger). */
export function loadSchema(file: string): TlSchema {
  const url = new URL(`../../src/mtproto/tl/schema/${file}`, import.meta.url)
  const layer = /^api-(\d+)\.tl$/.exec(file)
  if (!existsSync(url) && layer) return layerSchema(Number(layer[1])).schema
  return parseTlSchema(readFileSync(url, 'utf8'))
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const STRINGS = ['', 'abc', 'Привет, мир 👋', 'x'.repeat(300), 'phone_code_hash', 'ünïcödé']

export class TlSampleFactory {
  private readonly ctorsOfType = new Map<string, TlEntry[]>()
  private readonly byName = new Map<string, TlEntry>()
  private readonly cost = new Map<string, number>()
  private rand: () => number

  constructor(
    readonly schema: TlSchema,
    seed = 1,
    private readonly maxDepth = 3,
  ) {
    this.rand = prng(seed)
    for (const e of schema.entries) {
      if (e.special) continue
      this.byName.set(e.name, e)
      if (e.kind === 'class') this.ctorsOfType.set(e.type, [...(this.ctorsOfType.get(e.type) ?? []), e])
    }
  }

  /** How many nested required objects a constructor needs at least (to end recursion on deep levels). */
  private ctorCost(e: TlEntry, stack = new Set<string>()): number {
    const known = this.cost.get(e.name)
    if (known !== undefined) return known
    if (stack.has(e.name)) return 1000
    stack.add(e.name)
    let c = 0
    for (const a of e.args) {
      if (a.cond || a.isFlags) continue
      if (a.type.kind === 'boxed')
        c += 1 + Math.min(...(this.ctorsOfType.get(a.type.name) ?? []).map((x) => this.ctorCost(x, stack)))
      if (a.type.kind === 'bare') c += 1
    }
    stack.delete(e.name)
    this.cost.set(e.name, c)
    return c
  }

  private int(): number {
    return (this.rand() * 2 ** 32) | 0
  }

  private bytes(n: number): Uint8Array {
    const b = new Uint8Array(n)
    for (let i = 0; i < n; i++) b[i] = (this.rand() * 256) | 0
    return b
  }

  value(t: TlTypeRef, mode: OptionalMode, depth: number): unknown {
    switch (t.kind) {
      case 'int':
        return this.int()
      case 'long':
        return BigInt.asIntN(64, (BigInt(this.int() >>> 0) << 32n) | BigInt(this.int() >>> 0))
      case 'double':
        return Math.round(this.int() / 7) / 8
      case 'int128':
        return this.bytes(16)
      case 'int256':
        return this.bytes(32)
      case 'string':
        return STRINGS[(this.rand() * STRINGS.length) | 0]
      case 'bytes':
        return this.bytes([0, 1, 3, 4, 253, 254, 300][(this.rand() * 7) | 0]!)
      case 'Bool':
        return this.rand() < 0.5
      case 'true':
        return mode === 'all'
      case 'generic':
        return {
          _: this.byName.has('help.getConfig') ? 'help.getConfig' : 'ping',
          ...(this.byName.has('help.getConfig') ? {} : { pingId: 1n }),
        }
      case 'object':
        return { _: 'boolTrue' }
      case 'vector':
        return depth >= this.maxDepth ? [] : [this.value(t.of, mode, depth + 1), this.value(t.of, mode, depth + 1)]
      case 'bare': {
        const e = this.byName.get(t.name) ?? this.ctorsOfType.get(t.name)![0]!
        return this.sample(e, mode, depth + 1)
      }
      case 'boxed': {
        const ctors = this.ctorsOfType.get(t.name)!
        const pick =
          depth >= this.maxDepth
            ? ctors.reduce((best, c) => (this.ctorCost(c) < this.ctorCost(best) ? c : best))
            : ctors[(this.rand() * ctors.length) | 0]!
        return this.sample(pick, mode, depth + 1)
      }
    }
  }

  sample(e: TlEntry, mode: OptionalMode, depth = 0): TlValue {
    const v: Record<string, unknown> = { _: e.name }
    for (const a of e.args) {
      if (a.isFlags) continue
      const name = fieldName(a.name)
      if (a.type.kind === 'true') v[name] = mode === 'all'
      else if (a.cond && mode === 'none') v[name] = undefined
      else v[name] = this.value(a.type, depth >= this.maxDepth + 2 ? 'none' : mode, depth)
    }
    return v as TlValue
  }

  entries(): TlEntry[] {
    return [...this.byName.values()]
  }
}
