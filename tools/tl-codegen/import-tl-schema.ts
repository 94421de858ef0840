// `npm run tl:import`: brings TL schemas into src/mtproto/tl/schema/ (run by hand; the output is committed and
// reviewed).
//
//   npm run tl:import                     the pinned layer (api-<L>.tl) from the installed @mtcute/tl, and the
//                                         installed @mtcute/tl and telegram (GramJS) layers into the ledger
//   npm run tl:import -- <source>…        one layer per source into the ledger (api-layers.tl); a source is
//     - a GramJS schema: tl/static/api.tl (`// LAYER N` line) or tl/apiTl.js (layer from AllTLObjects.js
//       beside it), or a `telegram` package directory or `npm pack` tarball;
//     - an mtcute schema: api-schema.json (@mtcute/tl; @mtcute/core carries one in tl/), or such a package
//       directory or tarball.
//   --layer N overrides the layer a source says it is; --source TEXT names where it came from (e.g. a
//   repository commit, for a schema file taken from a client's git history).
//
// Every line is checked against its CRC32 (tl-schema-parser) before it goes in. mtcute writes 53-bit ids as
// `int53`; on the wire that is TL `long`, so it is written back as `long`.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { parseTlSchema } from '../../src/mtproto/tl/schema/tl-schema-parser.ts'
import { formatLedger, parseLedger, putLayer, type LayerLedger } from '../../src/mtproto/tl/layer-ledger.ts'

const require = createRequire(import.meta.url)
const schemaDir = new URL('../../src/mtproto/tl/schema/', import.meta.url)
const ledgerFile = new URL('api-layers.tl', schemaDir)

export const LEDGER_HEADER = [
  'Bundled TL API layers (see src/mtproto/tl/layer-ledger.ts for the format). Written by `npm run tl:import`;',
  'do not edit by hand. The test DC serves each client the bundled layer nearest below the one it announces.',
]

interface JsonArg {
  name: string
  type: string
  typeModifiers?: { predicate?: string; isVector?: boolean; isBareVector?: boolean }
}
interface JsonEntry {
  kind: 'class' | 'method'
  name: string
  type: string
  id: number
  arguments: JsonArg[]
  generics?: { name: string; type: string }[]
  typeModifiers?: { isVector?: boolean } // on methods: the result is Vector<type>
}

interface ImportedLayer {
  layer: number
  text: string
  source: string
}

// Core constructors the JSON leaves out because every runtime hard-codes them.
const CORE_LINES = [
  'boolFalse#bc799737 = Bool;',
  'boolTrue#997275b5 = Bool;',
  'true#3fedd339 = True;',
  'vector#1cb5c415 {t:Type} # [ t ] = Vector t;',
  'null#56730bcc = Null;',
]

/** mtcute's own wrappers (invokeWithBusinessConnectionPrefix…): prefixes it writes itself, not Telegram methods. */
const MTCUTE_PREFIXES = /^invokeWith\w+Prefix$/
const CONFIG_SIMPLE = new Set(['ipPort', 'ipPortSecret', 'accessPointRule', 'help.configSimple'])

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

/** An mtcute api-schema.json as TL text. */
export function mtcuteJsonToTl(schema: { l: number; e: JsonEntry[] }, source: string): string {
  // mtcute adds a few constructors of its own for old files (`…Legacy`) and `mtcute.*` helper methods; they
  // are not part of the layer.
  // Older releases also carry help.configSimple's own little schema (ipPort, accessPointRule…), which is
  // served out of band (DNS/HTTPS) and whose ids are not CRCs of these lines.
  const official = schema.e.filter(
    (e) =>
      !e.name.endsWith('Legacy') &&
      !e.name.startsWith('mtcute.') &&
      !CONFIG_SIMPLE.has(e.name) &&
      !MTCUTE_PREFIXES.test(e.name),
  )
  return [
    `// LAYER ${schema.l}`,
    `// Imported from ${source} by tools/tl-codegen/import-tl-schema.ts (int53 written as long).`,
    ...CORE_LINES,
    ...official.filter((e) => e.kind === 'class').map(entryToTl),
    '---functions---',
    ...official.filter((e) => e.kind === 'method').map(entryToTl),
    '',
  ].join('\n')
}

function packageVersion(dir: string): string | null {
  const f = join(dir, 'package.json')
  if (!existsSync(f)) return null
  const pkg = JSON.parse(readFileSync(f, 'utf8')) as { name: string; version: string }
  return `${pkg.name}@${pkg.version}`
}

