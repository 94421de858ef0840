// One-off import of the TL schemas we keep as data in src/mtproto/tl/schema/.
// Run by hand (`npm run tl:import`) when the pinned layer changes; the output is committed and reviewed.
//
// - api-<layer>.tl  from @mtcute/tl's api-schema.json: the newest layer published as data on npm with the
//   original TL names (teleproto ships a newer layer, but only as a camel-cased generated table that loses the
//   TL spelling, so its constructor ids cannot be re-checked from the definitions).
//   mtcute writes 53-bit ids as `int53`; on the wire that is TL `long`, so it is written back as `long`.
// - api-198.tl      from telegram (GramJS) 2.26.22, the layer third-party clients of our test DC speak.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const outDir = new URL('../src/mtproto/tl/schema/', import.meta.url)

interface JsonArg { name: string; type: string; typeModifiers?: { predicate?: string; isVector?: boolean; isBareVector?: boolean } }
interface JsonEntry {
  kind: 'class' | 'method'; name: string; type: string; id: number; arguments: JsonArg[]
  generics?: { name: string; type: string }[]
  typeModifiers?: { isVector?: boolean } // on methods: the result is Vector<type>
}

// Core constructors the JSON leaves out because every runtime hard-codes them.
const CORE_LINES = [
  'boolFalse#bc799737 = Bool;',
  'boolTrue#997275b5 = Bool;',
  'true#3fedd339 = True;',
  'vector#1cb5c415 {t:Type} # [ t ] = Vector t;',
  'null#56730bcc = Null;',
]

function argToTl(a: JsonArg): string {
  let t = a.type === 'int53' ? 'long' : a.type
  const m = a.typeModifiers ?? {}
  if (m.isVector) t = `Vector<${t}>`
  if (m.isBareVector) t = `vector<${t}>`
  if (m.predicate) t = `${m.predicate}?${t}`
  return `${a.name}:${t}`
}

function entryToTl(e: JsonEntry): string {
  const parts = [`${e.name}#${(e.id >>> 0).toString(16).padStart(8, '0')}`]
  for (const g of e.generics ?? []) parts.push(`{${g.name}:${g.type}}`)
  for (const a of e.arguments) parts.push(argToTl(a))
  const type = e.type === 'int53' ? 'long' : e.type
  return `${parts.join(' ')} = ${e.typeModifiers?.isVector ? `Vector<${type}>` : type};`
}

function importMtcute(): void {
  const pkg = require('@mtcute/tl/package.json') as { version: string }
  const schema = require('@mtcute/tl/api-schema.json') as { l: number; e: JsonEntry[] }
  // mtcute adds a few constructors of its own for old files (`…Legacy`); they are not part of the layer.
  // Also its own `mtcute.*` helper methods.
  const official = schema.e.filter((e) => !e.name.endsWith('Legacy') && !e.name.startsWith('mtcute.'))
  const classes = official.filter((e) => e.kind === 'class').map(entryToTl)
  const methods = official.filter((e) => e.kind === 'method').map(entryToTl)
  const text = [
    `// LAYER ${schema.l}`,
    `// Imported from @mtcute/tl@${pkg.version} api-schema.json by scripts/import-tl-schema.ts (int53 written as long).`,
    ...CORE_LINES,
    ...classes,
    '---functions---',
    ...methods,
    '',
  ].join('\n')
  writeFileSync(new URL(`api-${schema.l}.tl`, outDir), text)
  console.log(`api-${schema.l}.tl: ${classes.length} constructors, ${methods.length} methods`)
}

function importGramjs(): void {
  const pkg = require('telegram/package.json') as { version: string }
  const api = require('telegram/tl/apiTl.js') as string
  const layer = (require('telegram/tl/AllTLObjects.js') as { LAYER: number }).LAYER
  const text = `// LAYER ${layer}\n// Imported from telegram@${pkg.version} tl/apiTl.js by scripts/import-tl-schema.ts.\n${api.trim()}\n`
  writeFileSync(new URL(`api-${layer}.tl`, outDir), text)
  console.log(`api-${layer}.tl: ${text.split('\n').length} lines`)
}

importMtcute()
importGramjs()
readFileSync(new URL('mtproto.tl', outDir)) // written by hand: fail loudly if it is missing
