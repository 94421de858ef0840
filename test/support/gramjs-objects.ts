// Turns one of our TL values into the equivalent GramJS (`telegram`) object, to compare bytes with a
// third-party serializer. GramJS spells fields by its own rule and keeps 128/256-bit ints as big-integers.
import { createRequire } from 'node:module'
import type { TlValue } from '../../src/mtproto/tl/index.ts'

const require = createRequire(import.meta.url)

interface GramjsObject {
  getBytes(): Buffer
}
type GramjsClass = new (args: Record<string, unknown>) => GramjsObject
interface BigIntegerModule {
  (v: string): unknown
}

export const gramjs = require('telegram') as { Api: Record<string, unknown> }
const bigInt = require('big-integer') as BigIntegerModule
export const GRAMJS_LAYER = (require('telegram/tl/AllTLObjects.js') as { LAYER: number }).LAYER

/** GramJS: `phone_code_hash` → `phoneCodeHash`, but only letters after `_` are folded. */
export function gramjsFieldName(tlName: string): string {
  return tlName.replace(/_[a-z]/g, (g) => g[1]!.toUpperCase())
}

function gramjsClass(ctorName: string): GramjsClass {
  const parts = ctorName.split('.')
  const name = parts.pop()!
  const className = name.replace(/(?:^|_)([a-z])/g, (_, g: string) => g.toUpperCase()).replace(/_/g, '')
  let scope: Record<string, unknown> = gramjs.Api
  for (const ns of parts) scope = scope[ns] as Record<string, unknown>
  const cls = scope[className]
  if (typeof cls !== 'function') throw new Error(`GramJS has no class for ${ctorName}`)
  return cls as GramjsClass
}

function leSignedToBigInt(bytes: Uint8Array): bigint {
  let v = 0n
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!)
  return BigInt.asIntN(bytes.length * 8, v)
}

/** `fields` maps our camelCase field names back to TL names (from the schema). */
export function toGramjs(
  v: unknown,
  tlFieldOf: (ctor: string, field: string) => { tlName: string; type: string },
): unknown {
  if (Array.isArray(v)) return v.map((x) => toGramjs(x, tlFieldOf))
  if (typeof v === 'bigint') return bigInt(v.toString())
  if (v instanceof Uint8Array) return Buffer.from(v)
  if (v === null || typeof v !== 'object') return v
  const obj = v as TlValue
  const args: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(obj)) {
    if (key === '_' || value === undefined) continue
    const { tlName, type } = tlFieldOf(obj._, key)
    args[gramjsFieldName(tlName)] =
      (type === 'int128' || type === 'int256') && value instanceof Uint8Array
        ? bigInt(leSignedToBigInt(value).toString())
        : toGramjs(value, tlFieldOf)
  }
  const Cls = gramjsClass(obj._)
  return new Cls(args)
}

export function gramjsBytes(
  v: TlValue,
  tlFieldOf: (ctor: string, field: string) => { tlName: string; type: string },
): Buffer {
  return (toGramjs(v, tlFieldOf) as GramjsObject).getBytes()
}