/** Reads one layer from a file, a package directory or an npm tarball. */
export function readSource(path: string, layerOverride?: number): ImportedLayer {
  if (path.endsWith('.tgz')) {
    const tmp = mkdtempSync(join(tmpdir(), 'tl-import-'))
    try {
      execFileSync('tar', ['xzf', path, '-C', tmp])
      return readSource(join(tmp, 'package'), layerOverride)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  }
  if (statSync(path).isDirectory()) {
    const pkg = packageVersion(path) ?? basename(path)
    for (const rel of [
      'api-schema.json',
      'tl/api-schema.json',
      'tl/static/api.tl',
      'gramjs/tl/static/api.tl',
      'tl/apiTl.js',
    ]) {
      const f = join(path, rel)
      if (existsSync(f)) return { ...readSource(f, layerOverride), source: `${pkg} ${rel}` }
    }
    throw new Error(`${path}: no api-schema.json, tl/api-schema.json, tl/static/api.tl or tl/apiTl.js inside`)
  }
  const pkg =
    packageVersion(dirname(path)) ??
    packageVersion(dirname(dirname(path))) ??
    packageVersion(dirname(dirname(dirname(path))))
  const source = pkg ? `${pkg} ${basename(path)}` : basename(path)
  if (path.endsWith('.json')) {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { l: number; e: JsonEntry[] }
    const layer = layerOverride ?? json.l
    return { layer, text: mtcuteJsonToTl({ ...json, l: layer }, source), source }
  }
  let text: string
  let layer: number | undefined = layerOverride
  if (path.endsWith('.js')) {
    // GramJS 2.x ships the schema as a CommonJS string module; its layer is in AllTLObjects.js beside it.
    text = require(path) as string
    const all = join(dirname(path), 'AllTLObjects.js')
    if (layer === undefined && existsSync(all)) layer = Number(/LAYER\s*=\s*(\d+)/.exec(readFileSync(all, 'utf8'))?.[1])
  } else {
    text = readFileSync(path, 'utf8')
  }
  layer ??= Number(/^\/\/\s*LAYER\s+(\d+)/m.exec(text)?.[1])
  if (!Number.isInteger(layer) || layer <= 0) throw new Error(`${path}: no layer (no // LAYER line; pass --layer N)`)
  return { layer, text: `// LAYER ${layer}\n${text}`, source }
}

/** The checked lines of one layer: every constructor and method whose id matches its CRC32. */
export function layerLines(imported: ImportedLayer): { kind: 'c' | 'm'; text: string }[] {
  const schema = parseTlSchema(imported.text)
  // One spelling per line: blanks collapsed, ids without leading zeros (mtcute pads them to 8 digits).
  return schema.entries
    .filter((e) => !e.special)
    .map((e) => ({
      kind: e.kind === 'class' ? 'c' : 'm',
      text: e.line.replace(/\s+/g, ' ').replace(/^([\w.]+)#0*([0-9a-f])/i, '$1#$2'),
    }))
}

export function loadLedger(): LayerLedger {
  return existsSync(ledgerFile)
    ? parseLedger(readFileSync(ledgerFile, 'utf8'))
    : { layers: [], sources: new Map(), lines: [] }
}

function main(): void {
  const args = process.argv.slice(2)
  let layerOverride: number | undefined
  let sourceName: string | undefined
  const sources: string[] = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--layer') layerOverride = Number(args[++i])
    else if (args[i] === '--source') sourceName = args[++i]
    else sources.push(args[i]!)
  }
  const ledger = loadLedger()
  if (sources.length === 0) {
    // The pinned layer, as a schema of its own: the generated codec and types are made from it.
    const mtcuteDir = dirname(require.resolve('@mtcute/tl/package.json'))
    const pinned = readSource(mtcuteDir)
    writeFileSync(new URL(`api-${pinned.layer}.tl`, schemaDir), pinned.text)
    console.log(`api-${pinned.layer}.tl: pinned layer from ${pinned.source}`)
    sources.push(mtcuteDir, dirname(require.resolve('telegram/package.json')))
  }
  for (const s of sources) {
    const imported = readSource(s, layerOverride)
    const lines = layerLines(imported)
    putLayer(ledger, imported.layer, lines, sourceName ?? imported.source)
    console.log(`layer ${imported.layer}: ${lines.length} lines from ${imported.source}`)
  }
  writeFileSync(ledgerFile, formatLedger(ledger, LEDGER_HEADER))
  console.log(`api-layers.tl: layers ${ledger.layers.join(' ')}; ${statSync(ledgerFile).size} bytes`)
  readFileSync(new URL('mtproto.tl', schemaDir)) // written by hand: fail loudly if it is missing
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) main()
