// `npm run gen:tl`: turns the TL schemas in src/mtproto/tl/schema/ into TypeScript under
// src/mtproto/tl/generated/ (not committed; `npm ci` runs this through `prepare`, and test/bench/start run
// it first too). It is skipped when neither the schemas nor the generator changed since the last run.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { parseTlSchema } from '../src/mtproto/tl/schema/tl-schema-parser.ts'
import { emitCodec } from '../src/mtproto/tl/codegen/codec-emitter.ts'
import { emitTypes } from '../src/mtproto/tl/codegen/types-emitter.ts'

const tlDir = new URL('../src/mtproto/tl/', import.meta.url)
const schemaDir = new URL('schema/', tlDir)
const outDir = new URL('generated/', tlDir)

/** What gets generated: each schema file with the namespace of its types (null: codec only). */
const TARGETS = [
  { schema: 'mtproto.tl', dir: 'mtproto', typesRoot: 'mt' },
  { schema: 'api-223.tl', dir: 'api223', typesRoot: 'tl' },
  { schema: 'api-198.tl', dir: 'api198', typesRoot: null },
] as const

function inputsHash(): string {
  const h = createHash('sha256')
  const files = [
    ...TARGETS.map((t) => new URL(t.schema, schemaDir)),
    new URL('schema/tl-schema-parser.ts', tlDir),
    ...readdirSync(new URL('codegen/', tlDir)).sort().map((f) => new URL(`codegen/${f}`, tlDir)),
    new URL(import.meta.url),
  ]
  for (const f of files) h.update(f.pathname).update(readFileSync(f))
  return h.digest('hex')
}

const stamp = new URL('.stamp', outDir)
const hash = inputsHash()
const force = process.argv.includes('--force')
if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && TARGETS.every((t) => existsSync(new URL(`${t.dir}/codec.ts`, outDir)))) {
  process.exit(0)
}

const started = performance.now()
for (const t of TARGETS) {
  const schema = parseTlSchema(readFileSync(new URL(t.schema, schemaDir), 'utf8'))
  const dir = new URL(`${t.dir}/`, outDir)
  mkdirSync(dir, { recursive: true })
  writeFileSync(new URL('codec.ts', dir), emitCodec(schema, { source: `schema/${t.schema}`, runtimeImport: '../../runtime' }))
  if (t.typesRoot) writeFileSync(new URL('types.ts', dir), emitTypes(schema, { source: `schema/${t.schema}`, root: t.typesRoot }))
  console.log(`gen:tl ${t.schema}: ${schema.entries.length} constructors and methods → generated/${t.dir}/`)
}
writeFileSync(stamp, hash)
console.log(`gen:tl done in ${Math.round(performance.now() - started)} ms`)
