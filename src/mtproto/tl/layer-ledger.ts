// The bundled API layers in one compact text: every distinct constructor and method line of every bundled layer,
// written once, with the bundled layers it belongs to. A layer's schema is the lines whose ranges cover it.
// Telegram changes a few dozen lines per layer, so 40 layers cost about twice one layer instead of 40 times.
//
//   //! layers 122 128 131 …            the bundled layers, ascending
//   //! source 158 @mtcute/tl@…         where each layer's schema came from
//   c 122-135,158-227 boolFalse#bc799737 = Bool;
//   m 144-227 auth.sendCode#a677244f phone_number:string api_id:int api_hash:string settings:CodeSettings = auth.SentCode;
//
// `c` is a constructor, `m` a method; a range a-b holds every bundled layer L with a ≤ L ≤ b.

export interface LedgerLine {
  kind: 'c' | 'm'
  text: string
  /** The bundled layers this line belongs to. */
  layers: Set<number>
}

export interface LayerLedger {
  layers: number[]
  sources: Map<number, string>
  lines: LedgerLine[]
}

export class LayerLedgerError extends Error {
  override readonly name = 'LayerLedgerError'
}

export function parseLedger(text: string): LayerLedger {
  const ledger: LayerLedger = { layers: [], sources: new Map(), lines: [] }
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '') continue
    if (line.startsWith('//! layers ')) {
      ledger.layers = line.slice(11).trim().split(/\s+/).map(Number)
      continue
    }
    if (line.startsWith('//! source ')) {
      const m = /^\/\/! source (\d+) (.+)$/.exec(line)
      if (m) ledger.sources.set(Number(m[1]), m[2]!)
      continue
    }
    if (line.startsWith('//')) continue
    const m = /^([cm]) ([\d,-]+) (.+)$/.exec(line)
    if (!m) throw new LayerLedgerError(`bad ledger line: ${line.slice(0, 80)}`)
    const layers = new Set<number>()
    for (const range of m[2]!.split(',')) {
      const [a, b = a] = range.split('-').map(Number) as [number, number?]
      for (const l of ledger.layers) if (l >= a && l <= b!) layers.add(l)
    }
    ledger.lines.push({ kind: m[1] as 'c' | 'm', text: m[3]!, layers })
  }
  return ledger
}

/** The schema text of one bundled layer, in the form tl-schema-parser reads. */
export function ledgerSchemaText(ledger: LayerLedger, layer: number): string {
  if (!ledger.layers.includes(layer)) throw new LayerLedgerError(`layer ${layer} is not bundled`)
  const of = (kind: 'c' | 'm'): string[] =>
    ledger.lines.filter((l) => l.kind === kind && l.layers.has(layer)).map((l) => l.text)
  return [`// LAYER ${layer}`, ...of('c'), '---functions---', ...of('m'), ''].join('\n')
}

/** Ranges over the bundled layers: runs of consecutive bundled layers become a-b. */
function rangesOf(layers: Set<number>, all: number[]): string {
  const out: string[] = []
  let start: number | null = null
  let prev: number | null = null
  for (const l of all) {
    if (layers.has(l)) {
      start ??= l
      prev = l
    } else if (start !== null) {
      out.push(start === prev ? `${start}` : `${start}-${prev}`)
      start = null
    }
  }
  if (start !== null) out.push(start === prev ? `${start}` : `${start}-${prev}`)
  return out.join(',')
}

export function formatLedger(ledger: LayerLedger, header: string[]): string {
  const layers = [...ledger.layers].sort((a, b) => a - b)
  const out = [...header.map((h) => `// ${h}`), `//! layers ${layers.join(' ')}`]
  for (const l of layers) out.push(`//! source ${l} ${ledger.sources.get(l) ?? 'unknown'}`)
  const key = (l: LedgerLine): string => l.text.replace(/#.*/, '')
  const sorted = [...ledger.lines]
    .filter((l) => l.layers.size > 0)
    .sort((a, b) => (a.kind === b.kind ? (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) : a.kind === 'c' ? -1 : 1))
  for (const l of sorted) out.push(`${l.kind} ${rangesOf(l.layers, layers)} ${l.text}`)
  return `${out.join('\n')}\n`
}

/**
 * Puts one layer's lines into the ledger (replacing what it held for that layer). A line is keyed by its whole
 * text with blanks normalised: `true` flags are left out of the CRC32, so one name and id can still differ
 * between layers (chat#41cbf256 lost `kicked`), and each spelling must stay as its layer wrote it.
 */
export function putLayer(
  ledger: LayerLedger,
  layer: number,
  lines: { kind: 'c' | 'm'; text: string }[],
  source: string,
): void {
  for (const l of ledger.lines) l.layers.delete(layer)
  if (!ledger.layers.includes(layer)) ledger.layers = [...ledger.layers, layer].sort((a, b) => a - b)
  ledger.sources.set(layer, source)
  const byKey = new Map<string, LedgerLine>()
  for (const l of ledger.lines) byKey.set(`${l.kind} ${lineKey(l.text)}`, l)
  for (const l of lines) {
    const k = `${l.kind} ${lineKey(l.text)}`
    let entry = byKey.get(k)
    if (!entry) {
      entry = { kind: l.kind, text: l.text, layers: new Set() }
      ledger.lines.push(entry)
      byKey.set(k, entry)
    }
    entry.layers.add(layer)
  }
}

function lineKey(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
