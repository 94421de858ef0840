// `npm run tl:import` reads schemas from the sources the bundled layers came from (GramJS's apiTl.js, mtcute's
// api-schema.json, package directories), and the ledger holds each layer exactly as imported.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname } from 'node:path'
import { createRequire } from 'node:module'
import { readSource, layerLines } from '../tools/tl-codegen/import-tl-schema.ts'
import {
  formatLedger,
  parseLedger,
  putLayer,
  ledgerSchemaText,
  type LayerLedger,
} from '../src/mtproto/tl/layer-ledger.ts'
import { layerSchema } from '../src/mtproto/tl/index.ts'
import { TlSchemaError } from '../src/mtproto/tl/schema/tl-schema-parser.ts'
import { loadSchema } from './support/tl-samples.ts'

const require = createRequire(import.meta.url)
const keys = (lines: { text: string }[]): string[] => lines.map((l) => l.text.replace(/^([\w.]+)#0*/, '$1#')).sort()
const bundled = (layer: number): string[] => keys(layerSchema(layer).schema.entries.map((e) => ({ text: e.line })))

test('GramJS package directory: layer 198 from tl/apiTl.js (layer from AllTLObjects.js), as bundled', () => {
  const imported = readSource(dirname(require.resolve('telegram/package.json')))
  assert.equal(imported.layer, 198)
  assert.match(imported.source, /^telegram@2\.26\.22 tl\/apiTl\.js$/)
  assert.deepEqual(keys(layerLines(imported)), bundled(198))
})

test('mtcute api-schema.json: layer 223 (mtcute-only entries left out), the same lines as the pinned api-223.tl', () => {
  const imported = readSource(dirname(require.resolve('@mtcute/tl/package.json')))
  assert.equal(imported.layer, 223)
  const lines = layerLines(imported)
  assert.ok(!lines.some((l) => /Legacy#|^mtcute\.|^invokeWith\w+Prefix#/.test(l.text)))
  assert.deepEqual(keys(lines), bundled(223))
  assert.deepEqual(keys(lines), keys(loadSchema('api-223.tl').entries.map((e) => ({ text: e.line }))))
})

test('a line whose id is not the CRC32 of its definition is refused on import', () => {
  assert.throws(
    () => layerLines({ layer: 5, source: 'x', text: '// LAYER 5\nboolTrue#12345678 = Bool;\n' }),
    (e: unknown) => e instanceof TlSchemaError && /id mismatch/.test(e.message),
  )
})

test('ledger: ranges over bundled layers, one line per spelling, a re-import replaces the layer', () => {
  const ledger: LayerLedger = { layers: [], sources: new Map(), lines: [] }
  const a = { kind: 'c' as const, text: 'boolFalse#bc799737 = Bool;' }
  const b = { kind: 'c' as const, text: 'boolTrue#997275b5 = Bool;' }
  putLayer(ledger, 10, [a, b], 's10')
  putLayer(ledger, 11, [a], 's11')
  putLayer(ledger, 13, [a, b], 's13')
  const text = formatLedger(ledger, ['test'])
  assert.match(text, /^c 10-13 boolFalse#bc799737 = Bool;$/m)
  assert.match(text, /^c 10,13 boolTrue#997275b5 = Bool;$/m)
  const back = parseLedger(text)
  assert.deepEqual(back.layers, [10, 11, 13])
  assert.equal(back.sources.get(11), 's11')
  assert.match(ledgerSchemaText(back, 11), /boolFalse/)
  assert.doesNotMatch(ledgerSchemaText(back, 11), /boolTrue/)
  putLayer(back, 11, [b], 's11b')
  assert.match(formatLedger(back, []), /^c 10-13 boolTrue#997275b5 = Bool;$/m)
  assert.match(formatLedger(back, []), /^c 10,13 boolFalse#bc799737 = Bool;$/m)
})
